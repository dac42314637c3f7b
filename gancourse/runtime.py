"""Runtime helpers: seeding, device choice, the run profile and a one-line environment report.

Every notebook's setup cell uses these (notebooks/00_setup_and_tour.ipynb explains them).
The run profile is the course's one visible knob: ``fast`` for CI and smoke runs, ``cpu`` for a
learner without a GPU, ``gpu`` for full quality on CUDA (README, "Run profiles").
"""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from gancourse.validation import check_positive, check_seed

__all__ = ["PROFILES", "budget", "env_report", "get_device", "profile", "seed_everything", "set_profile"]
__all__ += ["check_positive"]  # kept here for gancourse.metrics, which imports it from here
PROFILES = ("fast", "cpu", "gpu")
_override: str | None = None


def seed_everything(seed: int) -> None:
    """Seed Python's, NumPy's and torch's global generators (CPU and CUDA) with ``seed``."""
    seed = check_seed(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device


def get_device(prefer: str | None = None) -> torch.device:
    """CUDA if available, else CPU; MPS only when asked for with ``prefer="mps"``."""
    if prefer is not None and not isinstance(prefer, str):
        raise TypeError(f"prefer must be a str or None, got {type(prefer).__name__}")
    if prefer not in (None, "cuda", "cpu", "mps"):
        raise ValueError(f"prefer must be one of None, 'cuda', 'cpu', 'mps'; got {prefer!r}")
    if prefer == "cpu":
        return torch.device("cpu")
    if prefer == "mps":
        if torch.backends.mps.is_available():
            return torch.device("mps")
        raise RuntimeError("prefer='mps' was asked for, but MPS is not available on this machine")
    if torch.cuda.is_available():
        return torch.device("cuda")
    if prefer == "cuda":
        raise RuntimeError("prefer='cuda' was asked for, but CUDA is not available on this machine")
    return torch.device("cpu")


def _check_profile(name: object, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a str, one of {PROFILES}; got {type(name).__name__}")
    if name not in PROFILES:
        raise ValueError(f"{what} must be one of {PROFILES}; got {name!r}")
    return name


def profile() -> str:
    """The run profile: set_profile(), else $GANCOURSE_PROFILE, else 'fast' under CI, 'gpu' on CUDA, 'cpu'."""
    if _override is not None:
        return _override
    env = os.environ.get("GANCOURSE_PROFILE", "").strip()
    if env:
        return _check_profile(env, "the environment variable GANCOURSE_PROFILE")
    if os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no"):
        return "fast"
    return "gpu" if torch.cuda.is_available() else "cpu"


def set_profile(name: str | None) -> str:
    """Override the run profile for this process (``None`` restores the automatic choice)."""
    global _override
    _override = None if name is None else _check_profile(name, "profile name")
    return profile()


def budget(*, fast, cpu, gpu=None):
    """Pick the size for the current profile, e.g. ``steps = budget(fast=200, cpu=3000, gpu=20000)``.

    ``gpu`` defaults to the ``cpu`` value. Sizes that are numbers must be non-negative.
    """
    sizes = {"fast": fast, "cpu": cpu, "gpu": cpu if gpu is None else gpu}
    for name, value in sizes.items():
        if value is None:
            raise ValueError(f"budget() needs a value for {name}=, got None")
        if isinstance(value, bool):
            raise TypeError(f"budget({name}=...) must be a size, got the bool {value}")
        if isinstance(value, (int, float, np.integer, np.floating)) and not value >= 0:
            raise ValueError(f"budget({name}=...) must be a non-negative size, got {value}")
    return sizes[profile()]


def env_report(device: torch.device | str | None = None) -> str:
    """One line: Python, torch, torchvision, device, threads, run profile."""
    try:
        import torchvision

        tv = torchvision.__version__
    except Exception:  # pragma: no cover - torchvision is a requirement
        tv = "missing"
    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        where = f"cuda ({torch.cuda.get_device_name(device)}, CUDA {torch.version.cuda})"
    else:
        where = f"{device.type} ({torch.get_num_threads()} threads)"
    return (
        f"Python {platform.python_version()} | torch {torch.__version__} | torchvision {tv} | "
        f"device {where} | profile {profile()}"
    )
