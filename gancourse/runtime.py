"""Runtime helpers: seeding, device choice, the run profile and a one-line environment report.

Every notebook's setup cell uses these (notebooks/00_setup_and_tour.ipynb explains them).
The run profile is the course's one visible knob: ``fast`` for CI and smoke runs, ``cpu`` for a
learner without a GPU, ``gpu`` for full quality on CUDA (README, "Run profiles"). A notebook takes
its sizes from ``budget``, its training lengths from ``train_steps`` and checks what training
achieved with ``claim``.

A **dry run** (``GANCOURSE_DRYRUN=1``, e.g. with ``GANCOURSE_PROFILE=gpu`` on a CPU) runs a profile's
code with every training length cut to a few steps and every other size as the profile has it, so a
size, shape or path mistake of the gpu profile fails on any machine; ``claim`` then reports instead
of raising, since a few steps cannot show what training achieves. The learner's profiles are
unchanged (docs/authoring.md, "Dry runs").
"""

from __future__ import annotations

import os
import platform
import random

import numpy as np
import torch

from gancourse.validation import check_int, check_positive, check_seed

__all__ = ["PROFILES", "budget", "claim", "dry_run", "env_report", "get_device", "profile", "seed_everything"]
__all__ += ["set_profile", "train_steps"]
__all__ += ["check_positive"]  # kept here for gancourse.metrics, which imports it from here
PROFILES = ("fast", "cpu", "gpu")
DRY_RUN_MAX_STEPS = 200  # the longest training a dry run allows: train() refuses more (a length not cut)
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


def dry_run() -> bool:
    """True when $GANCOURSE_DRYRUN is set (1, true, yes): training lengths are cut to a few steps."""
    value = os.environ.get("GANCOURSE_DRYRUN", "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"the environment variable GANCOURSE_DRYRUN must be 1 or 0 (true/false, yes/no); got {value!r}")


def train_steps(*, fast: int, cpu: int, gpu: int | None = None, dry: int | None = None) -> int:
    """A training length for the current profile, e.g. ``steps = train_steps(fast=40, cpu=1600, gpu=30_000)``.

    Like ``budget``, but a dry run cuts it: it returns ``dry``, by default the fast profile's length (give
    ``dry=`` where the profile's other sizes need another, e.g. a multiple of its number of snapshots).
    """
    lengths = {"fast": fast, "cpu": cpu, "gpu": cpu if gpu is None else gpu}
    lengths["dry"] = fast if dry is None else dry
    for name, value in lengths.items():
        check_int(value, f"train_steps({name}=...)", 0)
    steps = budget(fast=fast, cpu=cpu, gpu=gpu)
    if not dry_run():
        return steps
    if lengths["dry"] > DRY_RUN_MAX_STEPS:
        raise ValueError(
            f"train_steps(dry={lengths['dry']}): a dry run trains at most {DRY_RUN_MAX_STEPS} steps; give a smaller dry="
        )
    n = lengths["dry"]
    print(f"dry run: {n:,} training step{'s' * (n != 1)} in place of the {profile()} profile's {steps:,}")
    return lengths["dry"]


def claim(condition, message: str) -> None:
    """Assert a claim about what training achieved: ``claim(score > 8, "the score should pass 8")``.

    It raises AssertionError(message) when the condition is false, except in a dry run, whose few steps cannot
    show what training achieves: there it prints the claim and whether it held, and goes on.
    """
    if isinstance(condition, str) or not isinstance(message, str):
        raise TypeError("claim(condition, message): the condition first, then the message (a str)")
    if isinstance(condition, torch.Tensor):
        if condition.numel() != 1:
            raise ValueError(
                f"claim(condition, ...) needs one truth value, got a tensor of shape {tuple(condition.shape)}"
            )
        condition = condition.item()
    if not isinstance(condition, (bool, np.bool_)):
        raise TypeError(f"claim(condition, ...) needs a bool, got {type(condition).__name__} ({condition!r:.60})")
    if dry_run():
        print(f"dry run: claim not judged ({'holds' if condition else 'fails'} after a few steps): {message}")
    elif not condition:
        raise AssertionError(message)


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
        f"device {where} | profile {profile()}" + (" (dry run: training cut to a few steps)" if dry_run() else "")
    )
