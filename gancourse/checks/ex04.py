"""Checks for assignment 04 (solutions/04_earth_movers_distance.ipynb): the surplus, the LP, its dual, matchings."""

from __future__ import annotations

import math

import numpy as np
from scipy.optimize import linear_sum_assignment, linprog

from gancourse import transport
from gancourse.checks import as_array, expect, expect_close, fail, number, passed


def _piles(rng: np.random.Generator, n: int, m: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Two random piles of lengths n and m with the same total mass."""
    p = rng.integers(0, 6, size=n).astype(float) + rng.random(n)
    q = rng.random(m or n)
    return p, q * p.sum() / q.sum()


def _metric(rng: np.random.Generator, n: int) -> np.ndarray:
    """Euclidean distances between n random points of the plane: a metric that is not a line's."""
    pos = rng.normal(size=(n, 2))
    return np.linalg.norm(pos[:, None] - pos[None], axis=-1)  # (n, n)


def _pair_of_arrays(got, exercise: str, what: str) -> tuple[np.ndarray, np.ndarray]:
    if not (isinstance(got, (tuple, list)) and len(got) == 2):
        fail(exercise, f"{what} should return a pair (A, b), got {type(got).__name__}", "return A, b")
    return as_array(got[0], exercise, f"A from {what}"), as_array(got[1], exercise, f"b from {what}")


def running_surplus(fn) -> None:
    """Exercise 4.1: delta_0 = 0, delta_(i+1) = delta_i + p_i - q_i, all n + 1 of them."""
    rng = np.random.default_rng(41)
    cases = [(np.array([3.0, 2.0, 1.0, 4.0]), np.array([1.0, 2.0, 4.0, 3.0]))]
    cases += [_piles(rng, n) for n in (1, 5, 9)]
    for p, q in cases:
        what = f"running_surplus(p={p.round(3).tolist()}, q={q.round(3).tolist()})"
        raw = fn(p.copy(), q.copy())
        got = as_array(raw, "4.1", what)
        expected = transport.emd_1d(p, q)[1]
        if got.shape == (len(p),):
            hint = "delta has n + 1 entries: it starts with delta_0 = 0 (nothing enters cell 0 from the left)"
        elif got.shape == expected.shape and np.allclose(got, -expected):
            hint = "the sign: delta counts what P has too much, p_i - q_i, carried to the right"
        else:
            hint = "delta_0 = 0, then add p_i - q_i for i = 0, 1, ..., n-1; the last entry is 0 when the masses match"
        expect_close(raw, expected, "4.1", what, rtol=1e-9, atol=1e-9, hint=hint)
    passed("4.1")


def marginal_constraints(fn) -> None:
    """Exercise 4.2: (A_eq, b_eq) with A_eq @ gamma.ravel() = b_eq exactly when gamma's marginals are p and q."""
    rng = np.random.default_rng(42)
    for n, m in [(4, 4), (3, 5)]:
        p, q = _piles(rng, n, m)
        what = f"marginal_constraints(p, q) for {n} and {m} cells"
        a_eq, b_eq = _pair_of_arrays(fn(p.copy(), q.copy()), "4.2", what)
        expect(
            a_eq.ndim == 2 and a_eq.shape[1] == n * m,
            "4.2",
            f"A_eq should have one column per entry of the {n} x {m} plan: shape (rows, {n * m}); got {a_eq.shape}",
        )
        expect(b_eq.shape == (a_eq.shape[0],), "4.2", f"b_eq should have shape ({a_eq.shape[0]},), got {b_eq.shape}")
        independent = np.outer(p, q) / p.sum()  # (n, m): a feasible plan
        for name, plan in [
            ("the plan outer(p, q) / total", independent),
            ("an optimal plan", transport.emd_lp(p, q)[1]),
        ]:
            expect(
                np.allclose(a_eq @ plan.ravel(), b_eq, rtol=1e-9, atol=1e-9),
                "4.2",
                f"{name} has row sums p and column sums q, but A_eq @ plan.ravel() != b_eq",
                "gamma.ravel() is row-major: entry (i, j) sits at index i * m + j; rows of the plan sum to p, "
                "columns to q",
            )
        cost = 3 * rng.random((n, m))  # (n, m): not symmetric, so transposed constraints give another value
        res = linprog(cost.ravel(), A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        expect(res.status == 0, "4.2", f"the LP with your constraints failed: {res.message}")
        plan = res.x.reshape(n, m)
        expect(
            np.allclose(plan.sum(axis=1), p, atol=1e-7) and np.allclose(plan.sum(axis=0), q, atol=1e-7),
            "4.2",
            f"the cheapest plan under your constraints has row sums {plan.sum(axis=1).round(3)} (p = {p.round(3)}) "
            f"and column sums {plan.sum(axis=0).round(3)} (q = {q.round(3)})",
            "a constraint is missing: one row per cell of P (sum over j) AND one row per cell of Q (sum over i)",
        )
        expect_close(res.fun, transport.emd_lp(p, q, cost)[0], "4.2", f"the LP's optimum with {what}", rtol=1e-7)
    passed("4.2")


def lipschitz_constraints(fn) -> None:
    """Exercise 4.3: (A_ub, b_ub) with one row f_i - f_j <= cost[i, j] per ordered pair i != j."""
    rng = np.random.default_rng(43)
    line = np.abs(np.subtract.outer(np.arange(5), np.arange(5))).astype(float)  # (5, 5): |i - j|
    for name, cost in [("|i - j| on 5 cells", line), ("distances between 6 points of the plane", _metric(rng, 6))]:
        n = len(cost)
        what = f"lipschitz_constraints(cost) for {name}"
        a_ub, b_ub = _pair_of_arrays(fn(cost.copy()), "4.3", what)
        expect(
            a_ub.ndim == 2 and a_ub.shape[1] == n,
            "4.3",
            f"A_ub should have one column per potential f_i, i.e. shape (rows, {n}); got {a_ub.shape}",
        )
        expect(b_ub.shape == (a_ub.shape[0],), "4.3", f"b_ub should have shape ({a_ub.shape[0]},), got {b_ub.shape}")
        for k in range(n):  # f = +-distance to point k is 1-Lipschitz (triangle inequality): it must be allowed
            for f in (cost[k], -cost[k]):
                expect(
                    np.all(a_ub @ f <= b_ub + 1e-9),
                    "4.3",
                    f"the 1-Lipschitz potential f = ±cost[{k}] = {f.round(3)} violates your constraints ({name})",
                    "each row should say f_i - f_j <= cost[i, j]: +1 in column i, -1 in column j, cost[i, j] in b",
                )
        for _ in range(3):
            p, q = _piles(rng, n)
            res = linprog(-(p - q), A_ub=a_ub, b_ub=b_ub, bounds=[(0, 0)] + [(None, None)] * (n - 1), method="highs")
            expect(
                res.status == 0,
                "4.3",
                f"the dual LP with your constraints has no optimum ({res.message.strip()})",
                "if it is unbounded, some pair (i, j) is missing: both f_i - f_j <= c and f_j - f_i <= c are needed",
            )
            expect_close(
                -res.fun,
                transport.emd_lp(p, q, cost)[0],
                "4.3",
                f"the dual optimum with {what}",
                rtol=1e-7,
                atol=1e-9,
                hint="the dual must equal W; a larger value means too few constraints: with a general cost, "
                "neighbours are not enough, every ordered pair i != j needs its row",
            )
    passed("4.3")


def emd_assignment(fn) -> None:
    """Exercise 4.4: the total Euclidean cost of the optimal matching between two equal-size clouds."""
    rng = np.random.default_rng(44)
    base = rng.normal(size=(6, 2))
    cases = [
        ("two clouds of 8 points in 2-D", rng.normal(size=(8, 2)), rng.normal(size=(8, 2)) + [2.0, 0.0]),
        ("two clouds of 5 points in 3-D", rng.normal(size=(5, 3)), rng.normal(size=(5, 3))),
        ("a cloud and a shuffled, shifted copy", base, base[::-1] + 0.1),
    ]
    for what, a, b in cases:
        dist = np.linalg.norm(a[:, None] - b[None], axis=-1)  # (n, n)
        expected = transport.emd_points(a, b)[0]
        r, c = linear_sum_assignment(dist**2)
        expect_close(
            number(fn(a.copy(), b.copy()), "4.4", f"the EMD between {what}"),
            expected,
            "4.4",
            f"the EMD between {what}",
            rtol=1e-7,
            hint="build the (n, n) matrix of Euclidean distances and call scipy.optimize.linear_sum_assignment on it",
            mistakes=[
                (expected / len(a), "return the TOTAL cost of the matching, not the mean per point"),
                (
                    np.trace(dist),
                    "that is the cost of matching a_i with b_i: optimise the matching with linear_sum_assignment",
                ),
                ((dist[r, c] ** 2).sum(), "use the distances themselves, not their squares (that would be W2 squared)"),
            ],
        )
    passed("4.4")


# (what, hint) for each of the three numbers parallel_lines returns
PARALLEL_LINES_PARTS = (
    ("KL(P||Q)", "P puts mass where Q has none unless theta = 0, where the two are equal"),
    ("JS(P, Q)", "disjoint supports: JS = log 2 nats (not 1: that is bits); identical distributions: 0"),
    ("W(P, Q)", "every unit of mass moves straight across by |theta|: a distance, never negative, not squared"),
)


def parallel_lines(fn) -> None:
    """Exercise 4.5: (KL(P||Q), JS(P, Q), W(P, Q)) in nats for the segments x = 0 and x = theta."""
    for theta in (-2.0, -0.5, 0.0, 0.3, 1.5):
        got = fn(theta)
        shape = as_array(got, "4.5", f"parallel_lines({theta})").shape
        expect(shape == (3,), "4.5", f"parallel_lines({theta}) should return three numbers (kl, js, w)")
        expected = (0.0, 0.0, 0.0) if theta == 0 else (math.inf, math.log(2), abs(theta))
        for value, want, (name, hint) in zip(got, expected, PARALLEL_LINES_PARTS):
            expect_close(value, want, "4.5", f"{name} at theta = {theta}", rtol=1e-9, hint=hint)
    passed("4.5")
