"""The checks of assignment 01 pass the reference solutions and reject known-wrong implementations."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
from checks_suite import suite
from scipy import integrate, optimize

from gancourse.checks import CheckFailed, ex01

# ----------------------------------------------------------------------------- reference solutions


def kl_ref(p, q, *, skip_zeros=True, eps=0.0):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    support = p > 0 if skip_zeros else np.full(p.shape, True)  # without it 0·log 0 = nan
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(p[support] * np.log((p[support] + eps) / (q[support] + eps))))


def js_ref(p, q):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = (p + q) / 2
    return 0.5 * kl_ref(p, m) + 0.5 * kl_ref(q, m)


def kl_gaussians_ref(mu1, s1, mu2, s2):
    return math.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5


def kl_monte_carlo_ref(log_p, log_q, x, *, spread="standard error"):
    ratio = log_p(x) - log_q(x)
    errors = {
        "standard error": ratio.std(ddof=1) / math.sqrt(len(x)),  # the right one: the mean's
        "std": ratio.std(ddof=1),  # the samples' std, not the mean's
        "variance / n": ratio.var(ddof=1) / len(x),
    }
    return float(ratio.mean()), float(errors[spread])


def _fit(p_pdf, mu0, sigma0, objective_of):
    x = np.linspace(-12, 12, 2401)
    px = p_pdf(x)

    def objective(theta):
        mu, sigma = theta[0], math.exp(theta[1])
        qx = np.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
        return objective_of(px, qx, x)

    res = optimize.minimize(objective, [mu0, math.log(sigma0)], method="Nelder-Mead", options={"xatol": 1e-6})
    return res.x[0], math.exp(res.x[1])


def _reverse_kl(px, qx, x):
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(qx > 0, qx * (np.log(qx) - np.log(np.maximum(px, 1e-300))), 0.0)
    return integrate.trapezoid(terms, x)


def fit_reverse_kl_ref(p_pdf, mu0, sigma0):
    return _fit(p_pdf, mu0, sigma0, _reverse_kl)


def forward_fit_sigma_ref(weights, means, stds):
    mean = np.sum(weights * means)
    return math.sqrt(np.sum(weights * (stds**2 + means**2)) - mean**2)


# ----------------------------------------------------------------------------- mutants


def kl_swapped(p, q):
    return kl_ref(q, p)


def kl_log2(p, q):
    return kl_ref(p, q) / math.log(2)


def js_no_half(p, q):
    return 2 * js_ref(p, q)


def js_log2(p, q):
    return js_ref(p, q) / math.log(2)


def js_symmetrised_kl(p, q):
    return 0.5 * kl_ref(p, q) + 0.5 * kl_ref(q, p)  # Jeffreys, not JS


def js_m_is_product(p, q):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = np.sqrt(p * q)  # a geometric "mixture"
    return 0.5 * kl_ref(p, m / m.sum()) + 0.5 * kl_ref(q, m / m.sum()) if m.sum() > 0 else math.inf


def kl_gaussians_swapped(mu1, s1, mu2, s2):
    return kl_gaussians_ref(mu2, s2, mu1, s1)


def kl_gaussians_variance(mu1, s1, mu2, s2):
    return math.log(s2 / s1) + (s1 + (mu1 - mu2) ** 2) / (2 * s2) - 0.5  # s read as a variance


def kl_gaussians_no_half(mu1, s1, mu2, s2):
    return math.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2)


def mc_wrong_sign(log_p, log_q, x):
    est, se = kl_monte_carlo_ref(log_p, log_q, x)
    return -est, se


def mc_scalar(log_p, log_q, x):
    return kl_monte_carlo_ref(log_p, log_q, x)[0]


def fit_forward_kl(p_pdf, mu0, sigma0):
    return _fit(p_pdf, mu0, sigma0, lambda px, qx, x: _reverse_kl(qx, px, x))


def fit_no_entropy(p_pdf, mu0, sigma0):
    def cross_entropy(px, qx, x):
        return integrate.trapezoid(-qx * np.log(np.maximum(px, 1e-300)), x)  # −E_q log p: sigma collapses

    return _fit(p_pdf, mu0, sigma0, cross_entropy)


def fit_returns_variance(p_pdf, mu0, sigma0):
    mu, sigma = fit_reverse_kl_ref(p_pdf, mu0, sigma0)
    return mu, sigma**2


def _js(px, qx, x):
    m = (px + qx) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(px > 0, px * np.log(px / m), 0.0) + np.where(qx > 0, qx * np.log(qx / m), 0.0)
    return integrate.trapezoid(0.5 * terms, x)


def fit_js(p_pdf, mu0, sigma0):  # another mode-seeking objective: it used to pass on far-apart modes
    return _fit(p_pdf, mu0, sigma0, _js)


def fit_hard_coded(p_pdf, mu0, sigma0):  # the far target's components, nearest the start: it used to pass
    return (-2.0, 0.6) if mu0 < 0.5 else (3.0, 0.8)


def sigma_copied(weights, means, stds):  # the number the assignment's cell prints, for every mixture
    return 1.9526


def sigma_variance(weights, means, stds):  # the variance, not sigma
    return forward_fit_sigma_ref(weights, means, stds) ** 2


def sigma_between_modes(weights, means, stds):  # only the spread of the means
    return math.sqrt(np.sum(weights * means**2) - np.sum(weights * means) ** 2)


def sigma_within_modes(weights, means, stds):  # only the components' own spread
    return math.sqrt(np.sum(weights * stds**2))


def sigma_equal_weights(weights, means, stds):
    return forward_fit_sigma_ref(np.full(len(weights), 1 / len(weights)), means, stds)


def sigma_average(weights, means, stds):  # the average within-mode sigma
    return float(weights @ stds)


def sigma_unweighted_mean(weights, means, stds):  # the mixture's mean without its weights
    return math.sqrt(np.sum(weights * (stds**2 + means**2)) - np.mean(means) ** 2)


# ----------------------------------------------------------------------------- tests

CASES = {
    "kl": (
        (kl_ref,),
        [(kl_swapped,), (kl_log2,), (partial(kl_ref, skip_zeros=False),), (partial(kl_ref, eps=1e-12),)],
    ),
    "js": ((js_ref,), [(js_no_half,), (js_log2,), (js_symmetrised_kl,), (js_m_is_product,)]),
    "kl_gaussians": ((kl_gaussians_ref,), [(kl_gaussians_swapped,), (kl_gaussians_variance,), (kl_gaussians_no_half,)]),
    "kl_monte_carlo": (
        (kl_monte_carlo_ref,),
        [
            (mc_wrong_sign,),
            (partial(kl_monte_carlo_ref, spread="std"),),
            (partial(kl_monte_carlo_ref, spread="variance / n"),),
            (mc_scalar,),
        ],
    ),
    "reverse_kl_fit": (
        (fit_reverse_kl_ref,),
        [(fit_forward_kl,), (fit_no_entropy,), (fit_returns_variance,), (fit_js,), (fit_hard_coded,)],
    ),
    "forward_fit_sigma": (
        (forward_fit_sigma_ref,),
        [
            (sigma_copied,),
            (sigma_variance,),
            (sigma_between_modes,),
            (sigma_within_modes,),
            (sigma_equal_weights,),
            (sigma_average,),
            (sigma_unweighted_mean,),
        ],
    ),
}

(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(ex01, CASES, "1")


def test_package_functions_pass():
    from gancourse import divergences

    ex01.kl(divergences.kl)
    ex01.js(divergences.js)
    ex01.kl_gaussians(divergences.kl_gaussians)


def test_messages_help():
    with pytest.raises(CheckFailed) as err:
        ex01.kl(kl_swapped)
    assert "KL(q‖p)" in str(err.value) and "Hint:" in str(err.value)
    with pytest.raises(CheckFailed) as err:
        ex01.kl(kl_log2)
    assert "natural logarithm" in str(err.value)


def test_reverse_fit_names_the_js_fit():
    with pytest.raises(CheckFailed, match=r"expected mu ≈ 1.90\d, got 0.66[\s\S]*fit minimising JS"):
        ex01.reverse_kl_fit(fit_js)


@pytest.mark.parametrize("method", ["BFGS", "L-BFGS-B", "Powell"])
def test_reverse_fit_accepts_other_optimisers(method):
    """A correct fit by another local optimiser, over (mu, sigma) directly, lands on the same minima."""

    def fit(p_pdf, mu0, sigma0):
        x = np.linspace(-12, 12, 1201)
        px = p_pdf(x)

        def objective(t):
            qx = np.exp(-0.5 * ((x - t[0]) / abs(t[1])) ** 2) / (abs(t[1]) * math.sqrt(2 * math.pi))
            return _reverse_kl(px, qx, x)

        res = optimize.minimize(objective, [mu0, sigma0], method=method)
        return res.x[0], abs(res.x[1])

    ex01.reverse_kl_fit(fit)


def test_forward_fit_sigma_messages():
    with pytest.raises(CheckFailed, match="that is the variance"):
        ex01.forward_fit_sigma(sigma_variance)
    with pytest.raises(
        CheckFailed, match=r"means=\[-2.0, 2.0\].*expected 2.06155, got 1.9526"
    ):  # copied: fails elsewhere
        ex01.forward_fit_sigma(lambda w, m, s: forward_fit_sigma_ref(w, m, s) if len(w) == 2 and m[0] == -1 else 1.9526)
    with pytest.raises(CheckFailed, match="one number"):
        ex01.forward_fit_sigma(lambda w, m, s: np.array([1.0, 2.0]))
    ex01.forward_fit_sigma(lambda w, m, s: np.array([forward_fit_sigma_ref(w, m, s)]))  # a size-1 array is one number


def test_forward_cases_match_a_numerical_fit():
    """The moment-matching answer is the minimiser of the forward KL, on every mixture the check uses."""
    from gancourse import data

    x = np.linspace(-25, 25, 20001)
    for weights, means, stds in ex01.FORWARD_CASES:
        px = data.mixture_pdf_1d(x, means, stds, weights)

        def forward_kl(t, px=px):
            log_q = -0.5 * ((x - t[0]) / math.exp(t[1])) ** 2 - t[1] - 0.5 * math.log(2 * math.pi)
            return integrate.trapezoid(px * (np.log(px + 1e-300) - log_q), x)

        res = optimize.minimize(forward_kl, [0.0, 0.0], method="Nelder-Mead", options={"xatol": 1e-9, "fatol": 1e-14})
        expected = forward_fit_sigma_ref(*(np.array(v) for v in (weights, means, stds)))
        assert math.exp(res.x[1]) == pytest.approx(expected, rel=1e-4)


def _kl_float32(p, q):
    import torch

    p, q = torch.tensor(p, dtype=torch.float32), torch.tensor(q, dtype=torch.float32)
    support = p > 0
    return (p[support] * torch.log(p[support] / q[support])).sum()  # a 0-d float32 tensor


def _js_float32(p, q):
    p, q = np.asarray(p, dtype=np.float32), np.asarray(q, dtype=np.float32)
    m = (p + q) / 2

    def kl_to_m(a):
        support = a > 0
        return np.sum(a[support] * np.log(a[support] / m[support]))

    return 0.5 * kl_to_m(p) + 0.5 * kl_to_m(q)  # a np.float32


def test_float32_answers_are_held_to_float32_precision():
    """A right answer computed in float32 passes; the same mistake in float32 still fails."""
    assert _kl_float32(np.array([0.36, 0.48, 0.16]), np.full(3, 1 / 3)).item() != pytest.approx(0.0852996, rel=1e-9)
    ex01.kl(_kl_float32)
    ex01.js(_js_float32)
    with pytest.raises(CheckFailed, match="natural logarithm"):
        ex01.kl(lambda p, q: _kl_float32(p, q) / math.log(2))


def test_a_failing_message_shows_the_digits_that_differ():
    with pytest.raises(CheckFailed, match=r"expected 0\.0852996, got 0\.08529961\n"):  # equal in 6 digits
        ex01.kl(lambda p, q: kl_ref(p, q) + 1e-8)
