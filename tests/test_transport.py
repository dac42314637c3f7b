"""Tests for gancourse.transport: four routes to the earth mover's distance agree with scipy and each other."""

import itertools

import numpy as np
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
