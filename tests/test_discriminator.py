"""gancourse.discriminator: D* = p_r/(p_r+p_g), V(G, D*) = 2·JS − 2 log 2, and the sample value."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import optimize, stats

from gancourse import discriminator as dd
from gancourse import divergences as dv

LOG2 = math.log(2)


def gauss(mu, s):
    return stats.norm(mu, s).pdf


def test_optimal_discriminator_is_the_pointwise_maximiser():
    rng = np.random.default_rng(0)
    for a, b in rng.uniform(0.01, 3.0, size=(50, 2)):
        res = optimize.minimize_scalar(
            lambda y, a=a, b=b: -(a * math.log(y) + b * math.log(1 - y)), bounds=(1e-9, 1 - 1e-9), method="bounded"
        )
        assert dd.optimal_discriminator(a, b) == pytest.approx(res.x, abs=1e-5)
        assert dd.optimal_discriminator(a, b) == pytest.approx(a / (a + b), rel=1e-15)


def test_optimal_discriminator_arrays_and_edges():
    a, b = np.array([1.0, 0.0, 2.0, 0.0]), np.array([1.0, 3.0, 0.0, 0.0])
    d = dd.optimal_discriminator(a, b)
    np.testing.assert_array_equal(d[:3], [0.5, 0.0, 1.0])
    assert math.isnan(d[3])  # undefined off both supports
    assert dd.optimal_discriminator(torch.tensor([1.0]), torch.tensor([3.0])) == pytest.approx(0.25)
    assert dd.optimal_discriminator(np.ones((2, 3)), 1.0).shape == (2, 3)
    with pytest.raises(ValueError, match="p_fake"):
        dd.optimal_discriminator([1.0], [-1.0])
    with pytest.raises(ValueError, match="matching shapes"):
        dd.optimal_discriminator(np.ones(2), np.ones(3))
    with pytest.raises(TypeError, match="p_real"):
        dd.optimal_discriminator("a", 1.0)


PAIRS = [((0, 1), (0, 1)), ((0, 1), (1, 1)), ((0, 1), (2, 0.7)), ((-1, 0.5), (1, 2)), ((0, 1), (4, 1))]


@pytest.mark.parametrize("real, fake", PAIRS)
def test_value_at_optimum_is_two_js_minus_two_log2(real, fake):
    pr, pg = gauss(*real), gauss(*fake)
    v = dd.optimal_value(pr, pg, -25, 25)
    assert v == pytest.approx(2 * dv.js_quad(pr, pg, -25, 25) - 2 * LOG2, abs=1e-9)

    # the same number from the general V(D, G) with D = D*, kept below 1 where it rounds to 1 (there p_g is
    # below 1e-16 p_r, so log(1 - D) = log(1.1e-16) instead of something lower costs nothing measurable)
    def d_star(x):
        return np.minimum(dd.optimal_discriminator(pr(x), pg(x)), np.nextafter(1.0, 0.0))

    assert dd.value_function(d_star, pr, pg, -25, 25) == pytest.approx(v, abs=1e-9)
    assert -2 * LOG2 - 1e-12 <= v <= 1e-12


def test_equal_distributions_give_minus_two_log2_and_a_half():
    p = gauss(0.5, 1.5)
    assert dd.optimal_value(p, p, -20, 20) == pytest.approx(-2 * LOG2, rel=1e-10)
    x = np.linspace(-3, 3, 7)
    np.testing.assert_allclose(dd.optimal_discriminator(p(x), p(x)), 0.5)


def test_any_other_discriminator_does_worse():
    pr, pg = gauss(0, 1), gauss(2, 0.7)
    best = dd.optimal_value(pr, pg, -20, 20)
    for d in [lambda x: 0.5 + 0 * x, lambda x: 1 / (1 + np.exp(x - 1)), lambda x: 0.9 / (1 + np.exp(2 * x - 2)) + 0.05]:
        assert dd.value_function(d, pr, pg, -20, 20) < best
    assert dd.value_function(lambda x: 0.5, pr, pg, -20, 20) == pytest.approx(-2 * LOG2)


def test_disjoint_supports_reach_zero():
    def u1(x):
        return ((np.asarray(x) >= 0) & (np.asarray(x) <= 1)).astype(float)

    def u2(x):
        return ((np.asarray(x) >= 3) & (np.asarray(x) <= 4)).astype(float)

    assert dd.optimal_value(u1, u2, -1, 5, points=[0, 1, 3, 4]) == pytest.approx(0.0, abs=1e-12)


def test_quadrature_arguments_are_checked():
    p = gauss(0, 1)
    with pytest.raises(TypeError, match="D must be"):
        dd.value_function(0.5, p, p, -5, 5)
    with pytest.raises(ValueError, match="lo must be less than hi"):
        dd.optimal_value(p, p, 1, 1)
    with pytest.raises(ValueError, match=r"D must return probabilities in \[0, 1\]"):
        dd.value_function(lambda x: 2.0, p, p, -5, 5)
    assert dd.value_function(lambda x: 0.0, p, p, -5, 5) == -math.inf  # D = 0 on real data


def test_densities_are_checked():
    p, q = gauss(0, 1), gauss(1, 1)
    with pytest.raises(ValueError, match=r"p_real must be a density \(non-negative\)"):
        dd.optimal_value(lambda x: -p(x), q, -10, 10)  # used to return -inf
    with pytest.raises(ValueError, match=r"p_fake must be a density with mass 1 .* got mass 2"):
        dd.optimal_value(p, lambda x: 2 * q(x), -10, 10)
    with pytest.raises(ValueError, match=r"p_real must be a density with mass 1 over \[lo, hi\] = \[-4, 5\]"):
        dd.optimal_value(p, q, -4, 5)  # 2·JS − 2 log 2 needs both masses in [lo, hi]
    with pytest.raises(ValueError, match="grid must be >= 2"):
        dd.optimal_value(p, q, -10, 10, grid=1)
    with pytest.raises(ValueError, match=r"p_fake must be a density \(mass at most 1\)"):
        dd.value_function(lambda x: 0.5, p, lambda x: 5 * q(x), -10, 10)
    with pytest.raises(ValueError, match=r"p_fake must be a density \(non-negative\)"):
        dd.value_function(lambda x: 0.5, p, lambda x: -q(x), -10, 10)
    # V(D, G) for any D may be taken over a part of the densities' mass
    mass = stats.norm(0, 1).cdf(5) - stats.norm(0, 1).cdf(-4) + stats.norm(1, 1).cdf(5) - stats.norm(1, 1).cdf(-4)
    assert dd.value_function(lambda x: 0.5, p, q, -4, 5) == pytest.approx(-LOG2 * mass, rel=1e-9)
