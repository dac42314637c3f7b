"""Checks for assignment 01 (solutions/01_kl_js_divergence.ipynb): KL, JS, Gaussian KL, Monte Carlo, mode seeking."""

from __future__ import annotations

import math

import numpy as np
from scipy import integrate, optimize

from gancourse import data, divergences
from gancourse.checks import as_array, expect, expect_close, fail, number, passed

_LOG_HINT = "use the natural logarithm (np.log), not log2 or log10"


def _random_pairs(n: int, seed: int, zeros: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """n pairs of random distributions on 2 to 8 outcomes; with zeros=True some outcomes get no mass."""
    rng = np.random.default_rng(seed)
    pairs = []
    for _ in range(n):
        k = int(rng.integers(2, 9))
        pair = []
        for _ in range(2):
            w = rng.dirichlet(np.ones(k))
            if zeros:
                w[rng.random(k) < 0.25] = 0.0
                w = w / w.sum() if w.sum() > 0 else np.eye(k)[0]
            pair.append(w)
        pairs.append(tuple(pair))
    return pairs


def _expect_on_random_pairs(fn, reference, exercise: str, name: str, *, seed: int, hint: str) -> None:
    """fn(a, b) equals reference(a, b) on 40 random pairs of distributions, some outcomes without mass."""
    for i, (a, b) in enumerate(_random_pairs(40, seed=seed, zeros=True)):
        expect_close(
            fn(a.copy(), b.copy()),
            reference(a, b),
            exercise,
            f"random case {i}: {name}({a.round(3)}, {b.round(3)})",
            rtol=1e-9,
            atol=1e-12,
            hint=hint,
        )


def kl(fn) -> None:
    """Exercise 1.1: kl_discrete(p, q) = Σ p log(p/q) in nats, with 0·log 0 = 0 and inf where q = 0 < p."""
    p, q = np.array([0.36, 0.48, 0.16]), np.full(3, 1 / 3)
    expect_close(
        number(fn(p, q), "1.1", "kl_discrete(p, q)"),
        divergences.kl(p, q),
        "1.1",
        "kl_discrete([0.36, 0.48, 0.16], uniform)",
        rtol=1e-9,
        hint=_LOG_HINT,
        mistakes=[
            (divergences.kl(q, p), "that is KL(q‖p): the first argument weighs the log-ratio, Σ p_i log(p_i / q_i)")
        ],
    )
    expect_close(
        number(fn(np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])), "1.1", "kl_discrete"),
        math.log(2),
        "1.1",
        "kl_discrete([0.5, 0.5, 0], [0.25, 0.25, 0.5])",
        rtol=1e-9,
        hint="a term with p_i = 0 contributes 0 (0·log 0 = 0): leave it out of the sum",
    )
    got = number(fn(np.array([0.5, 0.5]), np.array([1.0, 0.0])), "1.1", "kl_discrete")
    expect(
        float(got) == math.inf,
        "1.1",
        f"kl_discrete([0.5, 0.5], [1, 0]) should be inf (q = 0 where p > 0), got {float(got)}",
        "p_i log(p_i / 0) = +inf: do not drop or clip those terms",
    )
    _expect_on_random_pairs(fn, divergences.kl, "1.1", "kl_discrete", seed=11, hint=_LOG_HINT)
    passed("1.1")


def js(fn) -> None:
    """Exercise 1.2: js_discrete(p, q) = ½KL(p‖m) + ½KL(q‖m), m = (p + q)/2, in nats."""
    p, q = np.array([0.36, 0.48, 0.16]), np.full(3, 1 / 3)
    expect_close(
        fn(p, q),
        divergences.js(p, q),
        "1.2",
        "js_discrete([0.36, 0.48, 0.16], uniform)",
        rtol=1e-9,
        hint="compare each distribution with the mixture m = (p + q) / 2 and average the two KLs; natural log",
    )
    disjoint = np.array([0.5, 0.5, 0.0, 0.0]), np.array([0.0, 0.0, 0.3, 0.7])
    expect_close(
        fn(*disjoint),
        math.log(2),
        "1.2",
        "js_discrete on disjoint supports",
        rtol=1e-9,
        hint="on disjoint supports JS is log 2 = 0.693 nats; KL(p‖m) is finite because m > 0 wherever p > 0",
    )
    _expect_on_random_pairs(
        fn, divergences.js, "1.2", "js_discrete", seed=12, hint="JS is symmetric and at most log 2; check the ½ factors"
    )
    passed("1.2")


def kl_gaussians(fn) -> None:
    """Exercise 1.3: the closed-form KL(N(mu1, s1²) ‖ N(mu2, s2²)), with s1, s2 standard deviations."""
    cases = [
        (0.0, 1.0, 1.0, 1.0),
        (0.0, 1.0, 1.0, 2.0),
        (1.0, 2.0, 0.0, 1.0),
        (-1.5, 0.5, 2.0, 3.0),
        (0.3, 1.7, 0.3, 0.6),
    ]
    for mu1, s1, mu2, s2 in cases:
        expect_close(
            fn(mu1, s1, mu2, s2),
            divergences.kl_gaussians(mu1, s1, mu2, s2),
            "1.3",
            f"kl_gaussians({mu1}, {s1}, {mu2}, {s2})",
            rtol=1e-9,
            hint="log(s2/s1) + (s1² + (mu1 − mu2)²) / (2 s2²) − ½; s1 and s2 are standard deviations, "
            "not variances, and the second distribution's variance is the denominator",
        )
    passed("1.3")


def _gauss_log_pdf(mu: float, s: float):
    return lambda x: -0.5 * ((np.asarray(x) - mu) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))


def kl_monte_carlo(fn) -> None:
    """Exercise 1.4: (mean, standard error) of log p(x) − log q(x) over the given samples x ~ p."""
    for seed, n, (mu1, s1, mu2, s2) in [(4, 2000, (0.0, 1.0, 1.0, 2.0)), (5, 500, (1.0, 0.5, 0.0, 1.0))]:
        x = np.random.default_rng(seed).normal(mu1, s1, size=n)
        log_p, log_q = _gauss_log_pdf(mu1, s1), _gauss_log_pdf(mu2, s2)
        ratio = log_p(x) - log_q(x)
        got = fn(log_p, log_q, x.copy())
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            fail("1.4", f"kl_monte_carlo should return a pair (estimate, standard_error), got {type(got).__name__}")
        estimate, stderr = got
        expect_close(
            estimate,
            ratio.mean(),
            "1.4",
            f"the estimate on {n} samples",
            rtol=1e-9,
            hint="average log p(x) − log q(x) over the samples you were given (they come from p)",
        )
        expect_close(
            stderr,
            ratio.std(ddof=1) / math.sqrt(n),
            "1.4",
            f"the standard error on {n} samples",
            rtol=2e-3,
            hint="the standard error of a mean is the samples' standard deviation divided by √n",
        )
    passed("1.4")


# The assignment's bimodal targets, (means, stds, weights), with unequal weights and widths. The first has its
# modes so far apart that every mode-seeking objective (reverse KL, JS) settles on the component next to its
# start; the second has them close enough that the reverse-KL fit and the JS fit differ: from (2, 1), reverse KL
# gives mu ≈ 1.904, sigma ≈ 0.917 and JS mu ≈ 0.667, sigma ≈ 1.82. (From (1, 1), halfway between two basins of
# reverse KL, Nelder-Mead and BFGS find different minima: the start (2, 1) is in one basin for every method.)
FAR_MODES = ((-2.0, 3.0), (0.6, 0.8), (0.4, 0.6))
CLOSE_MODES = ((-1.5, 2.0), (0.6, 0.8), (0.4, 0.6))
FIT_CASES = [(FAR_MODES, -1.0, 1.0), (FAR_MODES, 2.0, 1.0), (CLOSE_MODES, 2.0, 1.0)]  # (target, mu0, sigma0)


def _mixture(target):
    means, stds, weights = target
    return lambda x: data.mixture_pdf_1d(x, means, stds, weights)


def _describe(target) -> str:
    return " + ".join(f"{w:g}·N({m:g}, {s:g}²)" for m, s, w in zip(*target))


def _reference_fit(target, mu0: float, sigma0: float, objective_of) -> tuple[float, float]:
    """(mu, sigma) of the Gaussian fit minimising objective_of(px, qx, x) from (mu0, sigma0) on a fine grid."""
    x = np.linspace(-12, 12, 4801)
    px = _mixture(target)(x)

    def objective(t):
        qx = np.exp(-0.5 * ((x - t[0]) / math.exp(t[1])) ** 2) / (math.exp(t[1]) * math.sqrt(2 * math.pi))
        return objective_of(px, qx, x)

    res = optimize.minimize(objective, [mu0, math.log(sigma0)], method="Nelder-Mead", options={"xatol": 1e-8})
    return res.x[0], math.exp(res.x[1])


def _reverse_kl(px, qx, x):
    return integrate.trapezoid(qx * (np.log(qx + 1e-300) - np.log(px + 1e-300)), x)


def _js(px, qx, x):
    mx = (px + qx) / 2
    terms = px * (np.log(px + 1e-300) - np.log(mx + 1e-300)) + qx * (np.log(qx + 1e-300) - np.log(mx + 1e-300))
    return integrate.trapezoid(0.5 * terms, x)


def reverse_kl_fit(fn) -> None:
    """Exercise 1.5: fit_reverse_kl(p_pdf, mu0, sigma0) finds the N(mu, sigma²) minimising KL(q‖p) near its start."""
    for target, mu0, sigma0 in FIT_CASES:
        got = fn(_mixture(target), mu0, sigma0)
        arr = as_array(got, "1.5", f"fit_reverse_kl(p, {mu0}, {sigma0})")
        expect(arr.shape == (2,), "1.5", f"fit_reverse_kl should return (mu, sigma), got shape {arr.shape}")
        mu, sigma = arr
        ref_mu, ref_sigma = _reference_fit(target, mu0, sigma0, _reverse_kl)
        where = f"from (mu0, sigma0) = ({mu0}, {sigma0}) on the mixture {_describe(target)}"
        hint = "minimise KL(q‖p) = ∫ q log(q/p), q first: it seeks one mode; KL(p‖q) would sit between the modes"
        if abs(mu - ref_mu) >= 0.05:  # wrong: is it the JS fit? (computed only then: a fit costs a minimisation)
            js_mu, js_sigma = _reference_fit(target, mu0, sigma0, _js)
            if abs(js_mu - ref_mu) > 0.1 and abs(mu - js_mu) < 0.05 and abs(sigma / js_sigma - 1) < 0.05:
                hint = "that is the fit minimising JS(p‖q), not KL(q‖p) = ∫ q log(q/p): the two differ on this mixture"
        expect(abs(mu - ref_mu) < 0.05, "1.5", f"{where}: expected mu ≈ {ref_mu:.3f}, got {mu:.4g}", hint)
        expect(
            abs(sigma / ref_sigma - 1) < 0.05,
            "1.5",
            f"{where}: expected sigma ≈ {ref_sigma:.3f}, got {sigma:.4g}",
            "keep the q log q term (q's negative entropy): without it sigma shrinks towards 0",
        )
    passed("1.5")


# (weights, means, stds) for 1.6; the first is the assignment's mixture, whose numerical fit its cell prints
FORWARD_CASES = [
    ((0.25, 0.75), (-1.0, 3.0), (0.5, 1.0)),
    ((0.5, 0.5), (-2.0, 2.0), (0.5, 0.5)),
    ((0.2, 0.3, 0.5), (0.0, 4.0, -3.0), (1.0, 0.3, 2.0)),
    ((0.6, 0.4), (1.0, 1.0), (0.5, 2.0)),
    ((0.1, 0.2, 0.3, 0.4), (-5.0, -1.0, 2.0, 6.0), (0.2, 0.4, 0.8, 1.6)),
]


def forward_fit_sigma(fn) -> None:
    """Exercise 1.6: sigma of the forward-KL fit of one Gaussian to a mixture, by moment matching."""
    for weights, means, stds in FORWARD_CASES:
        w, m, s = (np.array(v) for v in (weights, means, stds))
        what = f"forward_fit_sigma(weights={list(weights)}, means={list(means)}, stds={list(stds)})"
        variance = w @ (s**2 + m**2) - (w @ m) ** 2  # E[x²] − E[x]², with E[x²] = Σ w_k (s_k² + μ_k²)
        expect_close(
            number(fn(w.copy(), m.copy(), s.copy()), "1.6", what),
            math.sqrt(variance),
            "1.6",
            what,
            rtol=1e-9,
            hint="the forward-KL fit matches p's mean and variance; Var = Σ w_k (s_k² + μ_k²) − (Σ w_k μ_k)²: the "
            "spread within the components plus the spread of their means, each weighted",
            mistakes=[(variance, "that is the variance: the answer is a standard deviation, its square root")],
        )
    passed("1.6")
