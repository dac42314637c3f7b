import math

import numpy as np
import pytest
import torch
from torch import nn

from gancourse import nets
from gancourse.lipschitz import clip_for_bound, clipped_lipschitz_bound, linear_layers
from gancourse.wasserstein import clip_weights_


def mlp(sizes, act=nn.ReLU):
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out), act()]
    return nn.Sequential(*layers[:-1], nn.Flatten(0))


def test_the_bound_is_the_product_of_the_layer_bounds():
    c = 0.01
    expected = (c * math.sqrt(2 * 128)) * (c * 128) * (c * 128) * (c * math.sqrt(128))
    _, D = nets.toy_gan(hidden=128, depth=3)
    assert math.isclose(clipped_lipschitz_bound(D, c), expected, rel_tol=1e-12)


def test_an_all_c_critic_reaches_the_bound():
    c = 0.05
    critic = mlp((3, 16, 8, 1))
    with torch.no_grad():
        for p in critic.parameters():
            p.fill_(c)
    x = torch.ones(1, 3, requires_grad=True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    assert math.isclose(grad.norm().item(), clipped_lipschitz_bound(critic, c), rel_tol=1e-5)


def test_random_clipped_critics_stay_below_the_bound():
    torch.manual_seed(0)
    critic = mlp((2, 32, 32, 1), nn.LeakyReLU)
    clip_weights_(critic, 0.1)
    x = torch.randn(256, 2, requires_grad=True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    assert grad.norm(dim=1).max().item() <= clipped_lipschitz_bound(critic, 0.1)


def test_clip_for_bound_inverts_the_bound():
    _, D = nets.toy_gan(hidden=512, depth=3)
    c = clip_for_bound(D, 2.0)
    assert math.isclose(clipped_lipschitz_bound(D, c), 2.0, rel_tol=1e-9)
    assert 0.009 < c < 0.011  # width 512: about the WGAN paper's c = 0.01


def test_each_dropout_multiplies_the_bound_by_one_over_one_minus_p():
    c, p = 0.05, 0.2
    plain = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1), nn.Flatten(0))
    dropped = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Dropout(p), nn.Linear(4, 1), nn.Flatten(0))
    assert math.isclose(clipped_lipschitz_bound(dropped, c), clipped_lipschitz_bound(plain, c) / (1 - p), rel_tol=1e-12)
    assert math.isclose(clipped_lipschitz_bound(dropped, clip_for_bound(dropped, 2.0)), 2.0, rel_tol=1e-9)
    with torch.no_grad():
        for q in dropped.parameters():
            q.fill_(c)
    x = torch.ones(1, 3, requires_grad=True)
    torch.manual_seed(0)
    norms = []
    for _ in range(50):  # training mode: a fresh mask each call; keeping all 4 units scales the slope by 1 / (1 - p)
        (grad,) = torch.autograd.grad(dropped(x).sum(), x)
        norms.append(grad.norm().item())
    assert max(norms) <= clipped_lipschitz_bound(dropped, c) * (1 + 1e-5)
    assert math.isclose(max(norms), clipped_lipschitz_bound(dropped, c), rel_tol=1e-5)  # reached: the bound is tight
    assert max(norms) > clipped_lipschitz_bound(plain, c) * 1.2  # so a bound that ignored dropout would be wrong
    dropped.eval()  # eval mode: dropout is the identity, the bound is loose by 1 / (1 - p)
    (grad,) = torch.autograd.grad(dropped(x).sum(), x)
    assert math.isclose(grad.norm().item(), clipped_lipschitz_bound(plain, c), rel_tol=1e-5)
    with pytest.raises(ValueError, match="p = 1.0"):
        clipped_lipschitz_bound(nn.Sequential(nn.Linear(2, 2), nn.Dropout(1.0), nn.Linear(2, 1)), c)
    _, D = nets.mnist_mlp_gan(hidden=32, depth=2, dropout=0.3)
    _, D0 = nets.mnist_mlp_gan(hidden=32, depth=2, dropout=0.0)
    assert math.isclose(clipped_lipschitz_bound(D, c), clipped_lipschitz_bound(D0, c) / 0.7**2, rel_tol=1e-9)


@pytest.mark.parametrize("clip", [np.float32(0.01), np.float64(0.01), np.int64(1), 1])
def test_numpy_numbers_are_accepted(clip):
    assert math.isclose(clipped_lipschitz_bound(mlp((2, 1)), clip), float(clip) * math.sqrt(2), rel_tol=1e-6)


def test_clear_errors():
    with pytest.raises(TypeError, match="Linear layers only"):
        linear_layers(nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 1)))
    with pytest.raises(TypeError, match="1-Lipschitz activations"):
        linear_layers(nets.MLPDiscriminator((2,), 8, 1, minibatch_std=True))
    with pytest.raises(ValueError, match="no Linear layers"):
        linear_layers(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="clip"):
        clipped_lipschitz_bound(mlp((2, 1)), 0.0)
    with pytest.raises(ValueError, match="bound"):
        clip_for_bound(mlp((2, 1)), -1.0)
    with pytest.raises(TypeError, match="nn.Module"):
        linear_layers("critic")
    for bad in (True, "0.01", None):
        with pytest.raises(TypeError, match="clip must be a positive finite number"):
            clipped_lipschitz_bound(mlp((2, 1)), bad)
    with pytest.raises(ValueError, match="bound"):
        clip_for_bound(mlp((2, 1)), float("inf"))
