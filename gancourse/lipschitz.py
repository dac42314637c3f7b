"""The Lipschitz bound that weight clipping gives an MLP critic, and the clip value for a chosen bound.

Arjovsky, Chintala & Bottou 2017 clip every weight of the critic to [-c, c] so that it is K-Lipschitz for
*some* K. For an MLP with 1-Lipschitz activations, K <= product over the layers of the spectral norm of each
weight matrix, and an (m, n) matrix with entries in [-c, c] has spectral norm at most c * sqrt(m * n)
(reached when every entry is c). So K depends on c AND on the widths: c = 0.01 suits the paper's DCGAN
critics, not a 2-D toy's narrow MLP. Dropout(p) in training mode, where the critic is trained and clipped,
scales the units it keeps by 1 / (1 - p), so each one multiplies the bound by that factor (in eval mode it is
the identity, and the bound is then loose by the same factor). Taught in notebooks/06_wgan.ipynb; used by
07_wgan_gp.ipynb.
"""

from __future__ import annotations

import math

from torch import nn

from gancourse.validation import check_positive

# modules that are 1-Lipschitz and hold no parameters: they do not change the bound
LIPSCHITZ_1 = (nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Flatten, nn.Identity, nn.Sequential)


def _layers(model: nn.Module) -> tuple[list[nn.Linear], float]:
    """The Linear layers of an MLP critic, in order, and the product of its dropout layers' 1 / (1 - p)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    layers, dropout_scale = [], 1.0
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear):
            layers.append(module)
        elif list(module.parameters(recurse=False)):
            raise TypeError(
                f"the clipping bound covers MLPs of Linear layers only; {name or 'the model'} is a "
                f"{type(module).__name__} with its own parameters"
            )
        elif isinstance(module, nn.Dropout):
            if module.p >= 1:
                raise ValueError(f"{name} is a Dropout with p = {module.p}: it zeroes its input, so no bound applies")
            dropout_scale /= 1.0 - module.p  # training mode: kept units are scaled by 1 / (1 - p)
        elif not isinstance(module, LIPSCHITZ_1) and list(module.children()) == [] and name:
            raise TypeError(
                f"the clipping bound needs 1-Lipschitz activations ({', '.join(t.__name__ for t in LIPSCHITZ_1)}) "
                f"or Dropout; {name} is a {type(module).__name__}"
            )
    if not layers:
        raise ValueError("the model has no Linear layers")
    return layers, dropout_scale


def linear_layers(model: nn.Module) -> list[nn.Linear]:
    """The Linear layers of an MLP critic, in order; a clear error for anything the bound does not cover."""
    return _layers(model)[0]


def clipped_lipschitz_bound(model: nn.Module, clip: float) -> float:
    """The largest Lipschitz constant an MLP critic can have with every weight in [-clip, clip]: prod c sqrt(m n).

    Each Dropout(p) multiplies it by 1 / (1 - p): the bound holds in training mode (a fixed dropout mask), where
    the critic is trained, and in eval mode.
    """
    clip = check_positive(clip, "clip")
    layers, dropout_scale = _layers(model)
    return dropout_scale * math.prod(clip * math.sqrt(layer.in_features * layer.out_features) for layer in layers)


def clip_for_bound(model: nn.Module, bound: float) -> float:
    """The clip value c at which clipped_lipschitz_bound(model, c) equals ``bound`` (it grows as c ** n_layers)."""
    bound = check_positive(bound, "bound")
    n_layers = len(linear_layers(model))
    return (bound / clipped_lipschitz_bound(model, 1.0)) ** (1.0 / n_layers)
