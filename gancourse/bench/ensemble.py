"""How the step time of an ensemble grows with its size: ``python -m gancourse.bench.ensemble``.

K toy GANs trained as one (gancourse.ensemble) for K = 1, 4, 12, on the 8-Gaussian ring with the toy MLPs
(3 hidden layers of 128 and of 512 units), with the GAN (one critic step per generator step) and WGAN-GP
(five critic steps and the penalty's double backward, the recipe of the toy lectures 06 and 07), batch 256.
Each figure is the time of one generator step of the course's loop (on CUDA its captured step), timed over
``steps`` steps after ``warmup`` untimed ones (so set-up, warm-up and the CUDA-graph capture are not counted);
the fastest of ``repeats`` runs counts.
The goal (issue 22): K = 12 at most 1.5x the step time of K = 1 on a GPU. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime, timezone
from unittest import mock

import torch

from gancourse import data, defaults, ensemble, losses, nets
from gancourse.bench.cli import device_name, int_at_least, write_json
from gancourse.train import train
from gancourse.training import fastpath
from gancourse.validation import check_device, check_int
from gancourse.wasserstein import WGANGPObjective

OBJECTIVES = ("gan", "wgan-gp")
BATCH_SIZE = 256


def _recipe(objective: str) -> dict:
    """train()'s settings for one objective: the GAN of lecture 05, the WGAN-GP of lectures 06-07's toys."""
    if objective == "gan":
        return dict(objective=losses.GANObjective(), n_critic=1, lr=1e-3, betas=(0.5, 0.999))
    cfg = defaults.WGAN_GP_TOYS
    return dict(objective=WGANGPObjective(cfg["gp_weight"]), n_critic=cfg["n_critic"], lr=cfg["lr"], betas=cfg["betas"])


def step_time(k: int, width: int, objective: str, *, device, steps: int, warmup: int, repeats: int) -> float:
    """Seconds per generator step of an ensemble of k toy GANs (the fastest of ``repeats`` runs)."""
    x = data.sample_ring(50_000, seed=0)
    times = []
    for _ in range(repeats):
        pairs = []
        for seed in range(k):
            torch.manual_seed(seed)
            pairs.append(nets.toy_gan(hidden=width, depth=3))
        G, D = ensemble.stack_pairs(pairs)
        clock = StepClock(warmup, steps, device)
        with mock.patch.object(fastpath, "wrap", clock.wrap):
            train(G, D, x, steps=warmup + steps, batch_size=BATCH_SIZE, device=device, log_every=warmup + steps,
                  progress=False, **_recipe(objective))  # fmt: skip
        times.append(clock.seconds / steps)
    return min(times)


class StepClock:
    """Wraps the loop's step runner (gancourse.training.fastpath.wrap) to time the steps after the warm-up.

    The clock starts after step ``warmup`` and stops after ``steps`` more, each time after the device has
    finished its queue; nothing else waits for the device, so the loop runs as it does in a lecture.
    """

    def __init__(self, warmup: int, steps: int, device: torch.device):
        self.warmup, self.steps, self.device = warmup, steps, device
        self.calls, self.start, self.seconds = 0, 0.0, 0.0
        self._wrap = fastpath.wrap

    def wrap(self, *args, **kwargs):
        run_step = self._wrap(*args, **kwargs)

        def timed():
            out = run_step()
            self.calls += 1
            if self.calls == self.warmup:
                self.start = self._now()
            elif self.calls == self.warmup + self.steps:
                self.seconds = self._now() - self.start
            return out

        return timed

    def _now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)  # the steps queued so far have run
        return time.perf_counter()


def run(ks=(1, 4, 12), widths=(128, 512), objectives=OBJECTIVES, *, device=None, steps=None, warmup=None,
        repeats=None, verbose=False) -> dict:  # fmt: skip
    """Every figure as a report: {"rows": [{k, width, objective, ms_per_step, vs_first, ms_per_member}], ...};
    ``verbose`` prints each row as soon as it is measured."""
    device = check_device(device if device is not None else ("cuda" if torch.cuda.is_available() else "cpu"))
    gpu = device.type == "cuda"
    steps = check_int(steps if steps is not None else (200 if gpu else 10), "steps", 1)
    warmup = check_int(warmup if warmup is not None else (20 if gpu else 3), "warmup", 1)
    repeats = check_int(repeats if repeats is not None else 3, "repeats", 1)
    ks = [check_int(k, "K", 1) for k in ks]
    for objective in objectives:
        if objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {objective!r}")
    rows = []
    for objective in objectives:
        for width in widths:
            base = None
            for k in ks:
                ms = 1000 * step_time(k, width, objective, device=device, steps=steps, warmup=warmup, repeats=repeats)
                base = ms if base is None else base
                rows.append(dict(k=k, width=width, objective=objective, ms_per_step=ms, vs_first=ms / base,
                                 ms_per_member=ms / k))  # fmt: skip
                if verbose:
                    print(format_row(rows[-1]), flush=True)
    name = torch.cuda.get_device_name(device) if gpu else _cpu_name()
    return dict(device=str(device), device_name=name, threads=torch.get_num_threads(), torch=torch.__version__,
                date=datetime.now(timezone.utc).strftime("%Y-%m-%d"), steps=steps, warmup=warmup, repeats=repeats,
                batch_size=BATCH_SIZE, rows=rows)  # fmt: skip


def _cpu_name() -> str:
    """The CPU's model name (Linux), else what platform knows."""
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def format_report(report: dict) -> str:
    """The report as a plain-text table."""
    lines = [
        f"gancourse.bench.ensemble: toy GAN ensembles on the ring | device {report['device']} ({report['device_name']}), "
        f"{report['threads']} threads | torch {report['torch']} | batch {report['batch_size']} | {report['date']}",
        f"one generator step of the course's loop: {report['steps']} steps timed after {report['warmup']}, fastest of "
        f"{report['repeats']} runs; goal on a GPU: K = 12 at most 1.5x K = 1",
        "",
        f"{'objective':<10}{'MLP':>8}{'K':>5}{'ms/step':>10}{'vs first K':>12}{'ms per member':>15}",
    ]
    lines += [format_row(r) for r in report["rows"]]
    return "\n".join(lines)


def format_row(r: dict) -> str:
    """One measured row as a line of the table."""
    return (
        f"{r['objective']:<10}{'3x' + str(r['width']):>8}{r['k']:>5}{r['ms_per_step']:>10.2f}{r['vs_first']:>11.2f}x"
        f"{r['ms_per_member']:>15.2f}"
    )


def main(argv: list[str] | None = None) -> dict:
    """Command line: time the ensembles, print the table; returns the report."""
    p = argparse.ArgumentParser(prog="python -m gancourse.bench.ensemble", description=__doc__.splitlines()[0])
    p.add_argument("--ks", type=int_at_least(1), nargs="+", default=[1, 4, 12], help="ensemble sizes (1 4 12)")
    p.add_argument("--widths", type=int_at_least(1), nargs="+", default=[128, 512], help="hidden widths (128 512)")
    p.add_argument("--objectives", nargs="+", choices=OBJECTIVES, default=list(OBJECTIVES))
    p.add_argument("--device", type=device_name, help="cuda, cpu or mps (default: cuda if available)")
    p.add_argument("--steps", type=int_at_least(1), help="timed generator steps (default 200 on a GPU, 10 on a CPU)")
    p.add_argument("--warmup", type=int_at_least(1), help="steps before them (default 20 on a GPU, 3 on a CPU)")
    p.add_argument("--repeats", type=int_at_least(1), default=3, help="measurements; the fastest counts (3)")
    p.add_argument("--json", metavar="OUT", help="also write the report as JSON to OUT")
    args = p.parse_args(argv)
    report = run(args.ks, args.widths, args.objectives, device=args.device, steps=args.steps, warmup=args.warmup,
                 repeats=args.repeats, verbose=True)  # fmt: skip
    print()
    print(format_report(report))
    if args.json:
        write_json(report, args.json)
        print(f"\nwrote {args.json}")
    return report


if __name__ == "__main__":
    main()
