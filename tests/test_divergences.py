"""gancourse.divergences against SciPy, closed forms and the identities KL and JS must satisfy."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from scipy.spatial.distance import jensenshannon
from scipy.special import rel_entr

from gancourse import divergences as dv

LOG2 = math.log(2)


def random_pairs(n, seed, zeros=False):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        k = int(rng.integers(1, 12))
        out = []
        for _ in range(2):
            w = rng.dirichlet(np.full(k, 0.7))
            if zeros:
                w[rng.random(k) < 0.3] = 0.0
                w = w / w.sum() if w.sum() > 0 else np.eye(k)[int(rng.integers(k))]
            out.append(w)
        yield out


@pytest.mark.parametrize("zeros", [False, True])
def test_kl_matches_scipy_rel_entr(zeros):
    n_inf = 0
    for p, q in random_pairs(400, seed=1 + zeros, zeros=zeros):
        expected = rel_entr(p, q).sum()
        np.testing.assert_allclose(dv.kl(p, q), expected, rtol=1e-10, atol=1e-14)
        n_inf += math.isinf(expected)
    assert (n_inf > 0) == zeros  # zero-mass cases include infinite KL


@pytest.mark.parametrize("zeros", [False, True])
def test_js_matches_scipy_jensenshannon(zeros):
    for p, q in random_pairs(400, seed=3 + zeros, zeros=zeros):
        # scipy returns the distance √JS, in nats unless base= is given
        np.testing.assert_allclose(dv.js(p, q), jensenshannon(p, q) ** 2, rtol=1e-9, atol=1e-14)
        np.testing.assert_allclose(dv.js(p, q) / LOG2, jensenshannon(p, q, base=2) ** 2, rtol=1e-9, atol=1e-14)


def test_identities_on_random_cases():
    for p, q in random_pairs(500, seed=5, zeros=True):
        assert dv.kl(p, q) >= 0
        assert dv.js(p, q) == pytest.approx(dv.js(q, p), rel=1e-12, abs=1e-15)
        assert 0 <= dv.js(p, q) <= LOG2 + 1e-15
        m = (p + q) / 2
        assert dv.js(p, q) == pytest.approx(0.5 * dv.kl(p, m) + 0.5 * dv.kl(q, m), rel=1e-12, abs=1e-15)
    p = np.array([0.2, 0.3, 0.5])
    assert dv.kl(p, p) == 0 and dv.js(p, p) == 0


def test_sqrt_js_triangle_inequality():
    rng = np.random.default_rng(6)
    for _ in range(500):
        k = int(rng.integers(2, 6))
        a, b, c = (rng.dirichlet(np.full(k, 0.5)) for _ in range(3))
        assert math.sqrt(dv.js(a, c)) <= math.sqrt(dv.js(a, b)) + math.sqrt(dv.js(b, c)) + 1e-12


@pytest.mark.parametrize("shift", [3, 10, 1000])
def test_disjoint_supports(shift):
    p, q = np.zeros(shift + 3), np.zeros(shift + 3)
    p[:3], q[shift:] = [0.2, 0.3, 0.5], [0.6, 0.3, 0.1]
    assert dv.kl(p, q) == math.inf and dv.kl(q, p) == math.inf
    assert dv.js(p, q) == pytest.approx(LOG2, rel=1e-14)


def test_subnormal_masses():
    tiny = 5e-324  # the smallest subnormal double: (tiny + 0) / 2 rounds to 0, so m must not be formed
    assert dv.js([1.0, tiny], [1.0, 0.0]) == pytest.approx(0.0, abs=1e-300)
    assert dv.kl([1.0, tiny], [1.0, 0.0]) == math.inf
    assert dv.kl([1.0, 0.0], [1.0, tiny]) == 0.0


def test_zero_mass_terms_and_infinity():
    assert dv.kl([0.5, 0.5, 0.0], [0.25, 0.25, 0.5]) == pytest.approx(LOG2)  # 0·log 0 = 0
    assert dv.kl([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert dv.kl([1.0, 0.0], [0.5, 0.5]) == pytest.approx(LOG2)


def test_batches_tensors_and_normalize():
    rng = np.random.default_rng(7)
    p, q = rng.dirichlet(np.ones(4), size=(3, 5)), rng.dirichlet(np.ones(4), size=(3, 5))  # (3, 5, 4)
    got = dv.kl(p, q)
    assert got.shape == (3, 5)
    np.testing.assert_allclose(got, rel_entr(p, q).sum(-1), rtol=1e-12)
    assert dv.js(p, q).shape == (3, 5)
    assert isinstance(dv.kl(p[0, 0], q[0, 0]), float)
    assert dv.kl(torch.tensor(p[0, 0]), torch.tensor(q[0, 0])) == pytest.approx(dv.kl(p[0, 0], q[0, 0]))
    counts_p, counts_q = np.array([3, 1, 0, 6]), np.array([2, 2, 2, 4])
    assert dv.kl(counts_p, counts_q, normalize=True) == pytest.approx(dv.kl(counts_p / 10, counts_q / 10))
    assert dv.js(counts_p, counts_q, normalize=True) == pytest.approx(jensenshannon(counts_p, counts_q) ** 2)


@pytest.mark.parametrize(
    "p, q, error, words",
    [
        ([0.5, -0.1, 0.6], [0.3, 0.3, 0.4], ValueError, ["p", "non-negative"]),
        ([0.3, 0.3, 0.4], [0.5, -0.1, 0.6], ValueError, ["q", "non-negative"]),
        ([0.5, 0.5], [0.2, 0.3, 0.5], ValueError, ["same shape", "(2,)", "(3,)"]),
        ([0.5, 0.6], [0.5, 0.5], ValueError, ["p", "sum to 1", "normalize=True"]),
        ([0.5, 0.5], [0.1, 0.1], ValueError, ["q", "sum to 1"]),
        ([0.5, math.nan], [0.5, 0.5], ValueError, ["p", "finite"]),
        (0.5, [0.5, 0.5], ValueError, ["p", "shape"]),
        ([], [], ValueError, ["p", "non-empty"]),
        ("abc", [0.5, 0.5], TypeError, ["p"]),
        ([0.5, 0.5], None, TypeError, ["q"]),
        ([True, False], [0.5, 0.5], TypeError, ["p", "real numbers"]),
    ],
)
def test_bad_input_names_the_argument(p, q, error, words):
    for fn in (dv.kl, dv.js):
        with pytest.raises(error) as err:
            fn(p, q)
        for word in words:
            assert word in str(err.value)


def test_normalize_needs_mass():
    with pytest.raises(ValueError, match="p has no mass"):
        dv.kl([0.0, 0.0], [0.5, 0.5], normalize=True)


def test_sum_tolerance():
    assert dv.kl([0.5 + 1e-9, 0.5], [0.5, 0.5]) >= 0
    with pytest.raises(ValueError):
        dv.kl([0.5 + 1e-3, 0.5], [0.5, 0.5])
    assert dv.kl([0.5 + 1e-3, 0.5], [0.5, 0.5], atol=1e-2) >= 0


def gauss(mu, s):
    return stats.norm(mu, s).pdf


GAUSS_CASES = [
    (0.0, 1.0, 1.0, 1.0),
    (0.0, 1.0, 1.0, 2.0),
    (1.0, 2.0, 0.0, 1.0),
    (-1.0, 0.5, 2.0, 3.0),
    (3, 0.2, 3, 0.3),
]


@pytest.mark.parametrize("mu1, s1, mu2, s2", GAUSS_CASES)
def test_kl_gaussians_closed_form_vs_quadrature(mu1, s1, mu2, s2):
    closed = dv.kl_gaussians(mu1, s1, mu2, s2)
    lo, hi = mu1 - 12 * s1, mu1 + 12 * s1
    assert dv.kl_quad(gauss(mu1, s1), gauss(mu2, s2), lo, hi) == pytest.approx(closed, rel=1e-8, abs=1e-12)
    # and against a fine-grid reference for the entropy form: KL = −H(p) − E_p log q
    entropy = stats.norm(mu1, s1).entropy()
    cross = stats.norm(mu1, s1).expect(lambda x: -stats.norm(mu2, s2).logpdf(x))
    assert closed == pytest.approx(cross - entropy, rel=1e-7)


def test_kl_gaussians_values_and_errors():
    assert dv.kl_gaussians(0, 1, 1, 1) == pytest.approx(0.5)
    assert dv.kl_gaussians(2.0, 3.0, 2.0, 3.0) == 0
    np.testing.assert_allclose(dv.kl_gaussians(np.array([0.0, 1.0]), 1.0, 0.0, 1.0), [0.0, 0.5])
    with pytest.raises(ValueError, match="s2"):
        dv.kl_gaussians(0, 1, 0, 0)
    with pytest.raises(ValueError, match="s1"):
        dv.kl_gaussians(0, -1, 0, 1)
    with pytest.raises(ValueError, match="mu1"):
        dv.kl_gaussians(math.inf, 1, 0, 1)
    with pytest.raises(TypeError, match="mu2"):
        dv.kl_gaussians(0, 1, "zero", 1)
    with pytest.raises(ValueError, match=r"arrays of one shape .* mu1 \(2,\), s1 \(2, 1\)"):
        dv.kl_gaussians([0, 1], [[1], [2]], 0, 1)  # used to broadcast to a (2, 2) table
    assert dv.kl_gaussians([0.0, 1.0], [1.0, 1.0], 0.0, 1.0).shape == (2,)  # numbers beside arrays are fine


def scipy_kl_quad(p, q, lo, hi):
    """The oracle: scipy's quad of p (log p - log q) from scipy.stats' own logpdf, which never underflows."""
    value, _ = integrate.quad(lambda x: p.pdf(x) * (p.logpdf(x) - q.logpdf(x)), lo, hi, limit=500, epsrel=1e-12)
    return value


def test_kl_quad_where_q_underflows_in_the_tails():
    p, q = stats.norm(0, 1), stats.norm(0, 0.05)  # q = 0 in float64 beyond |x| = 1.93, where p is still 0.06
    expected = scipy_kl_quad(p, q, -6, 6)
    assert expected == pytest.approx(196.5042528, rel=1e-9)  # the closed form 196.50427 less p's tails beyond ±6
    assert dv.kl_quad(p.pdf, q.pdf, -6, 6) == pytest.approx(expected, rel=1e-10)  # .pdf brings .logpdf along
    p_pdf, q_pdf = (lambda x: p.pdf(x)), (lambda x: q.pdf(x))  # plain callables: no logpdf to find
    assert dv.kl_quad(p_pdf, q_pdf, -6, 6) == math.inf  # q vanishes where p does not, as far as float64 can tell
    assert dv.kl_quad(p_pdf, q_pdf, -6, 6, log_q=q.logpdf) == pytest.approx(expected, rel=1e-10)
    assert dv.kl_quad(p_pdf, q_pdf, -6, 6, log_p=p.logpdf, log_q=q.logpdf) == pytest.approx(expected, rel=1e-10)
    # a q that truly vanishes where p has mass is still inf with its log: log 0 = -inf
    uni = stats.uniform(-1, 2)
    assert dv.kl_quad(p.pdf, uni.pdf, -6, 6, points=[-1, 1]) == math.inf


def fast_gauss(mu, s):
    """N(mu, s^2)'s density and log-density as NumPy expressions (scipy.stats' scalar calls are slow in quad)."""
    log_pdf = lambda x: -0.5 * ((np.asarray(x) - mu) / s) ** 2 - math.log(s * math.sqrt(2 * math.pi))  # noqa: E731
    return (lambda x: np.exp(log_pdf(x))), log_pdf


def test_kl_quad_random_gaussians_against_scipy_and_the_closed_form():
    rng = np.random.default_rng(190)
    n_underflow = 0
    for _ in range(60):
        mu1, mu2 = rng.normal(0, 2, size=2)
        s1, s2 = np.exp(rng.uniform(-3, 1, size=2))
        (p, log_p), (q, log_q) = fast_gauss(mu1, s1), fast_gauss(mu2, s2)
        lo, hi = mu1 - 6 * s1, mu1 + 6 * s1
        n_underflow += bool(np.any(q(np.linspace(lo, hi, 1001)) == 0))
        got = dv.kl_quad(p, q, lo, hi, log_p=log_p, log_q=log_q)
        P, Q = stats.norm(mu1, s1), stats.norm(mu2, s2)
        expected = P.expect(lambda x, P=P, Q=Q: P.logpdf(x) - Q.logpdf(x), lb=lo, ub=hi, epsrel=1e-12, limit=500)
        assert math.isfinite(got) and got == pytest.approx(expected, rel=1e-8, abs=1e-12)
        wide = dv.kl_quad(p, q, mu1 - 12 * s1, mu1 + 12 * s1, log_q=log_q)  # p's tails beyond 12 std: below 1e-32
        assert wide == pytest.approx(dv.kl_gaussians(mu1, s1, mu2, s2), rel=1e-8, abs=1e-12)
    assert n_underflow >= 10  # the cases where q alone came out inf


def test_kl_quad_checks_its_log_densities():
    p, q = stats.norm(0, 1), stats.norm(1, 1)
    with pytest.raises(TypeError, match="log_q must be a log-density: a callable"):
        dv.kl_quad(p.pdf, q.pdf, -10, 10, log_q=0.5)
    with pytest.raises(ValueError, match=r"log_q must be the log of q, but exp\(log_q\(-10\)\) = "):
        dv.kl_quad(p.pdf, q.pdf, -10, 10, log_q=stats.norm(0, 2).logpdf)  # another distribution's log
    with pytest.raises(ValueError, match=r"log_p must be the log of p"):
        dv.kl_quad(p.pdf, q.pdf, -10, 10, log_p=p.pdf)  # a density where its log belongs
    with pytest.raises(
        ValueError, match=r"log_p must be a log-density \(real or -inf\) on \[lo, hi\], got log_p\(-10\) = nan"
    ):
        dv.kl_quad(p.pdf, q.pdf, -10, 10, log_p=lambda x: np.full_like(x, np.nan))
    with pytest.raises(TypeError, match="log_q must return one real number per point"):
        dv.kl_quad(p.pdf, q.pdf, -10, 10, log_q=lambda x: "log")


def test_js_quad_gaussians_vs_fine_grid():
    x = np.linspace(-20, 20, 400_001)
    for mu1, s1, mu2, s2 in GAUSS_CASES:
        log_p, log_q = stats.norm(mu1, s1).logpdf(x), stats.norm(mu2, s2).logpdf(x)
        log_m = np.logaddexp(log_p, log_q) - LOG2
        terms = 0.5 * np.exp(log_p) * (log_p - log_m) + 0.5 * np.exp(log_q) * (log_q - log_m)
        grid = integrate.trapezoid(terms, x)  # the trapezoid rule in log space, on a fine grid
        got = dv.js_quad(gauss(mu1, s1), gauss(mu2, s2), -20, 20)
        assert got == pytest.approx(grid, rel=1e-6, abs=1e-10)
        assert got == pytest.approx(dv.js_quad(gauss(mu2, s2), gauss(mu1, s1), -20, 20), rel=1e-9)
        assert 0 <= got <= LOG2


def uniform(lo, hi):
    return lambda x: ((np.asarray(x) >= lo) & (np.asarray(x) <= hi)) / (hi - lo)


@pytest.mark.parametrize("theta", [0.0, 0.25, 0.5, 0.9, 1.0, 1.5, 4.0, 100.0])
def test_quadrature_on_shifted_uniforms(theta):
    p, q = uniform(0.0, 1.0), uniform(theta, theta + 1)
    points = [0.0, 1.0, theta, theta + 1]
    assert dv.js_quad(p, q, -1, theta + 2, points=points) == pytest.approx(min(theta, 1) * LOG2, abs=1e-8)
    assert dv.kl_quad(p, q, -1, theta + 2, points=points) == (0.0 if theta == 0 else math.inf)


def test_quadrature_bad_input():
    p = gauss(0, 1)
    with pytest.raises(TypeError, match="p must be a density"):
        dv.kl_quad([0.1, 0.2], p, -5, 5)
    with pytest.raises(TypeError, match="q must be a density"):
        dv.js_quad(p, None, -5, 5)
    with pytest.raises(ValueError, match="lo must be less than hi"):
        dv.kl_quad(p, p, 5, -5)
    with pytest.raises(ValueError, match="hi must be finite"):
        dv.js_quad(p, p, 0, math.inf)
    with pytest.raises(ValueError, match="non-negative"):
        dv.kl_quad(lambda x: np.sin(x), p, -5, 5)


def test_quadrature_checks_the_densities():
    p, q = gauss(0, 1), gauss(1, 1)
    with pytest.raises(ValueError, match=r"p must be a density \(non-negative\) on \[lo, hi\], got p\(0\) = -0.39"):
        dv.js_quad(lambda x: -p(x), q, -10, 10)  # used to return 0.0
    with pytest.raises(ValueError, match=r"p must be a density with mass 1 .* got mass 5;"):
        dv.js_quad(lambda x: 5 * p(x), q, -10, 10)  # used to return 0.921 > log 2
    with pytest.raises(ValueError, match=r"q must be a density with mass 1 .* got mass 0.2;"):
        dv.js_quad(p, lambda x: 0.2 * q(x), -10, 10)
    with pytest.raises(ValueError, match=r"p must be a density with mass 1 over \[lo, hi\] = \[-2, 2\].*widen"):
        dv.kl_quad(p, q, -2, 2)  # [lo, hi] does not hold p's mass
    with pytest.raises(ValueError, match=r"q must be a density \(mass at most 1\), got mass 3"):
        dv.kl_quad(p, lambda x: 3 * q(x), -10, 10)
    with pytest.raises(ValueError, match="grid must be >= 2, got 0"):
        dv.kl_quad(p, q, -10, 10, grid=0)  # used to return a number from no grid at all
    with pytest.raises(TypeError, match="grid must be an int"):
        dv.js_quad(p, q, -10, 10, grid=100.0)
    with pytest.raises(ValueError, match=r"q must be finite on \[lo, hi\], got q\(3.0.*\) = nan"):
        dv.js_quad(p, lambda x: np.where(np.asarray(x) > 3, np.nan, q(x)), -10, 10)
    with pytest.raises(ValueError, match="p must return one value per point"):
        dv.js_quad(lambda x: np.ones(2), q, -10, 10)
    with pytest.raises(TypeError, match="p must return real numbers for an array of points"):
        dv.kl_quad(lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi), q, -10, 10)  # not vectorised


def test_quadrature_says_when_a_peak_is_too_narrow_for_it():
    narrow = gauss(20.0, 0.05)  # quad's first nodes on [-30, 30] all miss it; the check grid does not
    with pytest.raises(ValueError, match=r"p has mass 1 on a grid .* but quad finds .*too narrow"):
        dv.js_quad(narrow, narrow, -30, 30)
    assert dv.js_quad(narrow, narrow, 19, 21) == 0.0  # on an interval that fits it


def test_quadrature_accepts_what_it_should():
    # KL needs only p's mass in [lo, hi]: q = N(2, 3²) has 84 % of its mass in [-7, 5]
    closed = dv.kl_gaussians(-1.0, 0.5, 2.0, 3.0)
    assert dv.kl_quad(gauss(-1.0, 0.5), gauss(2.0, 3.0), -7, 5) == pytest.approx(closed, rel=1e-8)
    # a constant density, and rounding-sized negatives (clipped to 0)
    assert dv.js_quad(lambda x: 1.0, lambda x: 1.0, 0, 1) == 0.0
    p = gauss(0, 1)
    assert dv.js_quad(lambda x: p(x) - 1e-18, p, -10, 10) == pytest.approx(0.0, abs=1e-12)
    # a mass within MASS_TOL of 1: N(0, 1) over ±5.5 standard deviations (mass 1 - 3.8e-8)
    assert dv.js_quad(p, p, -5.5, 5.5) == pytest.approx(0.0, abs=1e-12)
    # the pointwise check inside the integrand: rounding is clipped, a real negative value is an error
    assert dv.density_at(lambda t: -1e-13, 0.0, "p", 1e-12) == 0.0
    with pytest.raises(ValueError, match=r"p must be a density \(non-negative\) on \[lo, hi\], got p\(0.5\) = -0.001"):
        dv.density_at(lambda t: -1e-3, 0.5, "p", 1e-12)
