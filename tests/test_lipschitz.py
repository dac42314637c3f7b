import math

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
