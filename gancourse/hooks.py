"""The options of the one loop: a Hook is called at fixed points of every training step.

Weight clipping (gancourse.wasserstein), instance noise, historical averaging and an EMA of G
(gancourse.techniques) are hooks; a learner's own hook subclasses Hook and overrides what it needs.
The loop (gancourse.train) calls them; they see its TrainState.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TrainState:
    """What hooks can see: the nets, optimisers, the loop's random generator, the steps done and to do."""

    G: nn.Module
    D: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    generator: torch.Generator
    device: torch.device
    step: int = 0  # generator steps done
    steps: int = 0  # generator steps the run makes in all


class Hook:
    """A per-step option of the loop (instance noise, historical averaging, clipping, EMA, ...).

    Override what you need; every method gets the TrainState. ``needs_host`` (True unless a hook
    says otherwise) means the hook runs Python on the host every step, which rules out a captured
    (CUDA-graph) step: a replayed graph runs no Python, so such a hook would be called during the
    warm-up and capture only. Set ``needs_host = False`` only when every method does device tensor
    work alone: no Python counters, no reading ``state.step``, no ``.item()`` (as EMA and
    WeightClipping do).
    """

    needs_host = True

    def setup(self, state: TrainState) -> None:
        """Called once before the first step (after a resume too)."""

    def d_inputs(self, x_real, x_fake, state: TrainState):
        """Transform what D sees in its own step, in D's loss (e.g. instance noise)."""
        return x_real, x_fake

    def g_inputs(self, x_real, x_fake, state: TrainState):
        """Transform what D sees in G's step, in G's loss (instance noise again: both players see noisy samples)."""
        return x_real, x_fake

    def d_penalty(self, state: TrainState) -> torch.Tensor | None:
        """A term added to D's loss: a scalar, or one per member (K,) when the nets are an ensemble of K."""
        return None

    def g_penalty(self, state: TrainState) -> torch.Tensor | None:
        """A term added to G's loss (a scalar, or (K,) for an ensemble)."""
        return None

    def after_d_step(self, state: TrainState) -> None:
        """After each optimiser step of D (e.g. weight clipping)."""

    def after_step(self, state: TrainState) -> None:
        """After each generator step, with ``state.step`` counting it (e.g. running averages)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


STEERING = ("d_inputs", "g_inputs", "d_penalty", "g_penalty", "after_d_step", "state_dict")


def steers(hook: Hook) -> bool:
    """Whether ``hook`` changes what a run computes, or keeps state: it overrides one of STEERING.

    A hook that only watches (overrides ``setup`` or ``after_step`` alone and keeps no state, like a
    progress printer or a simulated disconnect) does not; a checkpoint records the hooks that steer.
    """
    return any(getattr(type(hook), name) is not getattr(Hook, name) for name in STEERING)
