"""Helpers the training tests share: one vector of a model's parameters, and the captured-vs-eager comparison."""

from __future__ import annotations

import torch
from torch.nn.utils import parameters_to_vector

from gancourse.train import train


def params(*models: torch.nn.Module) -> torch.Tensor:
    """Every parameter of ``models``, detached, as one flat vector."""
    return parameters_to_vector(p for m in models for p in m.parameters()).detach()


def assert_captured_matches_eager(make, keys=("d_loss", "g_loss"), **train_kwargs) -> float:
    """Train fresh nets from ``make()`` -> (G, D, data, kwargs) for 20 steps eagerly and captured (fast=True).

    Fed the same draws, the two must log the same ``keys`` and end with the same parameters (float tolerance).
    Returns the largest parameter difference. Request the ``deterministic_cuda`` fixture in the test.
    """
    results = []
    for fast in (False, True):
        G, D, x, kwargs = make()
        run = train(G, D, x, steps=20, progress=False, fast=fast, **kwargs, **train_kwargs)
        results.append((run.history, params(G, D)))
    (h_eager, p_eager), (h_fast, p_fast) = results
    for key in keys:
        torch.testing.assert_close(torch.tensor(h_fast[key]), torch.tensor(h_eager[key]), rtol=1e-3, atol=1e-4)
    torch.testing.assert_close(p_fast, p_eager, rtol=1e-3, atol=1e-4)
    return (p_fast - p_eager).abs().max().item()
