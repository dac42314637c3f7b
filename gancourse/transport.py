"""Earth mover's distance (Wasserstein-1) on discrete piles and point clouds.

Four ways to the same number: the running-surplus recursion on a line, the transport linear
programme (Kantorovich 1942), its Kantorovich-Rubinstein dual over 1-Lipschitz potentials (the
critic of Arjovsky, Chintala & Bottou 2017, "Wasserstein GAN"), and optimal assignment for
equal-size point clouds. Taught in notebooks/04_earth_movers_distance.ipynb.

Piles are masses at positions 0, 1, ..., n-1; W is the total work (mass times distance), not
normalised by the total mass (scipy.stats.wasserstein_distance normalises to mass 1).

The two LPs are solved for unit total mass and a largest cost of 1, then scaled back: HiGHS's
feasibility tolerances are absolute (1e-7 by default), so piles of total mass 1e-8 would come out
as W = 0 and piles of mass 1,000 would miss their balance by more than the tolerance. With
``HIGHS_OPTIONS`` (its tightest tolerances) W agrees with exact solvers (POT's network simplex, the
running surplus on a line) to about 1e-10 of the total mass times the largest cost.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment, linprog

from gancourse.validation import as_float_array, check_int

# HiGHS's tightest tolerances; its presolve, run with them, calls some very spiky piles (masses of 1e-100
# beside 1) infeasible, and the LPs here are small enough to solve without it.
HIGHS_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10, "presolve": False}


def _check_pile(pile, name: str) -> np.ndarray:
    arr = as_float_array(pile, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D pile of masses, got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must have non-negative masses, got {arr} (negative at index {np.argmax(arr < 0)})")
    return arr


def _check_piles(p, q, *, same_length: bool) -> tuple[np.ndarray, np.ndarray]:
    p, q = _check_pile(p, "p"), _check_pile(q, "q")
    if same_length and p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    with np.errstate(over="ignore"):  # an overflowing sum is reported below
        total_p, total_q = p.sum(), q.sum()
    if not (np.isfinite(total_p) and np.isfinite(total_q)):
        raise ValueError(f"the total masses of p and q must be finite in float64, got {total_p} and {total_q}")
    if not np.isclose(total_p, total_q, rtol=1e-9, atol=0.0):  # relative: piles of mass 1e-12 are piles too
        raise ValueError(
            f"p and q must have the same total mass; sum(p) = {total_p:g} and sum(q) = {total_q:g} "
            f"differ by {total_p - total_q:g}"
        )
    return p, q


def _check_cost(cost, n: int, m: int) -> np.ndarray:
    if cost is None:
        return np.abs(np.arange(n)[:, None] - np.arange(m)[None, :]).astype(np.float64)  # (n, m): |i - j|
    c = as_float_array(cost, "cost")
    if c.shape != (n, m):
        raise ValueError(f"cost must have shape (len(p), len(q)) = {(n, m)}, got {c.shape}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("cost must be finite and non-negative")
    return c


def emd_1d(p, q) -> tuple[float, np.ndarray]:
    """W and the running surplus delta (length n + 1: delta_0 = 0, delta_i+1 = delta_i + p_i - q_i) of two piles."""
    p, q = _check_piles(p, q, same_length=True)
    delta = np.concatenate([[0.0], np.cumsum(p - q)])  # (n + 1,): mass carried from cell i-1 to cell i
    delta[-1] = 0.0  # exactly: equal totals (checked above) leave nothing to carry out
    return float(np.abs(delta).sum()), delta


def transport_constraints(n: int, m: int) -> np.ndarray:
    """The (n + m, n * m) matrix A with A @ plan.ravel() = (row sums, column sums) of an (n, m) plan."""
    n, m = check_int(n, "n", minimum=1), check_int(m, "m", minimum=1)
    rows = np.kron(np.eye(n), np.ones((1, m)))  # (n, n*m): sum over j of plan[i, j]
    cols = np.kron(np.ones((1, n)), np.eye(m))  # (m, n*m): sum over i of plan[i, j]
    return np.vstack([rows, cols])


def _unit_scales(p: np.ndarray, q: np.ndarray, c: np.ndarray) -> tuple[float, float]:
    """The total mass (mean of the two piles' sums) and the largest cost (1 if all are 0): the LPs' units."""
    return float(p.sum() + q.sum()) / 2, float(c.max()) or 1.0


def emd_lp(p, q, cost=None) -> tuple[float, np.ndarray]:
    """W and an optimal plan gamma (n, m) from the LP: min <cost, gamma> with gamma 1 = p, gamma^T 1 = q."""
    p, q = _check_piles(p, q, same_length=False)
    n, m = len(p), len(q)
    c = _check_cost(cost, n, m)
    mass, unit = _unit_scales(p, q, c)
    if mass == 0:
        return 0.0, np.zeros((n, m))
    b_eq = np.concatenate([p / p.sum(), q / q.sum()])  # unit mass in each pile
    res = linprog(
        (c / unit).ravel(),
        A_eq=transport_constraints(n, m),
        b_eq=b_eq,
        bounds=(0, None),
        method="highs",
        options=HIGHS_OPTIONS,
    )
    if res.status != 0:  # pragma: no cover - a balanced transport LP is always feasible and bounded
        raise RuntimeError(f"the transport LP failed: {res.message}")
    plan = np.clip(res.x.reshape(n, m), 0.0, None) * mass  # (n, m); highs may return -0.0 or -1e-17
    return float(res.fun) * mass * unit, plan


def lipschitz_constraints(cost) -> tuple[np.ndarray, np.ndarray]:
    """(A_ub, b_ub) with one row f_i - f_j <= cost[i, j] for each ordered pair i != j."""
    c = as_float_array(cost, "cost")
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise ValueError(f"cost must be a square matrix, got shape {c.shape}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError(f"cost must be finite and non-negative, got {c}")
    n = len(c)
    i, j = np.nonzero(~np.eye(n, dtype=bool))  # every ordered pair i != j
    a_ub = np.zeros((len(i), n))
    a_ub[np.arange(len(i)), i] = 1.0
    a_ub[np.arange(len(i)), j] = -1.0
    return a_ub, c[i, j]


def _check_metric(c: np.ndarray) -> None:
    tol = 1e-9 * float(c.max())  # rounding, relative to the largest cost
    if np.any(np.diag(c) != 0) or np.abs(c - c.T).max() > tol:
        raise ValueError("cost must be a metric for the Kantorovich-Rubinstein dual: symmetric, zero on the diagonal")
    for j in range(len(c)):
        excess = c - (c[:, j : j + 1] + c[j : j + 1, :])  # (n, n): c[i, k] - (c[i, j] + c[j, k])
        if excess.max() > tol:
            i, k = np.unravel_index(np.argmax(excess), excess.shape)
            raise ValueError(
                f"cost must be a metric for the Kantorovich-Rubinstein dual, but cost[{i}, {k}] = {c[i, k]:g} > "
                f"cost[{i}, {j}] + cost[{j}, {k}] = {c[i, j] + c[j, k]:g}; use emd_lp for a general cost"
            )


def emd_dual(p, q, cost=None) -> tuple[float, np.ndarray]:
    """W and an optimal potential f from the Kantorovich-Rubinstein dual: max sum f (p - q), f_i - f_j <= cost[i, j]."""
    p, q = _check_piles(p, q, same_length=True)
    n = len(p)
    c = _check_cost(cost, n, n)
    _check_metric(c)
    mass, unit = _unit_scales(p, q, c)
    if mass == 0:
        return 0.0, np.zeros(n)
    a_ub, b_ub = lipschitz_constraints(c / unit)
    bounds = [(0.0, 0.0)] + [(None, None)] * (n - 1)  # f is defined up to a constant: pin f_0 = 0
    objective = -(p / p.sum() - q / q.sum())  # unit mass in each pile
    res = linprog(
        objective,
        A_ub=a_ub if n > 1 else None,
        b_ub=b_ub if n > 1 else None,
        bounds=bounds,
        method="highs",
        options=HIGHS_OPTIONS,
    )
    if res.status != 0:  # pragma: no cover - bounded because every pair is constrained
        raise RuntimeError(f"the dual LP failed: {res.message}")
    return float(-res.fun) * mass * unit, res.x * unit


def emd_points(a, b) -> tuple[float, np.ndarray]:
    """W (total Euclidean cost, unit mass per point) between clouds a, b (n, d), and match: a[i] -> b[match[i]]."""
    a, b = as_float_array(a, "a"), as_float_array(b, "b")
    for name, arr in (("a", a), ("b", b)):
        if arr.ndim != 2:
            raise ValueError(f"{name} must be a point cloud of shape (n, d), got shape {arr.shape}")
        if len(arr) == 0:
            raise ValueError(f"{name} must not be empty")
        if arr.shape[1] == 0:
            raise ValueError(f"{name} must have at least one coordinate per point (d >= 1), got shape {arr.shape}")
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape (n, d), got {a.shape} and {b.shape}")
    dist = np.linalg.norm(a[:, None, :] - b[None, :, :], axis=-1)  # (n, n): |a_i - b_j|
    rows, match = linear_sum_assignment(dist)
    return float(dist[rows, match].sum()), match
