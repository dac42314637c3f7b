"""Files written whole or not at all: one atomic write, and checkpoints that load with ``weights_only=True``.

A write goes to a temp file in the same folder, is flushed to disk, then renamed over the target
(``os.replace``), so a reader never sees half a file, even when the machine stops right after (a Colab VM,
a mounted Drive folder). A temp file left by a process that was killed mid-write is removed at the next
write of the same file. Checkpoints hold only what ``torch.load(weights_only=True)`` accepts, so loading
one runs no code from the file; ``save_checkpoint`` refuses anything else when saving, not when loading.
"""

from __future__ import annotations

import glob
import os
import pickle
import uuid
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import torch

# what torch.load(weights_only=True) rebuilds: plain containers, plain scalars, tensors and three torch types
SAFE_CONTAINERS = (dict, OrderedDict, list, tuple, set, torch.Size)
SAFE_LEAVES = (type(None), bool, int, float, complex, str, bytes, torch.dtype, torch.device)


def atomic_write(path: str | os.PathLike, content: bytes | str | Callable[[BinaryIO], object]) -> Path:
    """Write ``content`` (bytes, text as UTF-8, or a function that writes to a binary file) to ``path`` atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):  # left by a writer that was killed mid-write
        stale.unlink(missing_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "wb") as f:
            if callable(content):
                content(f)
            else:
                f.write(content.encode("utf-8") if isinstance(content, str) else content)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def unsafe_part(payload, where: str = "payload") -> str | None:
    """Where in ``payload`` is something ``torch.load(weights_only=True)`` would refuse, and what; None if nothing."""
    kind = type(payload)
    if kind in SAFE_LEAVES or kind in (torch.Tensor, torch.nn.Parameter):
        return None
    if kind not in SAFE_CONTAINERS:
        fix = ""
        if kind.__module__ == "numpy":
            fix = " (use .item() or .tolist(), or torch.from_numpy)"
        elif isinstance(payload, os.PathLike):
            fix = " (use str(path))"
        return f"{where} is a {kind.__module__}.{kind.__qualname__}{fix}"
    items = payload.items() if isinstance(payload, dict) else enumerate(payload)
    for key, value in items:
        if isinstance(payload, dict) and type(key) not in SAFE_LEAVES:
            return f"a key of {where} is a {type(key).__module__}.{type(key).__qualname__}"
        found = unsafe_part(value, f"{where}[{key!r}]" if not isinstance(payload, set) else f"an item of {where}")
        if found:
            return found
    return None


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """torch.save ``payload`` to ``path`` atomically; refuse what ``load_checkpoint`` could not load back."""
    if not isinstance(payload, dict):
        raise TypeError(f"a checkpoint payload must be a dict, got {type(payload).__name__}")
    problem = unsafe_part(payload)
    if problem:
        raise TypeError(
            f"cannot save this checkpoint: {problem}, which torch.load(weights_only=True) refuses; "
            "keep to tensors, numbers, strings, None and dicts, lists and tuples of them"
        )
    atomic_write(path, lambda f: torch.save(payload, f))


def load_checkpoint(path: str | os.PathLike, map_location=None) -> dict:
    """Load a checkpoint written by save_checkpoint or train() (weights_only=True: tensors and plain containers)."""
    path = Path(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise
    except (RuntimeError, EOFError, KeyError, ValueError, pickle.UnpicklingError) as err:
        first_line = str(err).strip().splitlines()[0] if str(err).strip() else "(no message)"
        if "Weights only load failed" in str(err):
            raise ValueError(
                f"{path} holds objects other than tensors and plain containers, which weights_only=True refuses "
                "(save_checkpoint never writes them); load it with torch.load(weights_only=False) only if you "
                "trust where it came from"
            ) from err
        size = path.stat().st_size if path.is_file() else 0
        raise ValueError(
            f"{path} ({size:,} bytes) is not a checkpoint written by torch.save, or it was cut short "
            f"(a copy or download that did not finish?): {type(err).__name__}: {first_line}"
        ) from err
