"""Checks for the assignments: each asserts, and says what was expected, what came, and a hint.

A check cell in an assignment notebook calls one function of ``gancourse.checks.exNN``; the
grader (``python -m gancourse.grade``) turns a raised ``CheckFailed`` into a failed exercise.
Every check is tested against known-wrong implementations (tests/test_checks_*.py).
"""

from __future__ import annotations

import operator

import numpy as np
import torch

__all__ = [
    "CheckFailed",
    "fail",
    "expect",
    "expect_close",
    "expect_loss",
    "expect_same_parameters",
    "as_array",
    "number",
    "expect_tensor",
    "call",
    "rng_kept",
    "stale_gradients",
    "passed",
]


class CheckFailed(AssertionError):
    """An exercise's check did not pass; the message says what was expected and gives a hint."""


def fail(exercise: str, message: str, hint: str | None = None):
    """Raise CheckFailed for ``exercise`` (e.g. '1.2') with a message and an optional hint."""
    text = f"Exercise {exercise}: {message}"
    if hint:
        text += f"\nHint: {hint}"
    raise CheckFailed(text)


def expect(condition, exercise: str, message: str, hint: str | None = None) -> None:
    """Fail ``exercise`` with ``message`` unless ``condition`` holds."""
    if not bool(condition):
        fail(exercise, message, hint)


def as_array(value, exercise: str, what: str) -> np.ndarray:
    """Convert a student's answer (number, list, ndarray or tensor) to a float64 array, or fail."""
    if value is None:  # NumPy would read it as NaN
        fail(exercise, f"{what} should be a number or an array of numbers, got None", "return the result")
    try:
        return _float64(value)
    except (TypeError, ValueError):
        fail(exercise, f"{what} should be a number or an array of numbers, got {type(value).__name__}: {value!r}")


def _float64(value) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().double().numpy()
    return np.asarray(value, dtype=np.float64)


def number(value, exercise: str, what: str, *, integer: bool = False, hint: str | None = None):
    """A student's one-number answer, or a failed check naming ``what``.

    A number, or an array, list or tensor holding one, comes back 0-d in its own precision (a float32
    answer keeps float32's tolerance in ``expect_close``); ``float()`` of it is the value. With
    ``integer=True`` the answer must be an int (a Python or NumPy integer, not a bool) and comes back an int.
    """
    if integer:
        try:
            if not isinstance(value, bool):
                return operator.index(value)  # an int, a NumPy integer or an integer tensor; never truncates
        except TypeError:
            pass
        fail(exercise, f"{what} should be an int, got {type(value).__name__}: {value!r}", hint)
    arr = as_array(value, exercise, what)
    if arr.size != 1:
        fail(exercise, f"{what} should be one number, got an array of shape {arr.shape}", hint)
    return value.reshape(()) if isinstance(value, (torch.Tensor, np.ndarray, np.generic)) else arr.reshape(())


def expect_tensor(value, exercise: str, what: str, *, shape=None, hint: str | None = None) -> torch.Tensor:
    """``value``, once it is a torch.Tensor (of ``shape``, when given); else a failed check naming ``what``."""
    if not isinstance(value, torch.Tensor):
        fail(exercise, f"{what} should be a torch.Tensor, got {type(value).__name__}")
    if shape is not None and tuple(value.shape) != tuple(shape):
        fail(exercise, f"{what} should have shape {tuple(shape)}, got {tuple(value.shape)}", hint)
    return value


def call(exercise: str, what: str, fn, *args, hint: str | None = None):
    """fn(*args), where an ordinary error becomes a failed check; a stub's NotImplementedError passes through.

    NotImplementedError is a RuntimeError too: the grader reads it as "not attempted", so it must not be caught.
    """
    try:
        return fn(*args)
    except NotImplementedError:
        raise
    except (RuntimeError, TypeError, ValueError, IndexError) as err:
        fail(exercise, f"{what} raised {type(err).__name__}: {err}", hint)


class rng_kept:
    """``with rng_kept(seed=0): net = build()`` runs the block on the global RNG seeded so, then restores it.

    Without a seed the block runs on the global RNG as it is; afterwards ``.drew`` says whether the block drew
    from it (a student's function that should have used the generator or noise it was given). Only the CPU
    generator is seeded, and its state is put back however the block ends: a check never moves the global RNG.
    """

    def __init__(self, seed: int | None = None):
        self.seed = seed
        self.drew = False

    def __enter__(self) -> rng_kept:
        self._saved = torch.random.get_rng_state()
        if self.seed is not None:
            torch.random.default_generator.manual_seed(self.seed)
        self._start = torch.random.get_rng_state()
        return self

    def __exit__(self, *exc) -> bool:
        self.drew = not torch.equal(torch.random.get_rng_state(), self._start)
        torch.random.set_rng_state(self._saved)
        return False


def stale_gradients(*models: torch.nn.Module) -> None:
    """Fill every parameter's .grad with 5, as an earlier step leaves it: a training step must clear it first."""
    for model in models:
        for p in model.parameters():
            p.grad = torch.full_like(p, 5.0)


def expect_close(
    got,
    expected,
    exercise: str,
    what: str,
    *,
    rtol: float = 1e-6,
    atol: float = 1e-9,
    hint: str | None = None,
    mistakes=(),
) -> None:
    """Fail unless ``got`` equals ``expected`` (same shape, within rtol/atol; inf matches inf).

    An answer computed in float32 is held to float32's precision where rtol/atol ask for more: the
    exercises accept either precision unless a check compares dtypes itself. ``mistakes`` names known
    mistakes: (value, hint) pairs, the value a known-wrong answer gives here; a wrong ``got`` that equals
    one of them (and that is not also the right answer) gets that hint in place of ``hint``.
    """
    rtol, atol = _tolerance_for(got, expected, rtol, atol)
    got_arr = as_array(got, exercise, what)
    exp_arr = np.asarray(expected, dtype=np.float64)
    if got_arr.shape != exp_arr.shape:
        fail(exercise, f"{what} should have shape {exp_arr.shape}, got shape {got_arr.shape}", hint)
    if not np.allclose(got_arr, exp_arr, rtol=rtol, atol=atol, equal_nan=False):
        where = ""
        if exp_arr.ndim and np.all(np.isfinite(got_arr)) and np.all(np.isfinite(exp_arr)):
            worst = np.unravel_index(np.argmax(np.abs(got_arr - exp_arr)), exp_arr.shape)
            where = f" (largest difference at index {tuple(int(i) for i in worst)})"
        hint = _known_mistake(got_arr, exp_arr, mistakes) or hint
        fail(exercise, f"{what}: expected {_short(exp_arr, got_arr)}, got {_short(got_arr, exp_arr)}{where}", hint)


def _known_mistake(got: np.ndarray, expected: np.ndarray, mistakes) -> str | None:
    """The hint of the first mistake whose value ``got`` reproduces (within 1e-4) and the right answer does not."""
    for value, hint in mistakes:
        value = _float64(value)
        close = dict(rtol=1e-4, atol=1e-6)
        if value.shape == got.shape and np.allclose(got, value, **close) and not np.allclose(value, expected, **close):
            return hint
    return None


# float32 answers: 32 units in the last place, relative (measured: float32 KL and JS of the checks' cases stay
# within 9 of them); added to atol in units of the expected values' largest magnitude
FLOAT32_RTOL = 32 * float(np.finfo(np.float32).eps)


def _tolerance_for(got, expected, rtol: float, atol: float) -> tuple[float, float]:
    """(rtol, atol), widened to float32's precision when ``got`` is a float32 tensor or array."""
    if isinstance(got, (torch.Tensor, np.ndarray, np.generic)):
        dtype = got.dtype
    else:  # a tuple or list of float32 numbers counts as float32 too
        try:
            dtype = np.asarray(got).dtype
        except (TypeError, ValueError, RuntimeError):
            dtype = None
    if dtype not in (torch.float32, np.float32):
        return rtol, atol
    exp_arr = np.asarray(expected, dtype=np.float64)
    finite = np.abs(exp_arr[np.isfinite(exp_arr)])
    scale = float(finite.max()) if finite.size else 0.0
    return max(rtol, FLOAT32_RTOL), max(atol, FLOAT32_RTOL * scale)


def expect_loss(
    got, expected, exercise: str, fn_name: str, what: str, *, rtol: float, atol: float = 1e-9, hint: str | None = None
) -> None:
    """Fail unless a training step ``fn_name`` returned its loss (a tensor or a float) equal to ``expected``."""
    if not isinstance(got, (torch.Tensor, float)):
        fail(exercise, f"{fn_name} should return the loss, got {type(got).__name__}")
    expect_close(torch.as_tensor(got).detach().float(), expected, exercise, what, rtol=rtol, atol=atol, hint=hint)


def expect_same_parameters(
    model: torch.nn.Module,
    reference: torch.nn.Module,
    exercise: str,
    whose: str,
    *,
    hint: str,
    after: str = "after one step",
    rtol: float = 1e-5,
    atol: float = 1e-6,
) -> None:
    """Fail at the first parameter of ``model`` that differs from ``reference``'s after a training step."""
    for (name, p), q in zip(model.named_parameters(), reference.parameters()):
        expect_close(
            p.detach(), q.detach(), exercise, f"{whose} parameter {name} {after}", rtol=rtol, atol=atol, hint=hint
        )


def _short(arr: np.ndarray, other: np.ndarray | None = None) -> str:
    """``arr`` in at least 6 significant digits, and in as many more as it takes to differ from ``other``."""
    for digits in range(6, 18):
        text = _format(arr, digits)
        if other is None or np.shape(other) != np.shape(arr) or text != _format(other, digits):
            return text
    return text


def _format(arr: np.ndarray, digits: int) -> str:
    if arr.ndim == 0:
        return f"{float(arr):.{digits}g}"
    return np.array2string(arr, precision=digits - 1, threshold=12, edgeitems=3)


def passed(exercise: str) -> None:
    """Print the line a check prints when it passes."""
    print(f"Exercise {exercise}: passed ✓")


# --------------------------------------------------------------------------- a training step leaves its nets trainable


def expect_left_trainable(model: torch.nn.Module, exercise: str, whose: str, *, hint: str) -> None:
    """Fail unless every parameter of ``model`` still requires grad and the model is in training mode."""
    frozen = [name for name, p in model.named_parameters() if not p.requires_grad]
    expect(
        not frozen,
        exercise,
        f"after the step, {whose} parameters {frozen} no longer require grad: the next step would not train them",
        hint,
    )
    evaluating = [name or type(model).__name__ for name, m in model.named_modules() if not m.training]
    expect(
        not evaluating,
        exercise,
        f"after the step, {whose} modules {evaluating} are in eval mode (dropout off, batch norm frozen)",
        hint,
    )


# Feedback at a glance (gancourse/feedback.py): in a notebook, a failed check or an untouched exercise shows one
# short block instead of the package's frames; every other error keeps its full traceback.
from gancourse import feedback  # noqa: E402

feedback.register(CheckFailed)
