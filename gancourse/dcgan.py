"""DCGAN generator and discriminator for 28x28 single-channel images, and the WGAN-GP critic variant.

Radford, Metz & Chintala 2015 ("Unsupervised Representation Learning with Deep Convolutional
GANs"): strided convolutions down, transposed convolutions up, batch norm in G and D (not on D's
input layer nor G's output), ReLU in G, LeakyReLU(0.2) in D, Tanh output, weights from N(0, 0.02).
Gulrajani et al. 2017: the critic has no batch norm (the penalty is per sample). Taught in
notebooks/08_dcgan.ipynb.
"""

from __future__ import annotations

import torch
from torch import nn

from gancourse.validation import check_batch, check_int

IMAGE_SHAPE = (1, 28, 28)
IMAGE_BOUND = 2.0  # D's images lie in [-1, 1] (the data, G's tanh); the margin leaves room for instance noise


def check_image_range(x: torch.Tensor, what: str) -> None:
    """On the CPU, a clear ValueError if the images x reach beyond +-IMAGE_BOUND (e.g. pixels in [0, 255]).

    Reading a value back costs a host sync on an accelerator, and a captured CUDA-graph step cannot sync
    at all, so on other devices nothing is checked (the loop's data and G's tanh keep the range there).
    """
    if x.device.type != "cpu" or x.numel() == 0:
        return
    lo, hi = torch.aminmax(x.detach())
    if not (lo >= -IMAGE_BOUND and hi <= IMAGE_BOUND):  # NaN fails too
        raise ValueError(
            f"{what} expects images in [-1, 1] (as load_mnist returns them and G's tanh makes them), got values "
            f"from {lo.item():.4g} to {hi.item():.4g}: scale pixels in [0, 255] with x / 127.5 - 1"
        )


def dcgan_init_(model: nn.Module, std: float = 0.02) -> nn.Module:
    """DCGAN init in place: conv weights ~ N(0, std), batch-norm weights ~ N(1, std), biases 0."""
    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.BatchNorm1d)):
            nn.init.normal_(m.weight, 1.0, std)
            nn.init.zeros_(m.bias)
    return model


class DCGANGenerator(nn.Module):
    """z (N, latent_dim) -> images (N, 1, 28, 28) in [-1, 1]."""

    def __init__(self, latent_dim: int = 100, width: int = 128):
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim", 1)
        w = check_int(width, "width", 1)
        self.project = nn.Sequential(
            nn.Linear(self.latent_dim, 2 * w * 7 * 7, bias=False),  # (N, 2w*49)
            nn.Unflatten(1, (2 * w, 7, 7)),  # (N, 2w, 7, 7)
            nn.BatchNorm2d(2 * w),
            nn.ReLU(True),
        )
        self.up = nn.Sequential(
            nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1, bias=False),  # (N, w, 14, 14)
            nn.BatchNorm2d(w),
            nn.ReLU(True),
            nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1),  # (N, 1, 28, 28)
            nn.Tanh(),
        )
        dcgan_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_batch(z, (self.latent_dim,), "z", "DCGANGenerator")
        return self.up(self.project(z))  # (N, 1, 28, 28)


class DCGANDiscriminator(nn.Module):
    """images (N, 1, 28, 28) -> logits (N,); ``batch_norm=False`` gives the WGAN-GP critic."""

    def __init__(self, width: int = 64, batch_norm: bool = True):
        super().__init__()
        w = check_int(width, "width", 1)
        self.in_shape = IMAGE_SHAPE
        self.batch_norm = bool(batch_norm)
        self.body = nn.Sequential(
            nn.Conv2d(1, w, 4, stride=2, padding=1),  # (N, w, 14, 14); no batch norm on the input layer
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(w, 2 * w, 4, stride=2, padding=1, bias=not batch_norm),  # (N, 2w, 7, 7)
            nn.BatchNorm2d(2 * w) if batch_norm else nn.Identity(),
            nn.LeakyReLU(0.2, True),
            nn.Flatten(),  # (N, 2w*49)
        )
        self.head = nn.Linear(2 * w * 7 * 7, 1)  # (N, 1)
        dcgan_init_(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        check_batch(x, self.in_shape, "x", "DCGANDiscriminator")
        check_image_range(x, "DCGANDiscriminator")
        return self.body(x)  # (N, 2w*49)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).squeeze(1)  # (N,)


def dcgan(latent_dim: int = 100, g_width: int = 128, d_width: int = 64, critic: bool = False):
    """G and D of the course's DCGAN; ``critic=True`` drops D's batch norm (for WGAN-GP)."""
    return DCGANGenerator(latent_dim, g_width), DCGANDiscriminator(d_width, batch_norm=not critic)
