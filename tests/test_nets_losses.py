import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from gancourse import losses, nets


def test_mlp_shapes():
    G, D = nets.toy_gan(hidden=32, depth=2)
    z = torch.randn(5, 2)
    assert G(z).shape == (5, 2) and D(G(z)).shape == (5,)
    Gm, Dm = nets.mnist_mlp_gan(hidden=64, latent_dim=16)
    x = Gm(torch.randn(3, 16))
    assert x.shape == (3, 1, 28, 28) and x.abs().max() <= 1
    assert Dm(x).shape == (3,) and Dm.features(x).shape == (3, 64)
    Dmb = nets.MLPDiscriminator((2,), 16, 2, minibatch_std=True)
    assert Dmb(torch.randn(7, 2)).shape == (7,)


def test_minibatch_std_appends_the_mean_std():
    h = torch.tensor([[0.0, 1.0], [2.0, 5.0]])
    out = nets.MinibatchStd(eps=0.0)(h)
    assert out.shape == (2, 3)
    torch.testing.assert_close(out[:, 2], torch.full((2,), (1.0 + 2.0) / 2))  # stds 1 and 2 (population)
    same = nets.MinibatchStd()(torch.ones(4, 3))
    assert torch.isfinite(same).all() and same[:, 3].max() < 1e-3


@pytest.mark.parametrize(
    "make, err, match",
    [
        (lambda: nets.MLPGenerator(latent_dim=0), ValueError, "latent_dim"),
        (lambda: nets.MLPGenerator(latent_dim=2.5), TypeError, "latent_dim"),
        (lambda: nets.MLPGenerator(out_shape=(1, -28)), ValueError, r"out_shape\[1\]"),
        (lambda: nets.MLPDiscriminator(hidden=0), ValueError, "hidden"),
        (lambda: nets.MLPDiscriminator(activation="gelu"), ValueError, "activation"),
        (lambda: nets.MLPDiscriminator(dropout=1.0), ValueError, "dropout"),
    ],
)
def test_bad_construction_is_rejected(make, err, match):
    with pytest.raises(err, match=match):
        make()


def test_wrong_input_shapes_are_named():
    G, D = nets.toy_gan(hidden=8, depth=1)
    with pytest.raises(ValueError, match=r"z of shape \(N, 2\), got \(4, 3\)"):
        G(torch.randn(4, 3))
    with pytest.raises(ValueError, match=r"x of shape \(N, 2\), got \(4, 1, 28, 28\)"):
        D(torch.randn(4, 1, 28, 28))
    with pytest.raises(TypeError, match="torch.Tensor"):
        D([[0.0, 1.0]])


def test_gan_losses_match_their_definitions():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([-3.0, 0.2, 1.0])
    sig = torch.sigmoid
    torch.testing.assert_close(losses.d_loss(real, fake), -(sig(real).log().mean() + (1 - sig(fake)).log().mean()))
    smooth = -(0.9 * sig(real).log() + 0.1 * (1 - sig(real)).log()).mean() - (1 - sig(fake)).log().mean()
    torch.testing.assert_close(losses.d_loss(real, fake, real_label=0.9), smooth)
    torch.testing.assert_close(losses.g_loss_saturating(fake), (1 - sig(fake)).log().mean())
    torch.testing.assert_close(losses.g_loss_nonsaturating(fake), -sig(fake).log().mean())
    torch.testing.assert_close(losses.wgan_critic_loss(real, fake), fake.mean() - real.mean())
    torch.testing.assert_close(losses.wgan_g_loss(fake), -fake.mean())


def test_losses_are_stable_for_confident_discriminators():
    big = torch.tensor([100.0, -100.0], requires_grad=True)
    for loss in (losses.d_loss(big, big), losses.g_loss_saturating(big), losses.g_loss_nonsaturating(big)):
        assert torch.isfinite(loss)
        (grad,) = torch.autograd.grad(loss, big)
        assert torch.isfinite(grad).all()


def test_saturating_loss_vanishes_where_the_non_saturating_one_does_not():
    logit = torch.tensor([-8.0], requires_grad=True)  # D is sure the fake is fake: D(G(z)) ~ 3e-4
    (g_sat,) = torch.autograd.grad(losses.g_loss_saturating(logit), logit)
    (g_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(logit), logit)
    assert abs(g_sat.item()) < 1e-3 and abs(g_ns.item()) > 0.99
    assert math.isclose(abs(g_sat.item()), torch.sigmoid(logit).item(), rel_tol=1e-5)


def test_feature_matching_loss():
    fr, ff = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.0, 0.0], [0.0, 2.0]])
    torch.testing.assert_close(losses.feature_matching_loss(fr, ff), torch.tensor(2.0**2 + 2.0**2))
    with pytest.raises(ValueError, match="feature shapes differ"):
        losses.feature_matching_loss(fr, torch.zeros(2, 3))


def test_loss_inputs_are_checked():
    with pytest.raises(ValueError, match="real_logits must be 1-D"):
        losses.d_loss(torch.zeros(3, 1), torch.zeros(3))
    with pytest.raises(ValueError, match="real_label"):
        losses.d_loss(torch.zeros(3), torch.zeros(3), real_label=1.5)
    with pytest.raises(ValueError, match="g_loss"):
        losses.GANObjective(g_loss="minimax")
    with pytest.raises(ValueError, match="real_label"):
        losses.GANObjective(real_label=0)
    assert F.softplus(torch.tensor(0.0)) > 0


def test_lsgan_losses_and_objective():
    real, fake = torch.tensor([0.8, 1.2]), torch.tensor([0.1, -0.3])
    torch.testing.assert_close(losses.lsgan_d_loss(real, fake), 0.5 * ((real - 1) ** 2).mean() + 0.5 * (fake**2).mean())
    torch.testing.assert_close(losses.lsgan_g_loss(fake), 0.5 * ((fake - 1) ** 2).mean())
    torch.testing.assert_close(losses.lsgan_d_loss(torch.ones(3), torch.zeros(3)), torch.tensor(0.0))  # D at its labels
    with pytest.raises(ValueError, match="must differ"):
        losses.LSGANObjective(a=1.0, b=1.0)
    with pytest.raises(ValueError, match="c must be a finite"):
        losses.LSGANObjective(c=float("inf"))


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_non_finite_loss_constants_are_refused(bad):
    real, fake = torch.tensor([0.8, 1.2]), torch.tensor([0.1, -0.3])
    with pytest.raises(ValueError, match=f"a must be a finite real number, got {bad}"):
        losses.lsgan_d_loss(real, fake, a=bad)  # used to return nan
    with pytest.raises(ValueError, match="b must be a finite real number"):
        losses.lsgan_d_loss(real, fake, b=bad)
    with pytest.raises(ValueError, match="c must be a finite real number"):
        losses.lsgan_g_loss(fake, c=bad)
    with pytest.raises(ValueError, match=r"real_label must be a number in \(0, 1\], got"):
        losses.d_loss(real, fake, real_label=bad)
    with pytest.raises(ValueError, match="a must be a finite real number"):
        losses.LSGANObjective(a=bad)
    with pytest.raises(ValueError, match=r"real_label must be a number in \(0, 1\], got"):
        losses.GANObjective(real_label=bad)


def test_loss_constants_must_be_real_numbers():
    real, fake = torch.tensor([0.8, 1.2]), torch.tensor([0.1, -0.3])
    with pytest.raises(TypeError, match=r"a must be a finite real number, got str \('0'\)"):
        losses.lsgan_d_loss(real, fake, a="0")
    with pytest.raises(TypeError, match=r"real_label must be a number in \(0, 1\], got bool"):
        losses.GANObjective(real_label=True)  # used to pass as 1.0
    with pytest.raises(TypeError, match="c must be a finite real number, got Tensor"):
        losses.lsgan_g_loss(fake, c=torch.tensor(1.0))
    # NumPy numbers are numbers
    torch.testing.assert_close(
        losses.lsgan_d_loss(real, fake, a=np.float32(0.0), b=np.int64(1)), losses.lsgan_d_loss(real, fake)
    )
    assert losses.GANObjective(real_label=np.float64(0.9)).real_label == 0.9
