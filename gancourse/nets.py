"""Networks for the training lectures: MLP generators and discriminators for 2-D toys and MNIST.

Goodfellow et al. 2014 (the original GAN); the minibatch standard-deviation layer is from
Karras et al. 2018 (Progressive GANs), a simpler cousin of Salimans et al. 2016's minibatch
discrimination. Taught in notebooks/05_vanilla_gan.ipynb; reused by 06, 07 and 09.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from gancourse.runtime import check_int


def _positive_int(value, name: str) -> int:
    return check_int(value, name, minimum=1)


def _shape(value, name: str) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    if not isinstance(value, (tuple, list, torch.Size)) or not value:
        raise TypeError(f"{name} must be an int or a non-empty tuple of ints, got {value!r}")
    return tuple(_positive_int(v, f"{name}[{i}]") for i, v in enumerate(value))


def _activation(name: str) -> nn.Module:
    if name == "relu":
        return nn.ReLU()
    if name == "leaky_relu":
        return nn.LeakyReLU(0.2)
    raise ValueError(f"activation must be 'relu' or 'leaky_relu', got {name!r}")


def check_input(x: torch.Tensor, shape: tuple[int, ...], name: str, what: str) -> None:
    """Raise a clear ValueError unless x is a batch (N, *shape)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} expects {name} as a torch.Tensor, got {type(x).__name__}")
    if x.ndim != len(shape) + 1 or tuple(x.shape[1:]) != shape:
        raise ValueError(f"{what} expects {name} of shape (N, {', '.join(map(str, shape))}), got {tuple(x.shape)}")


class MinibatchStd(nn.Module):
    """Append the batch's mean feature std as one extra feature: (N, F) -> (N, F + 1) (Karras et al. 2018)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        std = torch.sqrt(h.var(dim=0, unbiased=False) + self.eps)  # (F,) std of each feature over the batch
        stat = std.mean().expand(h.shape[0], 1)  # (N, 1) the same scalar for every sample
        return torch.cat([h, stat], dim=1)  # (N, F + 1)


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
        self.latent_dim = _positive_int(latent_dim, "latent_dim")
        self.out_shape = _shape(out_shape, "out_shape")
        hidden, depth = _positive_int(hidden, "hidden"), _positive_int(depth, "depth")
        layers: list[nn.Module] = []
        width = self.latent_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), _activation(activation)]  # (N, hidden)
            width = hidden
        layers.append(nn.Linear(width, math.prod(self.out_shape)))  # (N, prod(out_shape))
        if tanh:
            layers.append(nn.Tanh())  # images live in [-1, 1]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        check_input(z, (self.latent_dim,), "z", "MLPGenerator")
        return self.net(z).view(-1, *self.out_shape)  # (N, *out_shape)


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
        self.in_shape = _shape(in_shape, "in_shape")
        hidden, depth = _positive_int(hidden, "hidden"), _positive_int(depth, "depth")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        layers: list[nn.Module] = [nn.Flatten()]  # (N, prod(in_shape))
        width = math.prod(self.in_shape)
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), _activation(activation)]  # (N, hidden)
            if dropout:
                layers.append(nn.Dropout(dropout))
            width = hidden
        self.body = nn.Sequential(*layers)
        self.mbstd = MinibatchStd() if minibatch_std else None
        self.head = nn.Linear(width + (1 if minibatch_std else 0), 1)  # (N, 1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.in_shape, "x", "MLPDiscriminator")
        return self.body(x)  # (N, hidden)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)
        if self.mbstd is not None:
            h = self.mbstd(h)  # (N, hidden + 1)
        return self.head(h).squeeze(1)  # (N,)


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
