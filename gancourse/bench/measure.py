"""Timing the three loops, and training the course's to a stated quality: the figures of ``python -m gancourse.bench``.

The loops take turns, each timed ``repeats`` times after a warm-up; the fastest repeat counts. The report
gives images per second (generator steps x batch size, per second), seconds per epoch of 60,000 images
(ceil(60,000 / batch size) generator steps; a WGAN-GP step includes its n_critic critic steps), and the
training time the course's loop needs to reach a stated quality: the classifier score and the Fréchet
distance of the course's MNIST classifier (gancourse.metrics) on 10,000 samples. Without a CUDA device it
runs a short form and says so.
"""

from __future__ import annotations

import math
import platform
import time
from collections.abc import Callable
from datetime import datetime, timezone

import torch

from gancourse import data, metrics
from gancourse.bench.loops import (
    EPOCH_IMAGES,
    LOOPS,
    MODELS,
    Model,
    forever,
    resident_loop,
    tutorial_dataset,
    tutorial_loader,
    tutorial_loop,
)
from gancourse.classifier import load_classifier
from gancourse.train import sample, train
from gancourse.validation import check_device, check_int, check_number, check_positive


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


def _course_runner(model: Model, x_dev: torch.Tensor, *, device, batch_size: int, seed: int):
    G, D = model.nets(seed, device)
    opt_G, opt_D = course_optimisers(model, G, D, device)
    kw = dict(batch_size=batch_size, objective=model.make_objective(), n_critic=model.n_critic)
    kw.update(opt_G=opt_G, opt_D=opt_D, progress=False, device=device)
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
) -> dict:
    """Time ``steps`` generator steps of each loop ``repeats`` times after ``warmup`` untimed ones; the loops take
    turns, so a change in the machine's load hits them all, and each loop reports its fastest repeat."""
    x_dev = x.to(device)
    runners = {
        "tutorial": _tutorial_runner(model, dataset, device=device, batch_size=batch_size, workers=workers, seed=seed),
        "resident": _resident_runner(model, x_dev, device=device, batch_size=batch_size, seed=seed),
        "course": _course_runner(model, x_dev, device=device, batch_size=batch_size, seed=seed),
    }
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
    verbose: bool = True,
) -> dict:
    """Run the benchmark and return its report (a JSON-ready dict); ``short`` defaults to True without CUDA."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu") if device is None else check_device(device)
    unknown = [m for m in models if m not in MODELS]
    if unknown or not models:
        raise ValueError(f"models must be a non-empty selection of {tuple(MODELS)}, got {tuple(models)}")
    short = device.type != "cuda" if short is None else short
    sizes = {  # (the short form, on a CPU; the full form, on a GPU)
        "steps": (2, math.ceil(EPOCH_IMAGES / check_int(batch_size, "batch_size", 1))),  # full: one epoch
        "warmup": (1, 20),
        "quality_steps": (10, 200_000),
        "quality_seconds": (120.0, 120.0),
        "eval_every": (5, 500),
        "eval_samples": (500, 10_000),
    }
    given = dict(steps=steps, warmup=warmup, quality_steps=quality_steps, quality_seconds=quality_seconds)
    given |= dict(eval_every=eval_every, eval_samples=eval_samples)
    size = {k: (v if v is not None else sizes[k][0 if short else 1]) for k, v in given.items()}
    _check_arguments(size, workers, repeats, target_score, target_fd)
    x, y = data.load_mnist("train", source=source, verbose=verbose)
    used = data.last_source()
    dataset = tutorial_dataset(x, y, root=data.default_data_dir() if used == "torchvision" else None)
    x_test, _ = data.load_mnist("test", source=used, verbose=False)
    classifier = load_classifier(device)
    reference = metrics.feature_stats(x[: max(size["eval_samples"], min(len(x), 10_000))], classifier=classifier)
    report = _header(device, short, batch_size, workers, repeats, used, len(x), size)
    x_test = x_test[: size["eval_samples"]]
    report["real"] = {
        "n": len(x_test),
        "score": metrics.classifier_score(x_test, classifier=classifier),
        "fd": metrics.classifier_frechet_distance(x_test, reference, classifier=classifier),
    }
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)  # the tutorial loop draws from the global RNG, as tutorials do
        for name in models:
            model = MODELS[name]
            if verbose:
                print(f"{name}: timing the three loops ...", flush=True)
            loops = throughput(model, x, dataset, device=device, batch_size=batch_size, steps=size["steps"],
                               warmup=size["warmup"], repeats=repeats, workers=workers, seed=seed)  # fmt: skip
            t, r, c = (loops[k]["s_per_epoch"] for k in LOOPS)
            speedup = {"resident_vs_tutorial": t / r, "course_vs_tutorial": t / c, "course_vs_resident": r / c}
            if verbose:
                print(f"{name}: training to quality ...", flush=True)
            quality = time_to_quality(model, x, reference, device=device, batch_size=batch_size,
                                      eval_every=max(1, size["eval_every"] // model.n_critic),
                                      max_steps=size["quality_steps"], max_seconds=size["quality_seconds"],
                                      eval_samples=size["eval_samples"], target_score=target_score,
                                      target_fd=target_fd, seed=seed)  # fmt: skip
            report["models"][name] = {"n_critic": model.n_critic, "loops": loops, "speedup": speedup}
            report["models"][name]["quality"] = quality
    return report


def _check_arguments(size: dict, workers, repeats, target_score, target_fd) -> None:
    for name in ("steps", "quality_steps", "eval_every"):
        check_int(size[name], name, 1)
    check_int(size["warmup"], "warmup", 0)
    check_int(size["eval_samples"], "eval_samples", 2)
    check_int(workers, "workers", 0)
    check_int(repeats, "repeats", 1)
    check_positive(size["quality_seconds"], "quality_seconds")
    check_number(target_score, "target_score", 1, 10)  # the classifier score's range
    if target_fd is not None:
        check_positive(target_fd, "target_fd")


def _header(device, short, batch_size, workers, repeats, source, n_train, size) -> dict:
    """What the report says about the run: when, on what, with which sizes."""
    import torchvision

    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "python": platform.python_version(),
        "short": short,
        "batch_size": batch_size,
        "workers": workers,
        "repeats": repeats,
        "data_source": source,
        "n_train": n_train,
        "epoch_images": EPOCH_IMAGES,
        "steps_per_epoch": math.ceil(EPOCH_IMAGES / batch_size),
        **size,
        "models": {},
    }
