"""Tests for gancourse.transport: four routes to the earth mover's distance agree with scipy and each other."""

import itertools

import numpy as np
import ot
import pytest
import torch
from scipy.stats import wasserstein_distance

from gancourse import transport

P, Q = [3, 2, 1, 4], [1, 2, 4, 3]


def random_piles(rng, n, integer):
    if integer:
        p = rng.integers(0, 6, size=n).astype(float)
        p[0] += 1  # never empty
        q = rng.multinomial(int(p.sum()), np.full(n, 1 / n)).astype(float)
    else:
        p, q = rng.random(n), rng.random(n)
        q *= p.sum() / q.sum()
    return p, q


def scipy_w(p, q):
    """scipy normalises both piles to mass 1; times the total mass gives the work."""
    x = np.arange(len(p))
    return wasserstein_distance(x, x, p, q) * np.sum(p)


def test_the_lecture_piles():
    w, delta = transport.emd_1d(P, Q)
    assert w == 5.0
    np.testing.assert_array_equal(delta, [0, 2, 2, -1, 0])
    w_lp, plan = transport.emd_lp(P, Q)
    assert w_lp == pytest.approx(5.0, abs=1e-9)
    np.testing.assert_allclose(plan.sum(axis=1), P, atol=1e-9)
    np.testing.assert_allclose(plan.sum(axis=0), Q, atol=1e-9)
    w_dual, f = transport.emd_dual(P, Q)
    assert w_dual == pytest.approx(5.0, abs=1e-9)
    assert f @ (np.array(P) - np.array(Q)) == pytest.approx(5.0, abs=1e-9)
    assert scipy_w(P, Q) == pytest.approx(5.0, abs=1e-12)


@pytest.mark.parametrize("seed", range(40))
def test_random_piles_agree_with_scipy_and_each_other(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 13))
    p, q = random_piles(rng, n, integer=seed % 2 == 0)
    expected = scipy_w(p, q)
    w1, delta = transport.emd_1d(p, q)
    w_lp, plan = transport.emd_lp(p, q)
    w_dual, f = transport.emd_dual(p, q)
    tol = 1e-7 * max(1.0, p.sum())
    assert w1 == pytest.approx(expected, abs=tol)
    assert w_lp == pytest.approx(expected, abs=tol)
    assert w_dual == pytest.approx(expected, abs=tol)
    assert len(delta) == n + 1 and delta[0] == 0 and delta[-1] == 0
    np.testing.assert_allclose(delta[1:], np.cumsum(p - q), atol=tol)
    # the plan is feasible and costs W; the potential is 1-Lipschitz and attains W
    assert np.all(plan >= 0)
    np.testing.assert_allclose(plan.sum(axis=1), p, atol=tol)
    np.testing.assert_allclose(plan.sum(axis=0), q, atol=tol)
    i, j = np.indices(plan.shape)
    assert np.sum(plan * np.abs(i - j)) == pytest.approx(expected, abs=tol)
    assert np.all(np.abs(f[:, None] - f[None, :]) <= np.abs(i - j) + 1e-9)
    assert f @ (p - q) == pytest.approx(expected, abs=tol)


def line_cost(n):
    return np.abs(np.subtract.outer(np.arange(n), np.arange(n))).astype(float)  # (n, n): |i - j|


def spiky_piles(rng, n, alpha, zero_bins):
    """Two piles of unit mass from Dirichlet(alpha): small alpha puts nearly all mass on one cell and 1e-100 beside it."""
    p, q = rng.dirichlet(np.full(n, alpha)), rng.dirichlet(np.full(n, alpha))
    if zero_bins:
        p[rng.random(n) < 0.3] = 0.0
        p = p / p.sum() if p.sum() > 0 else np.eye(n)[0]
    return p, q


def close(w, expected, mass, max_cost, rel=1e-9):
    """W agrees to rel of the problem's scale, the total mass times the largest cost."""
    return abs(w - expected) <= rel * mass * max_cost


def test_the_issue_spiky_piles():
    # unit-mass piles that the LP called infeasible before it solved for unit mass with tight tolerances
    p = np.array([5.47e-09, 0.99967, 3.48e-06, 0.000328])
    q = np.array([9.06e-08, 5.07e-08, 3.3e-28, 0.99999986])
    p, q = p / p.sum(), q / q.sum()
    expected = ot.emd2(p, q, line_cost(4))
    assert scipy_w(p, q) == pytest.approx(expected, rel=1e-14)
    assert transport.emd_1d(p, q)[0] == pytest.approx(expected, rel=1e-14)
    assert transport.emd_lp(p, q)[0] == pytest.approx(expected, rel=1e-12)
    assert transport.emd_dual(p, q)[0] == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_spiky_tiny_and_huge_piles_agree_with_pot_and_scipy(seed):
    rng = np.random.default_rng(1900 + seed)
    for case in range(50):
        n = int(rng.integers(2, 13))
        p, q = spiky_piles(rng, n, alpha=rng.choice([0.01, 0.05, 0.2, 1.0]), zero_bins=case % 3 == 0)
        mass = 10.0 ** rng.uniform(-12, 12)
        p, q = p * mass, q * mass
        expected = ot.emd2(p / mass, q / mass, line_cost(n)) * mass  # POT's network simplex, exact up to rounding
        assert scipy_w(p, q) == pytest.approx(expected, rel=1e-12, abs=1e-14 * mass)
        assert transport.emd_1d(p, q)[0] == pytest.approx(expected, rel=1e-12, abs=1e-14 * mass)
        w_lp, plan = transport.emd_lp(p, q)
        w_dual, f = transport.emd_dual(p, q)
        assert close(w_lp, expected, mass, n - 1), (p, q, w_lp, expected)
        assert close(w_dual, expected, mass, n - 1), (p, q, w_dual, expected)
        np.testing.assert_allclose(plan.sum(axis=1), p, rtol=0, atol=1e-9 * mass)
        np.testing.assert_allclose(plan.sum(axis=0), q, rtol=0, atol=1e-9 * mass)
        assert np.all(np.abs(np.diff(f)) <= 1 + 1e-9)


@pytest.mark.parametrize("mass", [1e-300, 1e-12, 1e-8, 1.0, 1e8, 1e12, 1e300])
def test_tiny_and_huge_total_mass(mass):
    for fn in (transport.emd_1d, transport.emd_lp, transport.emd_dual):
        assert fn([mass, 0.0], [0.0, mass])[0] == pytest.approx(mass, rel=1e-12, abs=0)
        assert fn([3 * mass, 2 * mass, mass, 4 * mass], [mass, 2 * mass, 4 * mass, 3 * mass])[0] == pytest.approx(
            5 * mass, rel=1e-9, abs=0
        )


def test_piles_the_balance_check_accepts():
    p, q = [600.0, 400.0], [400.0, 600.0000004]  # totals differ by 4e-7, 4e-10 relative: within the check
    expected = scipy_w(p, q)  # scipy normalises each pile, then times sum(p)
    for fn in (transport.emd_1d, transport.emd_lp, transport.emd_dual):
        assert fn(p, q)[0] == pytest.approx(expected, rel=1e-9)


def test_empty_piles_and_zero_cost():
    for fn in (transport.emd_1d, transport.emd_lp, transport.emd_dual):
        assert fn([0.0, 0.0], [0.0, 0.0])[0] == 0.0
    w, plan = transport.emd_lp([1.0, 2.0], [2.0, 1.0], cost=np.zeros((2, 2)))
    assert w == 0.0
    np.testing.assert_allclose(plan.sum(axis=1), [1, 2], atol=1e-12)
    np.testing.assert_allclose(plan.sum(axis=0), [2, 1], atol=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_general_metric_agrees_with_pot_primal_and_dual(seed):
    rng = np.random.default_rng(1950 + seed)
    n = int(rng.integers(2, 10))
    scale = 10.0 ** rng.uniform(-8, 8)  # of the cost
    pos = rng.normal(size=(n, 2)) * scale
    cost = np.linalg.norm(pos[:, None] - pos[None], axis=-1)  # (n, n): a metric on n points of the plane
    p, q = spiky_piles(rng, n, alpha=0.3, zero_bins=seed % 2 == 0)
    plan_ot, log = ot.emd(p, q, cost, log=True)
    expected = float(np.sum(plan_ot * cost))
    assert log["u"] @ p + log["v"] @ q == pytest.approx(expected, rel=1e-9, abs=1e-12 * cost.max())
    w_lp, plan = transport.emd_lp(p, q, cost)
    w_dual, f = transport.emd_dual(p, q, cost)
    assert close(w_lp, expected, 1.0, cost.max()) and close(w_dual, expected, 1.0, cost.max())
    assert np.sum(plan * cost) == pytest.approx(w_lp, rel=1e-9, abs=1e-12 * cost.max())
    assert np.all(f[:, None] - f[None, :] <= cost + 1e-9 * cost.max())  # 1-Lipschitz: feasible for POT's dual too
    # POT's duals (u, v) give a Kantorovich-Rubinstein potential by the c-transform, g_i = min_j cost[i, j] - v_j
    g = np.min(cost - log["v"][None, :], axis=1)
    assert np.all(g[:, None] - g[None, :] <= cost + 1e-9 * cost.max())
    assert close(g @ (p - q), expected, 1.0, cost.max()) and close(f @ (p - q), expected, 1.0, cost.max())


@pytest.mark.parametrize("seed", range(10))
def test_lp_and_dual_with_a_general_metric(seed):
    rng = np.random.default_rng(100 + seed)
    n = int(rng.integers(2, 9))
    pos = rng.normal(size=(n, 2))
    cost = np.linalg.norm(pos[:, None] - pos[None], axis=-1)  # a metric on n points of the plane
    p, q = random_piles(rng, n, integer=False)
    w_lp, plan = transport.emd_lp(p, q, cost)
    w_dual, f = transport.emd_dual(p, q, cost)
    assert w_lp == pytest.approx(w_dual, abs=1e-7)  # strong duality
    assert np.all(f[:, None] - f[None, :] <= cost + 1e-9)
    assert np.sum(plan * cost) == pytest.approx(w_lp, abs=1e-9)


def test_lp_with_different_lengths_and_a_given_cost():
    w, plan = transport.emd_lp([1.0, 1.0], [2.0])
    assert w == pytest.approx(1.0) and plan.shape == (2, 1)
    squared = np.abs(np.subtract.outer(range(4), range(4))) ** 2
    p, q = [1.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 1.0]
    assert transport.emd_lp(p, q)[0] == pytest.approx(4.0)  # 0->2 and 1->3, or 0->3 and 1->2: both 4
    w, plan = transport.emd_lp(p, q, cost=squared)
    assert w == pytest.approx(8.0)  # squared: the monotone 0->2, 1->3 (4 + 4) beats 0->3, 1->2 (9 + 1)
    np.testing.assert_allclose(plan, [[0, 0, 1, 0], [0, 0, 0, 1], [0, 0, 0, 0], [0, 0, 0, 0]], atol=1e-9)


def test_squared_cost_is_not_a_metric_for_the_dual():
    cost = np.abs(np.subtract.outer(range(4), range(4))) ** 2
    with pytest.raises(ValueError, match="metric"):
        transport.emd_dual(P, Q, cost)
    with pytest.raises(ValueError, match="metric"):
        transport.emd_dual(P, Q, np.ones((4, 4)))  # non-zero diagonal


@pytest.mark.parametrize("seed", range(5))
def test_points_agree_with_brute_force(seed):
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=(6, 2)), rng.normal(size=(6, 2)) + 1
    w, match = transport.emd_points(a, b)
    best = min(sum(np.linalg.norm(a[i] - b[s[i]]) for i in range(6)) for s in itertools.permutations(range(6)))
    assert w == pytest.approx(best, rel=1e-12)
    assert sorted(match) == list(range(6))
    assert np.linalg.norm(a - b[match], axis=1).sum() == pytest.approx(w, rel=1e-12)


def test_points_in_1d_agree_with_scipy():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(50, 1)), rng.normal(1, 2, size=(50, 1))
    w, _ = transport.emd_points(a, b)
    assert w / 50 == pytest.approx(wasserstein_distance(a[:, 0], b[:, 0]), rel=1e-9)


def test_points_accept_tensors():
    a = torch.zeros(3, 2)
    b = torch.tensor([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]])
    w, _ = transport.emd_points(a, b)
    assert w == pytest.approx(6.0)


def test_parallel_lines():
    y = np.linspace(0, 1, 11)
    for theta in (-2.0, -0.5, 0.0, 0.3, 1.0):
        a = np.stack([np.zeros_like(y), y], axis=1)
        b = np.stack([np.full_like(y, theta), y], axis=1)
        w, _ = transport.emd_points(a, b)
        assert w / len(y) == pytest.approx(abs(theta), abs=1e-12)


def test_no_global_random_state_is_touched():
    state = np.random.get_state()[1].copy()
    transport.emd_lp(P, Q)
    transport.emd_points(np.zeros((3, 2)), np.ones((3, 2)))
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize("fn", [transport.emd_1d, transport.emd_lp, transport.emd_dual])
def test_bad_piles(fn):
    with pytest.raises(ValueError, match=r"p must have non-negative masses.*index 1"):
        fn([1.0, -1.0, 2.0], [1.0, 0.0, 1.0])
    with pytest.raises(ValueError, match=r"q must have non-negative"):
        fn([1.0, 1.0], [3.0, -1.0])
    with pytest.raises(ValueError, match=r"same total mass.*differ by 1"):
        fn([3.0, 2.0], [2.0, 2.0])
    with pytest.raises(ValueError, match="p must not be empty"):
        fn([], [])
    with pytest.raises(ValueError, match="p must be a 1-D pile"):
        fn([[1.0, 2.0]], [[2.0, 1.0]])
    with pytest.raises(ValueError, match="finite"):
        fn([np.nan, 1.0], [1.0, 1.0])
    with pytest.raises(TypeError, match="p must be an array of numbers"):
        fn(["a", "b"], [1.0, 1.0])
    with pytest.raises(ValueError, match=r"same total mass.*differ by -1e-12"):
        fn([1e-12, 0.0], [0.0, 2e-12])  # twice the mass: an absolute tolerance of 1e-12 let it through
    with pytest.raises(ValueError, match="same total mass"):
        fn([1e-13, 0.0], [0.0, 0.0])
    with pytest.raises(ValueError, match="total masses of p and q must be finite in float64, got inf"):
        fn([1e308, 1e308], [1e308, 1e308])  # each mass is finite, their sum is not


@pytest.mark.parametrize("fn", [transport.emd_1d, transport.emd_dual])
def test_piles_of_different_lengths(fn):
    with pytest.raises(ValueError, match=r"same shape.*\(2,\).*\(3,\)"):
        fn([1.0, 2.0], [1.0, 1.0, 1.0])


def test_bad_cost():
    with pytest.raises(ValueError, match=r"cost must have shape .*\(4, 4\)"):
        transport.emd_lp(P, Q, np.zeros((3, 4)))
    with pytest.raises(ValueError, match="cost must be finite and non-negative"):
        transport.emd_lp(P, Q, -np.ones((4, 4)))


def test_bad_point_clouds():
    with pytest.raises(ValueError, match=r"same shape.*\(3, 2\).*\(4, 2\)"):
        transport.emd_points(np.zeros((3, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"a must be a point cloud of shape \(n, d\)"):
        transport.emd_points(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="b must not be empty"):
        transport.emd_points(np.zeros((1, 2)), np.zeros((0, 2)))
    with pytest.raises(ValueError, match="a must be finite"):
        transport.emd_points(np.full((2, 2), np.inf), np.zeros((2, 2)))
    with pytest.raises(
        ValueError, match=r"a must have at least one coordinate per point \(d >= 1\), got shape \(3, 0\)"
    ):
        transport.emd_points(np.zeros((3, 0)), np.zeros((3, 0)))  # used to return W = 0


def test_constraint_builders_check_their_input():
    with pytest.raises(TypeError, match=r"n must be an int, got float \(2.0\)"):
        transport.transport_constraints(2.0, 2)
    with pytest.raises(ValueError, match="m must be >= 1, got 0"):
        transport.transport_constraints(2, 0)
    assert transport.transport_constraints(np.int64(2), 3).shape == (5, 6)
    with pytest.raises(ValueError, match="cost must be finite and non-negative"):
        transport.lipschitz_constraints([[0.0, np.nan], [1.0, 0.0]])  # used to give a NaN bound
    with pytest.raises(ValueError, match="cost must be finite and non-negative"):
        transport.lipschitz_constraints([[0.0, -1.0], [1.0, 0.0]])
    with pytest.raises(ValueError, match="cost must be a square matrix"):
        transport.lipschitz_constraints(np.zeros((2, 3)))
