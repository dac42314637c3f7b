"""Shared fixtures: the course's root folder and a clean data/profile state per test."""

from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def root() -> Path:
    return ROOT


@pytest.fixture(autouse=True)
def _fresh_runtime_state(monkeypatch):
    """Each test starts with no profile override, no dry run and no remembered network failure."""
    from gancourse import data, runtime

    monkeypatch.setattr(runtime, "_override", None)
    monkeypatch.delenv("GANCOURSE_DRYRUN", raising=False)
    monkeypatch.setattr(data, "_network_failure", None)


@pytest.fixture
def deterministic_cuda(monkeypatch):
    """The same kernels for the same inputs: cuDNN's deterministic algorithms, no TF32.

    Without this, two eager runs already differ: convolution backward passes that sum with atomics give
    gradients that differ in the last bits, and Adam turns a near-zero gradient of either sign into an update
    of about lr, so after 20 steps some parameters differ by ~lr (seen on an H100: 4% of the DCGAN's
    parameters beyond 1e-4 while the losses agreed to 1e-3). train() makes its optimisers capturable on CUDA in
    both paths, so they do the same arithmetic too.
    """
    monkeypatch.setattr(torch.backends.cudnn, "deterministic", True)
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setattr(torch.backends.cuda.matmul, "allow_tf32", False)


@pytest.fixture
def interrupt():
    """A hook factory: ``interrupt(at)`` raises KeyboardInterrupt after generator step ``at``, as Ctrl-C would."""
    from gancourse.train import Hook

    class Interrupt(Hook):
        def __init__(self, at: int):
            self.at = at

        def after_step(self, state):
            if state.step == self.at:
                raise KeyboardInterrupt

    return Interrupt
