"""Checks of inputs, one per kind: an int, a number in a range, a seed, a device, a batch, class labels.

Each returns the value in the form the caller uses, or raises a TypeError (wrong kind) or ValueError
(right kind, wrong value) whose message names the argument, what came and what was expected, before
PyTorch's own, more cryptic error can happen. Every module of the package checks its inputs with these.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch

SEED_LIMIT = 2**32  # NumPy's seeds stop here; torch's go further, but one range serves every seed of the course
_check_label_values = True  # False inside the one loop, which checks its labels once (see labels_checked)


def check_int(value, name: str, minimum: int = 0) -> int:
    """``value`` as an int (a Python or NumPy int, not a bool) that is at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _range_text(low, high, low_open: bool, high_open: bool) -> str:
    if high is None and low == 0:
        return "a positive finite number" if low_open else "a non-negative finite number"
    if high is None:
        return f"a finite number {'>' if low_open else '>='} {low}"
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    return f"a number in {left}{low}, {high}{right}"


def check_number(value, name: str, low=None, high=None, *, low_open: bool = False, high_open: bool = False) -> float:
    """``value`` as a float: a finite Python or NumPy number (not a bool) in the range low..high (open ends if asked)."""
    expected = _range_text(low, high, low_open, high_open) if low is not None else "a finite real number"
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {expected}, got {type(value).__name__} ({value!r})")
    too_low = low is not None and (value <= low if low_open else value < low)
    too_high = high is not None and (value >= high if high_open else value > high)
    if not math.isfinite(value) or too_low or too_high:
        raise ValueError(f"{name} must be {expected}, got {value!r}")
    return float(value)


def check_positive(value, name: str) -> float:
    """``value`` as a float if it is a positive finite number (Python or NumPy, not bool), else a clear error."""
    return check_number(value, name, 0, low_open=True)


def check_seed(seed, name: str = "seed") -> int:
    """A seed: an int in [0, 2**32)."""
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"{name} must be an int in [0, 2**32), got {type(seed).__name__} ({seed!r})")
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"{name} must be in [0, 2**32), got {seed}")
    return int(seed)


def check_device(device, name: str = "device") -> torch.device:
    """A torch.device this machine can train on: 'cpu', 'cuda' or 'cuda:N' (if there), 'mps' (if there)."""
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"{name} must be a str or torch.device such as 'cpu' or 'cuda', got {type(device).__name__}")
    hint = {"gpu": ": a GPU is 'cuda'", "meta": ": the meta device holds shapes, no data"}.get(str(device), "")
    try:
        device = torch.device(device)
    except RuntimeError:
        raise ValueError(f"{name}={device!r} is not a torch device: use 'cpu', 'cuda' or 'mps'{hint}") from None
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(f"{name}={str(device)!r} was asked for, but this machine has no CUDA device (no GPU)")
        if device.index is not None and device.index >= count:
            raise ValueError(
                f"{name}={str(device)!r}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
            )
    elif device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"{name}='mps' was asked for, but MPS is not available on this machine")
    elif device.type not in ("cpu", "mps"):
        raise ValueError(
            f"{name}={str(device)!r} is not a device the course computes on: use 'cpu', 'cuda' or 'mps'{hint}"
        )
    return device


def check_batch(x, shape: tuple[int, ...], name: str, what: str, members: int | None = None) -> None:
    """Raise a clear error unless ``x`` is a tensor batch (N, *shape), or (members, N, *shape) for an ensemble;
    ``what`` names who expects it."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{what} expects {name} as a torch.Tensor, got {type(x).__name__}")
    lead = () if members is None else (members,)
    if (
        x.ndim != len(lead) + 1 + len(shape)
        or tuple(x.shape[: len(lead)]) != lead
        or tuple(x.shape[len(lead) + 1 :]) != shape
    ):
        expected = ", ".join(map(str, (*lead, "N", *shape)))
        of = "" if members is None else f" (an ensemble of {members}: one batch per member)"
        raise ValueError(f"{what} expects {name} of shape ({expected}){of}, got {tuple(x.shape)}")


def check_dtype(x: torch.Tensor, dtype: torch.dtype, name: str, of: str) -> None:
    """Raise a clear TypeError unless the tensor ``x`` has the dtype ``of`` computes in."""
    if x.dtype != dtype:
        fix = {torch.float32: ".float()", torch.float64: ".double()", torch.float16: ".half()"}.get(
            dtype, f".to({dtype})"
        )
        raise TypeError(f"{name} is {x.dtype} but {of} computes in {dtype}: convert it with {name}{fix}")


def check_labels(y, n_classes: int, n: int | None = None, name: str = "y") -> torch.Tensor:
    """y as int64 (N,), or a clear TypeError/ValueError: integer dtype, shape (n,), values in [0, n_classes)."""
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of integer class labels (N,), got {type(y).__name__}")
    if y.dtype == torch.bool or y.is_floating_point() or y.is_complex():
        raise TypeError(
            f"{name} must hold integer class labels (torch.long), got dtype {y.dtype}"
            + (" (use y.long() if they are whole numbers)" if y.is_floating_point() else "")
        )
    if y.ndim != 1:
        hint = " (one-hot rows? pass y.argmax(dim=1))" if y.ndim == 2 and y.shape[-1] == n_classes else ""
        raise ValueError(f"{name} must have shape (N,), one label per sample, got {tuple(y.shape)}{hint}")
    if n is not None and len(y) != n:
        raise ValueError(f"{name} has {len(y)} labels but the batch has {n} samples: give one label per sample")
    if _check_label_values and len(y):
        lo, hi = int(y.min()), int(y.max())
        if lo < 0 or hi >= n_classes:
            raise ValueError(
                f"{name} must lie in [0, {n_classes - 1}] (n_classes={n_classes}), got labels in [{lo}, {hi}]"
            )
    return y.long()


@contextlib.contextmanager
def labels_checked():
    """Within this block check_labels skips the range check of the values (dtype and shape are still checked).

    The one loop uses it: it checks its labels once and draws the fake ones in range, and a
    per-call ``y.min()`` would be a host sync in every step (and impossible in a CUDA graph).
    """
    global _check_label_values
    before, _check_label_values = _check_label_values, False
    try:
        yield
    finally:
        _check_label_values = before


def as_float_array(value, name: str, what: str = "an array of numbers") -> np.ndarray:
    """A number, list, NumPy array or tensor as a float64 array, or a clear TypeError naming ``name``."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} ({value!r})") from None
