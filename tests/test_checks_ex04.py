"""Every check of assignment 04 passes the reference solution and rejects known-wrong implementations."""

import math

import numpy as np
import pytest
from checks_suite import cases_of, named_mistakes, suite
from scipy.optimize import linear_sum_assignment

from gancourse.checks import CheckFailed
from gancourse.checks import ex04 as check

# ---------------------------------------------------------------- reference solutions


def running_surplus(p, q):
    return np.concatenate([[0.0], np.cumsum(np.asarray(p) - np.asarray(q))])


def marginal_constraints(p, q):
    n, m = len(p), len(q)
    return np.vstack([np.kron(np.eye(n), np.ones((1, m))), np.kron(np.ones((1, n)), np.eye(m))]), np.concatenate([p, q])


def lipschitz_constraints(cost):
    n = len(cost)
    pairs = [(i, j) for i in range(n) for j in range(n) if i != j]
    a = np.zeros((len(pairs), n))
    for row, (i, j) in enumerate(pairs):
        a[row, i], a[row, j] = 1.0, -1.0
    return a, np.array([cost[i, j] for i, j in pairs])


def _distances(a, b):
    return np.linalg.norm(a[:, None] - b[None], axis=-1)


def emd_assignment(a, b):
    dist = _distances(a, b)
    r, c = linear_sum_assignment(dist)
    return dist[r, c].sum()


def parallel_lines(theta):
    return (0.0, 0.0, 0.0) if theta == 0 else (math.inf, math.log(2), abs(theta))


def test_other_correct_forms_pass():
    def surplus_loop(p, q):  # a Python loop returning a list
        delta = [0.0]
        for p_i, q_i in zip(p, q):
            delta.append(delta[-1] + p_i - q_i)
        return delta

    def constraints_loop(p, q):  # column sums first, built by loops: an equivalent system
        n, m = len(p), len(q)
        a = np.zeros((m + n, n * m))
        for j in range(m):
            a[j, [i * m + j for i in range(n)]] = 1
        for i in range(n):
            a[m + i, i * m : (i + 1) * m] = 1
        return a, np.concatenate([q, p])

    def with_a_duplicate_row(cost):  # every ordered pair, plus a repeated row
        a, b = lipschitz_constraints(cost)
        return np.vstack([a, a[:1]]), np.append(b, b[0])

    check.running_surplus(surplus_loop)
    check.marginal_constraints(constraints_loop)
    check.lipschitz_constraints(with_a_duplicate_row)
    check.parallel_lines(lambda t: [np.inf, np.log(2), np.abs(t)] if t else [0, 0, 0])


# ---------------------------------------------------------------- mutants


def _rows_only(p, q):
    a, b = marginal_constraints(p, q)
    return a[: len(p)], b[: len(p)]


def _cols_only(p, q):
    a, b = marginal_constraints(p, q)
    return a[len(p) :], b[len(p) :]


def _column_major(p, q):  # right for gamma.ravel(order="F"), wrong for the row-major plan
    n, m = len(p), len(q)
    return np.vstack([np.kron(np.ones((1, m)), np.eye(n)), np.kron(np.eye(m), np.ones((1, n)))]), np.concatenate([p, q])


def _swapped_targets(p, q):  # rows made to sum to q and columns to p
    a, _ = marginal_constraints(q, p)
    return a, np.concatenate([q, p])


def _first_cells_only(p, q):  # only the first cell of each side constrained
    a, b = marginal_constraints(p, q)
    keep = [0, len(p)]
    return a[keep], b[keep]


def _one_direction(cost):  # f_i - f_j <= c only for i < j
    n = len(cost)
    a, b = lipschitz_constraints(cost)
    keep = [row for row, (i, j) in enumerate((i, j) for i in range(n) for j in range(n) if i != j) if i < j]
    return a[keep], b[keep]


def _neighbours_only(cost):  # enough on a line with |i - j|, not for a general metric
    n = len(cost)
    rows, b = [], []
    for i in range(n - 1):
        for s, t in ((i, i + 1), (i + 1, i)):
            row = np.zeros(n)
            row[s], row[t] = 1.0, -1.0
            rows.append(row)
            b.append(cost[s, t])
    return np.array(rows), np.array(b)


def _unit_bound(cost):  # |f_i - f_j| <= 1, whatever the cost
    a, b = lipschitz_constraints(cost)
    return a, np.ones_like(b)


def _squared(cost):
    a, b = lipschitz_constraints(cost)
    return a, b**2


def _sign_flipped_b(cost):  # f_i - f_j <= -c: infeasible
    a, b = lipschitz_constraints(cost)
    return a, -b


def _squared_cost(a, b):
    dist = _distances(a, b) ** 2
    r, c = linear_sum_assignment(dist)
    return dist[r, c].sum()


# ---------------------------------------------------------------- the table: (wrong, the words its failure must hold)

TABLE = {  # check: (the right answer, [(a wrong one, the words its failure must hold), ...])
    "running_surplus": (
        running_surplus,
        [
            (lambda p, q: np.cumsum(np.asarray(p) - q), "n \\+ 1 entries"),  # no delta_0
            (lambda p, q: np.concatenate([[0.0], np.cumsum(np.asarray(q) - p)]), "the sign"),  # Q - P
            (lambda p, q: np.concatenate([[0.0, 0.0], np.cumsum(np.asarray(p) - q)[:-1]]), "delta_0 = 0"),  # shifted
            (lambda p, q: np.concatenate([[0.0], np.cumsum(np.abs(np.asarray(p) - q))]), "delta_0 = 0"),  # |p - q|
            (lambda p, q: np.concatenate([[0.0], np.asarray(p) - q]), "delta_0 = 0"),  # no running sum
        ],
    ),
    "marginal_constraints": (
        marginal_constraints,
        [
            (_rows_only, "a constraint is missing"),
            (_cols_only, "a constraint is missing"),
            (_column_major, "row-major"),
            (_swapped_targets, "shape|row-major"),
            (_first_cells_only, "a constraint is missing"),
            (lambda p, q: marginal_constraints(p, q)[0], "pair"),  # only A returned
        ],
    ),
    "lipschitz_constraints": (
        lipschitz_constraints,
        [
            (_one_direction, "no optimum|unbounded"),
            (_neighbours_only, "neighbours are not enough"),
            (_unit_bound, "violates|Exercise 4.3"),
            (_squared, "violates|Exercise 4.3"),
            (_sign_flipped_b, "violates"),
        ],
    ),
    "emd_assignment": (
        emd_assignment,
        [
            (lambda a, b: emd_assignment(a, b) / len(a), "TOTAL"),  # the mean, not the total
            (lambda a, b: np.trace(_distances(a, b)), "optimise the matching"),  # a_i with b_i
            (_squared_cost, "not their squares"),  # W2 squared
            (
                lambda a, b: _distances(a, b).min(axis=1).sum(),
                "linear_sum_assignment",
            ),  # nearest neighbours, not 1-to-1
            (lambda a, b: np.linalg.norm(a.mean(0) - b.mean(0)) * len(a), "linear_sum_assignment"),  # distance of means
        ],
    ),
    "parallel_lines": (
        parallel_lines,
        [
            (lambda t: (math.inf, math.log(2), t**2) if t else (0.0, 0.0, 0.0), "W\\(P, Q\\)"),  # |theta|^2
            (lambda t: (math.inf, math.log(2), t) if t else (0.0, 0.0, 0.0), "W\\(P, Q\\)"),  # signed theta
            (lambda t: (math.inf, 1.0, abs(t)) if t else (0.0, 0.0, 0.0), "bits"),  # JS in bits
            (lambda t: (math.inf, math.log(2), abs(t)), "KL"),  # theta = 0 treated as disjoint
            (lambda t: (math.log(2), math.log(2), abs(t)) if t else (0.0, 0.0, 0.0), "KL"),  # finite KL
            (lambda t: (math.inf, math.log(2) * abs(t), abs(t)) if t else (0.0, 0.0, 0.0), "JS"),  # JS grows with theta
            (lambda t: (math.inf, math.log(2)), "three numbers"),  # W missing
        ],
    ),
}

CASES = cases_of(TABLE)

(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(check, CASES, "4")


test_the_mistake_is_named = named_mistakes(check, TABLE)


def test_float32_answers_pass_and_an_array_message_shows_where_it_differs():
    import torch

    check.running_surplus(lambda p, q: torch.as_tensor(running_surplus(p, q), dtype=torch.float32))
    check.emd_assignment(lambda a, b: np.float32(emd_assignment(a, b)))
    check.parallel_lines(lambda theta: tuple(np.float32(v) for v in parallel_lines(theta)))

    def surplus_off_at_cell_2(p, q):
        delta = running_surplus(p, q)
        delta[2] += 1e-7
        return delta

    shown = r"expected \[ 0\. +2\. +2\. -1\. +0\.\], got \[ 0\. +2\. +2\.0000001 -1\. +0\. +\] \(largest difference at index \(2,\)\)"
    with pytest.raises(CheckFailed, match=shown):
        check.running_surplus(surplus_off_at_cell_2)
