"""The checks of assignment 01 pass the reference solutions and reject known-wrong implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from checks_suite import suite
from scipy import integrate, optimize

from gancourse.checks import CheckFailed, ex01

# ----------------------------------------------------------------------------- reference solutions


def kl_ref(p, q):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    support = p > 0
    with np.errstate(divide="ignore"):
        return float(np.sum(p[support] * np.log(p[support] / q[support])))


def js_ref(p, q):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = (p + q) / 2
    return 0.5 * kl_ref(p, m) + 0.5 * kl_ref(q, m)


def kl_gaussians_ref(mu1, s1, mu2, s2):
    return math.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5


def kl_monte_carlo_ref(log_p, log_q, x):
    ratio = log_p(x) - log_q(x)
    return float(ratio.mean()), float(ratio.std(ddof=1) / math.sqrt(len(x)))


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


# ----------------------------------------------------------------------------- mutants


def kl_swapped(p, q):
    return kl_ref(q, p)


def kl_log2(p, q):
    return kl_ref(p, q) / math.log(2)


def kl_no_zero_handling(p, q):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.sum(p * np.log(p / q)))  # 0·log 0 = nan


def kl_epsilon(p, q):
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    return float(np.sum(p * np.log((p + 1e-12) / (q + 1e-12))))  # finite where it must be inf


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


def mc_no_sqrt_n(log_p, log_q, x):
    ratio = log_p(x) - log_q(x)
    return float(ratio.mean()), float(ratio.std(ddof=1))  # the samples' std, not the mean's


def mc_variance(log_p, log_q, x):
    ratio = log_p(x) - log_q(x)
    return float(ratio.mean()), float(ratio.var(ddof=1) / len(x))


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


# ----------------------------------------------------------------------------- tests

CASES = {
    "kl": ((kl_ref,), [(kl_swapped,), (kl_log2,), (kl_no_zero_handling,), (kl_epsilon,)]),
    "js": ((js_ref,), [(js_no_half,), (js_log2,), (js_symmetrised_kl,), (js_m_is_product,)]),
    "kl_gaussians": ((kl_gaussians_ref,), [(kl_gaussians_swapped,), (kl_gaussians_variance,), (kl_gaussians_no_half,)]),
    "kl_monte_carlo": ((kl_monte_carlo_ref,), [(mc_wrong_sign,), (mc_no_sqrt_n,), (mc_variance,), (mc_scalar,)]),
    "reverse_kl_fit": (
        (fit_reverse_kl_ref,),
        [(fit_forward_kl,), (fit_no_entropy,), (fit_returns_variance,), (fit_js,), (fit_hard_coded,)],
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


def test_forward_fit_answer():
    weights, means, stds = np.array([0.25, 0.75]), np.array([-1.0, 3.0]), np.array([0.5, 1.0])
    variance = weights @ (stds**2 + means**2) - (weights @ means) ** 2
    ex01.answer_forward_fit_sigma(math.sqrt(variance))
    ex01.answer_forward_fit_sigma(np.float64(math.sqrt(variance)) + 5e-4)
    wrong = [
        variance,  # the variance, not sigma
        math.sqrt(weights @ means**2 - (weights @ means) ** 2),  # between-mode spread only
        math.sqrt(0.5 * (stds**2 + means**2).sum() - (means.mean()) ** 2),  # equal weights
        float(stds @ weights),  # the average within-mode sigma
    ]
    for answer in wrong:
        with pytest.raises(CheckFailed, match="Exercise 1.6"):
            ex01.answer_forward_fit_sigma(answer)
    with pytest.raises(CheckFailed, match="number"):
        ex01.answer_forward_fit_sigma("2.0 or so")
