"""Networks for the training lectures: MLP generators and discriminators for 2-D toys and MNIST.

Goodfellow et al. 2014 (the original GAN); the minibatch standard-deviation layer is from
Karras et al. 2018 (Progressive GANs), a simpler cousin of Salimans et al. 2016's minibatch
discrimination. Taught in notebooks/05_vanilla_gan.ipynb; reused by 06, 07 and 09.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gancourse.validation import check_batch, check_int


def check_shape(value, name: str) -> tuple[int, ...]:
    """A sample shape: an int or a non-empty tuple of positive ints, as a tuple."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list, torch.Size)) or not value:
        raise TypeError(f"{name} must be an int or a non-empty tuple of ints, got {value!r}")
    return tuple(check_int(v, f"{name}[{i}]", 1) for i, v in enumerate(value))


def activation_layer(name: str) -> nn.Module:
    """The activation of a hidden layer: 'relu' or 'leaky_relu' (slope 0.2, as DCGAN's)."""
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    raise ValueError(f"activation must be 'relu' or 'leaky_relu', got {name!r}")


class MinibatchStd(nn.Module):
    """Append the batch's mean feature std as one extra feature: (N, F) -> (N, F + 1) (Karras et al. 2018)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, h: torch.Tensor) -> torch.Tensor:  # h (N, F), or (K, N, F) in an ensemble: per member
        std = torch.sqrt(h.var(dim=-2, unbiased=False) + self.eps)  # (F,) std of each feature over the batch
        stat = std.mean(dim=-1, keepdim=True).unsqueeze(-2).expand(*h.shape[:-1], 1)  # (N, 1) one scalar for all
        return torch.cat([h, stat], dim=-1)  # (N, F + 1)


class MLPGenerator(nn.Module):
    """z (N, latent_dim) -> x (N, *out_shape): Linear-activation blocks, then a Linear (and Tanh for images)."""

    def __init__(
        self,
        latent_dim: int = 2,
        out_shape=(2,),
        hidden: int = 128,
        depth: int = 3,
        activation: str = "relu",
        tanh: bool = False,
    ):
        super().__init__()
        self.members = None  # K for an ensemble of K (gancourse.ensemble): then z (K, N, latent_dim) -> (K, N, ...)
        self.latent_dim = check_int(latent_dim, "latent_dim", 1)
        self.out_shape = check_shape(out_shape, "out_shape")
        hidden, depth = check_int(hidden, "hidden", 1), check_int(depth, "depth", 1)
        layers: list[nn.Module] = []
        width = self.latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), activation_layer(activation)]  # (N, hidden)
            width = hidden
        layers.append(nn.Linear(width, math.prod(self.out_shape)))  # (N, prod(out_shape))
        if tanh:
            layers.append(nn.Tanh())  # images live in [-1, 1]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_batch(z, (self.latent_dim,), "z", "MLPGenerator", members=self.members)
        return self.net(z).unflatten(-1, self.out_shape)  # (N, *out_shape)


class MLPDiscriminator(nn.Module):
    """x (N, *in_shape) -> logits (N,); ``features(x)`` gives the last hidden layer (for feature matching)."""

    def __init__(
        self,
        in_shape=(2,),
        hidden: int = 128,
        depth: int = 3,
        activation: str = "relu",
        minibatch_std: bool = False,
        dropout: float = 0.0,
    ):
        super().__init__()
        self.members = None  # K for an ensemble of K (gancourse.ensemble): then x (K, N, ...) -> (K, N)
        self.in_shape = check_shape(in_shape, "in_shape")
        hidden, depth = check_int(hidden, "hidden", 1), check_int(depth, "depth", 1)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        layers: list[nn.Module] = [nn.Flatten()]  # (N, prod(in_shape))
        width = math.prod(self.in_shape)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), activation_layer(activation)]  # (N, hidden)
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = hidden
        self.body = nn.Sequential(*layers)
        self.mbstd = MinibatchStd() if minibatch_std else None
        self.head = nn.Linear(width + (1 if minibatch_std else 0), 1)  # (N, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        check_batch(x, self.in_shape, "x", "MLPDiscriminator", members=self.members)
        return self.body(x)  # (N, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        if self.mbstd is not None:
            h = self.mbstd(h)  # (N, hidden + 1)
        return self.head(h).squeeze(-1)  # (N,)


def toy_gan(
    hidden: int = 128, depth: int = 3, latent_dim: int = 2, **d_kwargs
) -> tuple[MLPGenerator, MLPDiscriminator]:
    """G and D for the 2-D mixtures (ReLU MLPs, as in the WGAN-GP paper's toys)."""
    G = MLPGenerator(latent_dim, (2,), hidden, depth)
    D = MLPDiscriminator((2,), hidden, depth, **d_kwargs)
    return G, D


def mnist_mlp_gan(
    hidden: int = 256, depth: int = 3, latent_dim: int = 64, dropout: float = 0.3, **d_kwargs
) -> tuple[MLPGenerator, MLPDiscriminator]:
    """G and D for MNIST as flat vectors: LeakyReLU MLPs, Tanh output in [-1, 1], dropout in D."""
    G = MLPGenerator(latent_dim, (1, 28, 28), hidden, depth, activation="leaky_relu", tanh=True)
    D = MLPDiscriminator((1, 28, 28), hidden, depth, activation="leaky_relu", dropout=dropout, **d_kwargs)
    return G, D
