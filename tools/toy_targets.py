"""Issue #12's toy targets for WGAN-GP (λ = 0.1) with the paper's toy networks, one run per process.

`python tools/toy_targets.py grid SEED [--steps N]` trains what notebooks/07_wgan_gp.ipynb's gpu profile trained
until 2026-12-02 (ReLU MLPs of width 512, depth 3, Adam(1e-4, (0.5, 0.9)), batch 256, n_critic 5, 50,000 data
points resident on the device; the lecture now trains width 128 at lr 5e-4 in every profile), for the issue's
budgets (40,000 grid / 20,000 ring steps), and prints one JSON line per segment: modes, % high quality, seconds. The GPU machine
has no Jupyter; tools/gpu_session.sh starts the six runs of the target (grid and ring, seeds 0-2) at once.

Two remedies for the oscillating high-quality share seen on the H100 (docs/benchmarks.md):
`--decay-from K` decays both learning rates linearly to 0 from step K to the last step (each segment takes the
schedule's value at its middle and keeps it: each train() call captures its own graph), and `--ema 0.999` also
scores an exponential moving average of G's weights.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time

import torch

from gancourse import data, defaults, metrics, nets, techniques, wasserstein
from gancourse.runtime import seed_everything
from gancourse.train import adam, sample, train

STEPS = {"grid": 40_000, "ring": 20_000}  # the budgets


def lr_at(step: float, lr: float, steps: int, decay_from: int | None) -> float:
    """The learning rate at ``step``: constant, then linear from ``decay_from`` to 0 at ``steps``."""
    if decay_from is None or step < decay_from:
        return lr
    return lr * (steps - step) / (steps - decay_from)


def main(target: str, seed: int, steps: int, segment: int = 10_000, decay_from=None, ema=None, device=None) -> dict:
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    x = {"grid": data.sample_grid, "ring": data.sample_ring}[target](50_000, seed=0)
    cfg = defaults.WGAN_GP_TOYS
    seed_everything(seed)
    G, D = nets.toy_gan(hidden=512, depth=3)
    opt_G = adam(G.parameters(), cfg["lr"], cfg["betas"])
    opt_D = adam(D.parameters(), cfg["lr"], cfg["betas"])
    objective = wasserstein.WGANGPObjective(cfg["gp_weight"])
    coverage = metrics.grid_coverage if target == "grid" else metrics.ring_coverage
    average = techniques.EMA(ema) if ema else None
    done, seconds, row = 0, 0.0, {}
    while done < steps:  # segments, each reported (one train() call each: the same recipe)
        seg = min(segment, steps - done)
        lr = lr_at(done + seg / 2, cfg["lr"], steps, decay_from)  # a segment's rate: the schedule at its middle
        for opt in (opt_G, opt_D):
            for group in opt.param_groups:
                group["lr"] = lr
        t0 = time.perf_counter()
        with contextlib.redirect_stdout(sys.stderr):  # the loop's one-line notes: stdout carries only the JSON lines
            train(
                G,
                D,
                x,
                steps=seg,
                objective=objective,
                n_critic=cfg["n_critic"],
                opt_G=opt_G,
                opt_D=opt_D,
                hooks=[average] if average else [],
                batch_size=cfg["batch_size"],
                seed=seed + 1000 * done,
                progress=False,
                device=device,
                log_every=1000,
            )
        seconds += time.perf_counter() - t0
        done += seg
        row = {"target": target, "seed": seed, "steps": done, "lr": lr, "seconds": round(seconds, 1)}
        for tag, net in [("", G)] + ([("ema_", average.G)] if average else []):
            cov = coverage(sample(net, metrics.N_EVAL, seed=100 + seed))
            row.update(
                {
                    tag + "modes": cov["modes_captured"],
                    tag + "hq": round(100 * cov["high_quality"], 1),
                    tag + "rkl": cov["reverse_kl"],
                }
            )
        print(json.dumps(row), flush=True)
    return row


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("target", choices=STEPS)
    p.add_argument("seed", type=int)
    p.add_argument("--steps", type=int)
    p.add_argument("--segment", type=int, default=10_000)
    p.add_argument("--decay-from", type=int)
    p.add_argument("--ema", type=float)
    a = p.parse_args()
    main(a.target, a.seed, a.steps or STEPS[a.target], a.segment, a.decay_from, a.ema)
