"""Benchmark: how fast the course's DCGAN and WGAN-GP-DCGAN train on MNIST, and how soon they draw good digits.

``python -m gancourse.bench`` runs, in one process on one device, three loops over the same networks, losses,
optimiser settings and batch size, so that every speed-up is a ratio measured in one run:

- ``tutorial``: written the way common tutorials do (the PyTorch DCGAN tutorial, most WGAN-GP repositories):
  torchvision.datasets.MNIST with ToTensor + Normalize, a DataLoader (shuffle, 2 workers, pinned memory on
  CUDA), each batch copied to the device, the losses' ``.item()`` logged every step (a host sync);
- ``resident``: the same step with the whole data set on the device, batches by index from a per-epoch
  permutation, the losses kept on the device (no host sync in the timed steps), eager;
- ``course``: the course's one loop, gancourse.train.train (on CUDA, its fast path);
- with ``--variants``, also ``course_bf16_cl``: the course's loop with bf16 autocast and channels_last
  (``train(amp=True, channels_last=True)``; autocast is CUDA-only there, so on a CPU it is channels_last alone).

The loops take turns, each timed ``repeats`` times after a warm-up; the fastest repeat counts. It reports
images per second (generator steps x batch size, per second), seconds per epoch of 60,000 images
(ceil(60,000 / batch size) generator steps, as MEASURED.md counts them; a WGAN-GP step includes its n_critic
critic steps), and the training time the course's loop needs to reach a stated quality: the classifier score
and the Fréchet distance of the course's MNIST classifier (gancourse.metrics) on 10,000 samples. Without a CUDA
device it runs a short form and says so. Figures: docs/benchmarks.md; the lesson: notebooks/08_dcgan.ipynb.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import os
import platform
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn

from gancourse import data, dcgan, defaults, metrics
from gancourse.classifier import load_classifier
from gancourse.losses import GANObjective
from gancourse.train import adam, sample, train
from gancourse.wasserstein import WGANGPObjective

EPOCH_IMAGES = 60_000  # MNIST's training set: an epoch is ceil(60,000 / batch_size) generator steps
LOOPS = ("tutorial", "resident", "course")
LOOP_LABELS = {
    "tutorial": "tutorial: DataLoader, .item() every step",
    "resident": "resident: data on the device, eager",
    "course": "course loop: gancourse.train.train",
}
VARIANTS = ("course_bf16_cl",)  # --variants: the course loop's options, timed on and off in the same run
VARIANT_LABELS = {"course_bf16_cl": "  ... with bf16 autocast + channels_last"}


@dataclass(frozen=True)
class Model:
    """One benchmarked GAN: the course's DCGAN networks with an objective and its optimiser settings."""

    name: str
    critic: bool  # True: the critic without batch norm (WGAN-GP)
    n_critic: int
    lr: float
    betas: tuple[float, float]
    make_objective: Callable[[], object]

    def nets(self, seed: int, device: torch.device) -> tuple[nn.Module, nn.Module]:
        """G (100 -> 256x7x7 -> 128x14x14 -> 1x28x28) and D (1 -> 64x14x14 -> 128x7x7 -> 1), seeded."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            G, D = dcgan.dcgan(latent_dim=100, g_width=128, d_width=64, critic=self.critic)
        return G.to(device), D.to(device)

    def optimisers(self, G: nn.Module, D: nn.Module, **kwargs) -> tuple[torch.optim.Adam, torch.optim.Adam]:
        return adam(G.parameters(), self.lr, self.betas, **kwargs), adam(D.parameters(), self.lr, self.betas, **kwargs)


MODELS = {
    "dcgan": Model("dcgan", False, 1, defaults.DCGAN["lr"], defaults.DCGAN["betas"], GANObjective),
    "wgan-gp-dcgan": Model(
        "wgan-gp-dcgan",
        True,
        defaults.WGAN_GP_IMAGES["n_critic"],
        defaults.WGAN_GP_IMAGES["lr"],
        defaults.WGAN_GP_IMAGES["betas"],
        lambda: WGANGPObjective(defaults.WGAN_GP_IMAGES["gp_weight"]),
    ),
}


# --------------------------------------------------------------------------- the three loops


def tutorial_transform():
    """The tutorials' pipeline: PIL image -> ToTensor ([0, 1]) -> Normalize(0.5, 0.5) ([-1, 1])."""
    from torchvision import transforms

    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])


def tutorial_dataset(x: torch.Tensor, y: torch.Tensor, *, root: str | os.PathLike | None = None):
    """torchvision.datasets.MNIST over the digits x (N, 1, 28, 28) in [-1, 1] and labels y, with the tutorial transform.

    With ``root`` (a folder holding torchvision's MNIST/, as load_mnist caches it) the files there are read.
    Without, x and y are written as torchvision's IDX files into a temporary folder (offline: the same digits the
    other loops train on); the data set holds its tensors in memory, so the folder is removed before returning.
    """
    from torchvision.datasets import MNIST

    if root is not None:
        return MNIST(str(root), train=True, download=False, transform=tutorial_transform())
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"x must be digits of shape (N, 1, 28, 28), got {getattr(x, 'shape', type(x).__name__)}")
    with tempfile.TemporaryDirectory(prefix="gancourse-mnist-") as folder:
        raw = Path(folder) / "MNIST" / "raw"
        written = data.write_torchvision_mnist(raw, x, y, train=True)
        written += data.write_torchvision_mnist(raw, x[:10], y[:10], train=False)  # torchvision wants all four files
        for gz in written:
            gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))  # it reads them uncompressed
        return MNIST(folder, train=True, download=False, transform=tutorial_transform())


def tutorial_loader(dataset, batch_size: int, *, workers: int = 2, device: torch.device | str = "cpu"):
    """DataLoader(shuffle=True, num_workers=2, pin_memory on CUDA), as the PyTorch DCGAN tutorial builds it."""
    device = torch.device(device)
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers, pin_memory=device.type == "cuda"
    )


def forever(loader) -> Iterator:
    """Batches from ``loader``, epoch after epoch (each epoch starts its workers anew, as a for loop does)."""
    while True:
        yield from loader


def tutorial_loop(G, D, batches: Iterator, *, steps: int, objective, opt_G, opt_D, n_critic: int = 1, device="cpu"):
    """``steps`` generator steps the tutorial way: each batch copied to the device, noise from the global RNG,
    both losses' ``.item()`` logged every step. Returns the log [(d_loss, g_loss), ...] and the images G trained on.
    """
    device = torch.device(device)
    log, images = [], 0
    for _ in range(steps):
        for _ in range(n_critic):
            x_real = next(batches)[0].to(device)  # (B, 1, 28, 28): host -> device every batch
            z = torch.randn(x_real.shape[0], G.latent_dim, device=device)  # (B, latent_dim)
            x_fake = G(z).detach()
            out = objective.d_loss(D, x_real, x_fake)
            loss_d = out[0] if isinstance(out, tuple) else out
            opt_D.zero_grad()
            loss_d.backward()
            opt_D.step()
        z = torch.randn(x_real.shape[0], G.latent_dim, device=device)
        loss_g = objective.g_loss(D, G(z), x_real)
        opt_G.zero_grad()
        loss_g.backward()
        opt_G.step()
        log.append((loss_d.item(), loss_g.item()))  # the tutorial's print/log: the host waits for the device
        images += x_real.shape[0]
    return log, images


def resident_loop(G, D, x, *, steps: int, batch_size: int, objective, opt_G, opt_D, n_critic: int = 1, generator):
    """``steps`` generator steps with the data set x resident on the device: batches by index from a per-epoch
    permutation, randomness from ``generator``, the losses kept on the device. Returns the losses (steps, 2).
    """
    n, device = len(x), x.device
    order, pos = torch.randperm(n, generator=generator, device=device), 0
    logged = []
    for _ in range(steps):
        for _ in range(n_critic):
            if pos + batch_size > n:  # a new epoch: plain integers, no host sync
                order, pos = torch.randperm(n, generator=generator, device=device), 0
            x_real = x[order[pos : pos + batch_size]]  # (B, 1, 28, 28), already on the device
            pos += batch_size
            z = torch.randn(batch_size, G.latent_dim, generator=generator, device=device)  # (B, latent_dim)
            with torch.no_grad():
                x_fake = G(z)
            out = objective.d_loss(D, x_real, x_fake, generator=generator)
            loss_d = out[0] if isinstance(out, tuple) else out
            opt_D.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_D.step()
        z = torch.randn(batch_size, G.latent_dim, generator=generator, device=device)
        loss_g = objective.g_loss(D, G(z), x_real)
        opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_G.step()
        logged.append(torch.stack([loss_d.detach(), loss_g.detach()]))  # stays on the device
    return torch.stack(logged)  # (steps, 2)


# --------------------------------------------------------------------------- measuring


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn: Callable[[], object], device: torch.device) -> tuple[float, object]:
    _sync(device)
    start = time.perf_counter()
    out = fn()
    _sync(device)
    return time.perf_counter() - start, out


def _rates(seconds: float, steps: int, images: int, batch_size: int) -> dict:
    steps_per_epoch = math.ceil(EPOCH_IMAGES / batch_size)
    return {
        "steps": steps,
        "seconds": seconds,
        "images_per_s": images / seconds,
        "s_per_epoch": seconds / steps * steps_per_epoch,
    }


def course_optimisers(model: Model, G, D, device: torch.device):
    """Adam for the course's loop; on CUDA ``capturable=True``, which a captured (CUDA-graph) step needs."""
    return model.optimisers(G, D, **({"capturable": True} if device.type == "cuda" else {}))


def _tutorial_runner(model: Model, dataset, *, device, batch_size: int, workers: int, seed: int):
    G, D = model.nets(seed, device)
    opt_G, opt_D = model.optimisers(G, D)
    batches = forever(tutorial_loader(dataset, batch_size, workers=workers, device=device))  # one epoch after another
    kw = dict(objective=model.make_objective(), opt_G=opt_G, opt_D=opt_D, n_critic=model.n_critic, device=device)

    def run(steps: int) -> tuple[int, bool]:
        log, images = tutorial_loop(G, D, batches, steps=steps, **kw)
        return images, all(math.isfinite(v) for pair in log for v in pair)

    return run


def _resident_runner(model: Model, x_dev: torch.Tensor, *, device, batch_size: int, seed: int):
    G, D = model.nets(seed, device)
    opt_G, opt_D = model.optimisers(G, D)
    kw = dict(batch_size=batch_size, objective=model.make_objective(), opt_G=opt_G, opt_D=opt_D)
    kw.update(n_critic=model.n_critic, generator=torch.Generator(device=device).manual_seed(seed))

    def run(steps: int) -> tuple[int, bool]:
        logged = resident_loop(G, D, x_dev, steps=steps, **kw)
        return steps * batch_size, bool(torch.isfinite(logged).all())

    return run


def _course_runner(model: Model, x_dev: torch.Tensor, *, device, batch_size: int, seed: int, fast_options=False):
    G, D = model.nets(seed, device)
    opt_G, opt_D = course_optimisers(model, G, D, device)
    kw = dict(batch_size=batch_size, objective=model.make_objective(), n_critic=model.n_critic)
    kw.update(opt_G=opt_G, opt_D=opt_D, progress=False, device=device)
    if fast_options:
        kw.update(amp=True, channels_last=True)
    calls = [0]

    def run(steps: int) -> tuple[int, bool]:  # one train() call: its own set-up counts against it
        calls[0] += 1
        out = train(G, D, x_dev, steps=steps, seed=seed + calls[0], **kw)  # each call draws fresh batches
        return steps * batch_size, all(math.isfinite(v) for v in out.history["d_loss"] + out.history["g_loss"])

    return run


def throughput(
    model: Model,
    x: torch.Tensor,
    dataset,
    *,
    device: torch.device,
    batch_size: int,
    steps: int,
    warmup: int,
    repeats: int,
    workers: int,
    seed: int,
    variants: bool = False,
) -> dict:
    """Time ``steps`` generator steps of each loop ``repeats`` times after ``warmup`` untimed ones; the loops take
    turns, so a change in the machine's load hits them all, and each loop reports its fastest repeat.
    ``variants`` adds the course loop with bf16 autocast and channels_last (VARIANTS)."""
    x_dev = x.to(device)
    runners = {
        "tutorial": _tutorial_runner(model, dataset, device=device, batch_size=batch_size, workers=workers, seed=seed),
        "resident": _resident_runner(model, x_dev, device=device, batch_size=batch_size, seed=seed),
        "course": _course_runner(model, x_dev, device=device, batch_size=batch_size, seed=seed),
    }
    if variants:
        runners["course_bf16_cl"] = _course_runner(
            model, x_dev, device=device, batch_size=batch_size, seed=seed, fast_options=True
        )
    if warmup:  # starts the DataLoader's workers (the timed steps continue their epoch) and lazy library set-up
        for run in runners.values():
            run(warmup)
    times: dict[str, list[tuple[float, int]]] = {name: [] for name in runners}
    finite = dict.fromkeys(runners, True)
    for _ in range(repeats):
        for name, run in runners.items():
            seconds, (images, ok) = _timed(lambda run=run: run(steps), device)
            times[name].append((seconds, images))
            finite[name] = finite[name] and ok
    out = {}
    for name, rows in times.items():
        seconds, images = min(rows)
        out[name] = _rates(seconds, steps, images, batch_size)
        out[name].update(repeat_seconds=[t for t, _ in rows], finite=finite[name])
    return out


def time_to_quality(
    model: Model,
    x: torch.Tensor,
    reference,
    *,
    device: torch.device,
    batch_size: int,
    eval_every: int,
    max_steps: int,
    max_seconds: float,
    eval_samples: int,
    target_score: float,
    target_fd: float | None,
    seed: int,
) -> dict:
    """Train with the course's loop in segments of ``eval_every`` steps; after each (off the clock) score
    ``eval_samples`` samples; stop at the target or when ``max_steps`` or ``max_seconds`` of training are spent.
    """
    x_dev = x.to(device)
    G, D = model.nets(seed, device)
    opt_G, opt_D = course_optimisers(model, G, D, device)
    objective = model.make_objective()
    classifier = load_classifier(device)
    trace, clock, done, reached = [], 0.0, 0, None
    while done < max_steps and clock < max_seconds:
        seg = min(eval_every, max_steps - done)
        seconds, _ = _timed(
            lambda seg=seg, done=done: train(
                G,
                D,
                x_dev,
                steps=seg,
                objective=objective,
                n_critic=model.n_critic,
                batch_size=batch_size,
                opt_G=opt_G,
                opt_D=opt_D,
                seed=seed + done,  # each segment draws fresh batches
                progress=False,
                device=device,
            ),
            device,
        )
        clock, done = clock + seconds, done + seg
        fake = sample(G, eval_samples, seed=seed)  # the same latents at every evaluation
        score = metrics.classifier_score(fake, classifier=classifier)
        fd = metrics.classifier_frechet_distance(fake, reference, classifier=classifier)
        trace.append({"step": done, "seconds": clock, "score": score, "fd": fd})
        if score >= target_score and (target_fd is None or fd <= target_fd):
            reached = trace[-1]
            break
    best = max(trace, key=lambda r: r["score"])
    return {
        "target_score": target_score,
        "target_fd": target_fd,
        "eval_samples": eval_samples,
        "reached": reached is not None,
        "seconds_to_target": reached["seconds"] if reached else None,
        "steps_to_target": reached["step"] if reached else None,
        "steps": done,
        "seconds": clock,
        "final_score": trace[-1]["score"],
        "final_fd": trace[-1]["fd"],
        "best_score": best["score"],
        "best_step": best["step"],
        "trace": trace,
    }


# --------------------------------------------------------------------------- the report


def run_benchmark(
    *,
    models=tuple(MODELS),
    device=None,
    batch_size: int = 128,
    steps: int | None = None,
    warmup: int | None = None,
    repeats: int = 3,
    workers: int = 2,
    short: bool | None = None,
    quality_steps: int | None = None,
    quality_seconds: float | None = None,
    eval_every: int | None = None,
    eval_samples: int | None = None,
    target_score: float = 9.0,
    target_fd: float | None = None,
    source: str = "auto",
    seed: int = 0,
    variants: bool = False,
    verbose: bool = True,
) -> dict:
    """Run the benchmark and return its report (a JSON-ready dict); ``short`` defaults to True without CUDA.

    ``variants`` also times the course loop with bf16 autocast and channels_last (see VARIANTS)."""
    device = (
        torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    )
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={str(device)!r} was asked for, but CUDA is not available on this machine")
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ValueError(f"models must be a non-empty selection of {tuple(MODELS)}, got {tuple(models)}")
    _check_positive_int(batch_size, "batch_size")
    short = device.type != "cuda" if short is None else short
    sizes = {  # the short form (a CPU) and the full form (a GPU)
        "steps": (2, math.ceil(EPOCH_IMAGES / batch_size)),
        "warmup": (1, 20),
        "quality_steps": (10, 200_000),
        "quality_seconds": (120.0, 120.0),
        "eval_every": (5, 500),
        "eval_samples": (500, 10_000),
    }
    given = dict(
        steps=steps,
        warmup=warmup,
        quality_steps=quality_steps,
        quality_seconds=quality_seconds,
        eval_every=eval_every,
        eval_samples=eval_samples,
    )
    size = {k: (v if v is not None else sizes[k][0 if short else 1]) for k, v in given.items()}
    for name in ("steps", "quality_steps", "eval_every"):
        _check_positive_int(size[name], name)
    _check_positive_int(size["warmup"], "warmup", minimum=0)
    _check_positive_int(size["eval_samples"], "eval_samples", minimum=2)
    _check_positive_int(workers, "workers", minimum=0)
    _check_positive_int(repeats, "repeats")
    if not (isinstance(size["quality_seconds"], (int, float)) and size["quality_seconds"] > 0):
        raise ValueError(f"quality_seconds must be a positive number, got {size['quality_seconds']!r}")
    if not (isinstance(target_score, (int, float)) and 1.0 <= target_score <= 10.0):
        raise ValueError(f"target_score must lie in [1, 10] (the classifier score's range), got {target_score!r}")
    if target_fd is not None and not (isinstance(target_fd, (int, float)) and target_fd > 0):
        raise ValueError(f"target_fd must be a positive number or None, got {target_fd!r}")

    x, y = data.load_mnist("train", source=source, verbose=verbose)
    used = data.last_source()
    dataset = tutorial_dataset(x, y, root=data.default_data_dir() if used == "torchvision" else None)
    x_ref = x[: max(size["eval_samples"], min(len(x), 10_000))]
    x_test, _ = data.load_mnist("test", source=used, verbose=False)
    x_test = x_test[: size["eval_samples"]]
    classifier = load_classifier(device)
    reference = metrics.feature_stats(x_ref, classifier=classifier)

    import torchvision

    report = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "short": short,
        "variants": bool(variants),
        "batch_size": batch_size,
        "workers": workers,
        "repeats": repeats,
        "data_source": used,
        "n_train": len(x),
        "epoch_images": EPOCH_IMAGES,
        "steps_per_epoch": math.ceil(EPOCH_IMAGES / batch_size),
        **size,
        "real": {
            "n": len(x_test),
            "score": metrics.classifier_score(x_test, classifier=classifier),
            "fd": metrics.classifier_frechet_distance(x_test, reference, classifier=classifier),
        },
        "models": {},
    }
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # the tutorial loop draws from the global RNG, as tutorials do
        for name in models:
            model = MODELS[name]
            if verbose:
                print(f"{name}: timing the three loops ...", flush=True)
            loops = throughput(
                model,
                x,
                dataset,
                device=device,
                batch_size=batch_size,
                steps=size["steps"],
                warmup=size["warmup"],
                repeats=repeats,
                workers=workers,
                seed=seed,
                variants=variants,
            )
            t, r, c = (loops[k]["s_per_epoch"] for k in LOOPS)
            speedup = {"resident_vs_tutorial": t / r, "course_vs_tutorial": t / c, "course_vs_resident": r / c}
            if variants:
                speedup["bf16_cl_vs_course"] = c / loops["course_bf16_cl"]["s_per_epoch"]
            if verbose:
                print(f"{name}: training to quality ...", flush=True)
            quality = time_to_quality(
                model,
                x,
                reference,
                device=device,
                batch_size=batch_size,
                eval_every=max(1, size["eval_every"] // model.n_critic),
                max_steps=size["quality_steps"],
                max_seconds=size["quality_seconds"],
                eval_samples=size["eval_samples"],
                target_score=target_score,
                target_fd=target_fd,
                seed=seed,
            )
            report["models"][name] = {
                "n_critic": model.n_critic,
                "loops": loops,
                "speedup": speedup,
                "quality": quality,
            }
    return report


def _check_positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return value


def format_report(report: dict) -> str:
    """The report as a plain-text table."""
    lines = []
    dev = report["device"] + (f" ({report['device_name']})" if report["device"].startswith("cuda") else "")
    lines.append(
        f"gancourse.bench: DCGAN and WGAN-GP-DCGAN on MNIST | device {dev}, {report['threads']} threads | "
        f"torch {report['torch']} | batch {report['batch_size']} | data: {report['data_source']} "
        f"({report['n_train']:,} digits) | {report['date']}"
    )
    if report["short"]:
        lines.append(
            f"SHORT FORM ({report['device']}): each loop timed {report['repeats']} times for {report['steps']} "
            f"generator steps (the fastest counts) after {report['warmup']} warm-up; quality on "
            f"{report['eval_samples']:,} samples after at most {report['quality_steps']} steps. Indicative only: "
            "the figures that matter come from a GPU."
        )
    lines.append(
        f"an epoch = {report['steps_per_epoch']} generator steps ({report['epoch_images']:,} images); "
        "images/s = generator steps x batch size per second"
    )
    lines.append("")
    lines.append(f"{'model':<15}{'loop':<44}{'images/s':>10}{'s/epoch':>10}{'vs tutorial':>13}")
    for name, m in report["models"].items():
        for i, loop in enumerate(loop for loop in (*LOOPS, *VARIANTS) if loop in m["loops"]):
            row = m["loops"][loop]
            ratio = m["loops"]["tutorial"]["s_per_epoch"] / row["s_per_epoch"]
            extra = f"   ({m['speedup']['course_vs_resident']:.2f}x resident)" if loop == "course" else ""
            if loop == "course_bf16_cl":
                extra = f"   ({m['speedup']['bf16_cl_vs_course']:.2f}x the course loop without them)"
            lines.append(
                f"{name if i == 0 else '':<15}{(LOOP_LABELS | VARIANT_LABELS)[loop]:<44}{row['images_per_s']:>10.1f}"
                f"{row['s_per_epoch']:>10.2f}{ratio:>12.2f}x{extra}"
            )
    if report.get("variants") and not report["device"].startswith("cuda"):
        lines.append("(bf16 autocast is CUDA-only in train(): on this device the variant is channels_last alone)")
    lines.append("")
    first = next(iter(report["models"].values()))["quality"]
    target = f"classifier score >= {first['target_score']:g}"
    if first["target_fd"] is not None:
        target += f" and Fréchet distance <= {first['target_fd']:g}"
    lines.append(
        f"time to quality (course loop; {target}; {first['eval_samples']:,} samples; FD against the training digits)"
    )
    lines.append(f"{'model':<15}{'steps':>8}{'train s':>10}{'score':>8}{'FD':>9}   result")
    for name, m in report["models"].items():
        q = m["quality"]
        result = (
            f"reached at step {q['steps_to_target']} after {q['seconds_to_target']:.1f} s"
            if q["reached"]
            else f"not reached (best score {q['best_score']:.2f} at step {q['best_step']})"
        )
        lines.append(
            f"{name:<15}{q['steps']:>8}{q['seconds']:>10.1f}{q['final_score']:>8.2f}{q['final_fd']:>9.2f}   {result}"
        )
    real = report["real"]
    lines.append(
        f"{'real digits':<15}{'':>8}{'':>10}{real['score']:>8.2f}{real['fd']:>9.2f}   held out, n = {real['n']:,}"
    )
    return "\n".join(lines)


def write_json(report: dict, path: str | os.PathLike) -> None:
    """Write the report as JSON atomically (temp file + os.replace)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _int_at_least(minimum: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected an integer >= {minimum}, got {value}")
        return value

    return parse


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def main(argv: list[str] | None = None) -> dict:
    """Command line: run the benchmark, print the table, optionally write JSON; returns the report."""
    p = argparse.ArgumentParser(prog="python -m gancourse.bench", description=__doc__.splitlines()[0])
    p.add_argument(
        "--steps", type=_int_at_least(1), help="timed generator steps per loop (default: one epoch; 3 short)"
    )
    p.add_argument("--warmup", type=_int_at_least(0), help="untimed steps before each timing (default 20; 1 short)")
    p.add_argument("--batch-size", type=_int_at_least(1), default=128, help="batch size (default 128)")
    p.add_argument("--device", help="cuda, cpu or mps (default: cuda if available)")
    p.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT")
    p.add_argument("--models", nargs="+", choices=tuple(MODELS), default=list(MODELS), help="models to run")
    p.add_argument("--repeats", type=_int_at_least(1), default=3, help="timed repeats per loop; the fastest counts")
    p.add_argument("--workers", type=_int_at_least(0), default=2, help="the tutorial DataLoader's workers (default 2)")
    form = p.add_mutually_exclusive_group()
    form.add_argument("--short", dest="short", action="store_true", default=None, help="force the short form")
    form.add_argument("--full", dest="short", action="store_false", help="force the full form (on a CPU: slow)")
    p.add_argument("--quality-steps", type=_int_at_least(1), help="most generator steps of the quality run")
    p.add_argument("--quality-seconds", type=_positive_float, help="most training seconds of the quality run (120)")
    p.add_argument("--eval-every", type=_int_at_least(1), help="DCGAN steps between evaluations (WGAN-GP: / n_critic)")
    p.add_argument("--eval-samples", type=_int_at_least(2), help="samples per evaluation (default 10,000; 500 short)")
    p.add_argument("--target-score", type=float, default=9.0, help="classifier score to reach (default 9.0)")
    p.add_argument("--target-fd", type=_positive_float, help="also require a Fréchet distance at most this")
    p.add_argument("--source", choices=data.SOURCES, default="auto", help="MNIST source (see load_mnist)")
    p.add_argument("--seed", type=_int_at_least(0), default=0)
    p.add_argument(
        "--variants", action="store_true", help="also time the course loop with bf16 autocast and channels_last"
    )
    args = p.parse_args(argv)
    if args.device is not None:
        try:
            torch.device(args.device)
        except RuntimeError:
            p.error(f"argument --device: expected a torch device such as cuda or cpu, got {args.device!r}")
        if args.device.startswith("cuda") and not torch.cuda.is_available():
            p.error(f"argument --device: {args.device!r} was asked for, but CUDA is not available on this machine")
    if not 1.0 <= args.target_score <= 10.0:
        p.error(f"argument --target-score: expected a score in [1, 10], got {args.target_score}")
    report = run_benchmark(
        models=tuple(dict.fromkeys(args.models)),
        device=args.device,
        batch_size=args.batch_size,
        steps=args.steps,
        warmup=args.warmup,
        repeats=args.repeats,
        workers=args.workers,
        short=args.short,
        quality_steps=args.quality_steps,
        quality_seconds=args.quality_seconds,
        eval_every=args.eval_every,
        eval_samples=args.eval_samples,
        target_score=args.target_score,
        target_fd=args.target_fd,
        source=args.source,
        seed=args.seed,
        variants=args.variants,
    )
    print()
    print(format_report(report))
    if args.json:
        write_json(report, args.json)
        print(f"\nwrote {args.json}")
    return report


if __name__ == "__main__":
    main()
