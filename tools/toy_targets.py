"""Issue #12's toy targets for WGAN-GP (λ = 0.1) in lecture 07's gpu profile, one run per process.

`python tools/toy_targets.py grid SEED [STEPS]` trains exactly what notebooks/07_wgan_gp.ipynb's fit("WGAN-GP λ=0.1",
...) trains in the gpu profile (ReLU MLPs of width 512, depth 3, Adam(1e-4, (0.5, 0.9)), batch 256, n_critic 5,
50,000 data points resident on the device) and prints one JSON line: modes, % high quality, seconds. The GPU
machine has no Jupyter; tools/gpu_session.sh starts the six runs of the target (grid and ring, seeds 0-2) at once.
"""

from __future__ import annotations

import json
import sys
import time

import torch

from gancourse import data, defaults, metrics, nets, wasserstein
from gancourse.runtime import seed_everything
from gancourse.train import adam, sample, train

STEPS = {"grid": 40_000, "ring": 20_000}  # the notebook's gpu profile


def main(target: str, seed: int, steps: int) -> dict:
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x = {"grid": data.sample_grid, "ring": data.sample_ring}[target](50_000, seed=0)
    cfg = defaults.WGAN_GP_TOYS
    seed_everything(seed)
    G, D = nets.toy_gan(hidden=512, depth=3)
    opt_G = adam(G.parameters(), cfg["lr"], cfg["betas"])
    opt_D = adam(D.parameters(), cfg["lr"], cfg["betas"])
    objective = wasserstein.WGANGPObjective(cfg["gp_weight"])
    coverage = metrics.grid_coverage if target == "grid" else metrics.ring_coverage
    done, seconds, row = 0, 0.0, {}
    while done < steps:  # segments of 10,000 steps, each reported (one train() call each: the same recipe)
        seg = min(10_000, steps - done)
        t0 = time.perf_counter()
        train(
            G,
            D,
            x,
            steps=seg,
            objective=objective,
            n_critic=cfg["n_critic"],
            opt_G=opt_G,
            opt_D=opt_D,
            batch_size=cfg["batch_size"],
            seed=seed + 1000 * done,
            progress=False,
            device=device,
            log_every=1000,
        )
        seconds += time.perf_counter() - t0
        done += seg
        cov = coverage(sample(G, metrics.N_EVAL, seed=100 + seed))
        row = {
            "target": target,
            "seed": seed,
            "steps": done,
            "seconds": round(seconds, 1),
            "modes": cov["modes_captured"],
            "hq": round(100 * cov["high_quality"], 1),
            "rkl": cov["reverse_kl"],
        }
        print(json.dumps(row), flush=True)
    return row


if __name__ == "__main__":
    target, seed = sys.argv[1], int(sys.argv[2])
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else STEPS[target]
    main(target, seed, steps)
