"""Plotting helpers, so that lecture cells show the lesson and not the matplotlib plumbing."""

from __future__ import annotations

import matplotlib.pyplot as plt
import torch


def image_grid(x: torch.Tensor, nrow: int = 8, pad: int = 2) -> torch.Tensor:
    """Tile images (N, C, H, W) in [-1, 1] into one (H', W') or (H', W', C) array in [0, 1]."""
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be an (N, C, H, W) tensor, got {getattr(x, 'shape', type(x).__name__)}")
    if isinstance(nrow, bool) or not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"nrow must be a positive int, got {nrow!r}")
    from torchvision.utils import make_grid

    grid = make_grid(x.detach().float().cpu(), nrow=nrow, padding=pad, normalize=True, value_range=(-1, 1))
    grid = grid.permute(1, 2, 0)  # (H', W', C)
    return grid[..., 0] if x.shape[1] == 1 else grid


def show_images(x: torch.Tensor, nrow: int = 8, title: str | None = None, ax=None, labels=None):
    """Show images (N, C, H, W) in [-1, 1] as a grid; returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(nrow * 0.7, (len(x) + nrow - 1) // nrow * 0.7 + 0.4))
    ax.imshow(image_grid(x, nrow), cmap="gray", vmin=0, vmax=1)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
    if labels is not None:
        ax.set_title((title + "\n" if title else "") + " ".join(str(int(v)) for v in labels[:nrow]), fontsize=8)
    return ax


def scatter_2d(x: torch.Tensor, ax=None, modes: torch.Tensor | None = None, title: str | None = None, **kwargs):
    """Scatter 2-D samples (N, 2), with mode centres as crosses when given; returns the axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    x = x.detach().cpu()
    ax.scatter(x[:, 0], x[:, 1], s=kwargs.pop("s", 2), alpha=kwargs.pop("alpha", 0.5), **kwargs)
    if modes is not None:
        ax.scatter(modes[:, 0], modes[:, 1], marker="x", color="red", s=30, label="modes")
    ax.set_aspect("equal")
    if title:
        ax.set_title(title)
    return ax
