"""Checks for assignment 03 (solutions/03_xy_game.ipynb): the xy game's updates, spectral radius, Dirac-GAN, growth."""

from __future__ import annotations

import math

import numpy as np

from gancourse import games
from gancourse.checks import as_array, expect, expect_close, fail, number, passed

POINTS = [(1.0, 0.0, 0.1), (0.7, -1.3, 0.25), (-2.0, 0.5, 0.5), (0.3, 0.9, 1.2)]  # (x, y, lr)


def _pair(got, exercise: str, what: str):
    """``got``, once it is two numbers (a pair, array or tensor of shape (2,)); else a failed check."""
    arr = as_array(got, exercise, what)
    expect(
        arr.shape == (2,),
        exercise,
        f"{what} should return two numbers (x_new, y_new), got shape {arr.shape}",
        "return a tuple: return x_new, y_new",
    )
    return got


def _simultaneous_mistakes(x: float, y: float, lr: float) -> list:
    """(what a known mistake returns from (x, y) with step lr, the hint that names it) for one simultaneous step."""
    x_alt = x - lr * y
    return [
        (
            (x_alt, y + lr * x_alt),
            "y used the NEW x: that is the alternating update; both players must read the old (x, y)",
        ),
        ((x - lr * y, y - lr * x), "y must ASCEND: y <- y + lr * df/dy with df/dy = x"),
        ((x + lr * y, y + lr * x), "x must DESCEND: x <- x - lr * df/dx with df/dx = y"),
        ((x - lr * x, y + lr * y), "df/dx = y and df/dy = x: each player's gradient is the OTHER player's position"),
    ]


def _extragradient_mistakes(x: float, y: float, lr: float) -> list:
    """(what a known mistake returns, the hint that names it) for one extragradient step."""
    xh, yh = x - lr * y, y + lr * x
    return [
        ((xh, yh), "that is a plain simultaneous step: the second step must use the gradient AT the look-ahead point"),
        (
            (xh - lr * yh, yh + lr * xh),
            "that is two simultaneous steps: step from the OLD point (x, y), with the look-ahead's gradient",
        ),
        (
            (x - lr * xh, y + lr * yh),
            "the look-ahead's gradient is (df/dx, df/dy) = (y_half, x_half): x descends along y_half",
        ),
    ]


def _expect_step(fn, exercise: str, method: str, hint: str, mistakes_at) -> None:
    """fn(x, y, lr) is one step of ``method`` from each of POINTS; a known mistake is named."""
    for x, y, lr in POINTS:
        what = f"{method}_step(x={x}, y={y}, lr={lr})"
        expect_close(
            _pair(fn(x, y, lr), exercise, what),
            games.simulate((x, y), 1, lr, method)[1],
            exercise,
            what,
            rtol=1e-9,
            atol=1e-12,
            hint=hint,
            mistakes=mistakes_at(x, y, lr),
        )


def simultaneous_step(fn) -> None:
    """Exercise 3.1: one step of simultaneous gradient descent-ascent on f = x*y."""
    hint = "x_new = x - lr * y and y_new = y + lr * x, both from the old (x, y)"
    _expect_step(fn, "3.1", "simultaneous", hint, _simultaneous_mistakes)
    passed("3.1")


def extragradient_step(fn) -> None:
    """Exercise 3.2: one extragradient step on f = x*y (look ahead, then step from the old point)."""
    hint = "x_half, y_half = x - lr*y, y + lr*x; then x - lr*y_half, y + lr*x_half"
    _expect_step(fn, "3.2", "extragradient", hint, _extragradient_mistakes)
    passed("3.2")


def spectral_radius(fn) -> None:
    """Exercise 3.3: the spectral radius (largest eigenvalue modulus) of a square matrix."""
    cases = [
        ("the simultaneous step, lr = 0.1", games.update_matrix(0.1, "simultaneous")),
        ("the simultaneous step, lr = 0.5", games.update_matrix(0.5, "simultaneous")),
        ("a matrix with real eigenvalues -2 and 1", np.array([[-2.0, 0.0], [0.0, 1.0]])),
        ("a non-normal matrix [[0.5, 10], [0, 0.5]]", np.array([[0.5, 10.0], [0.0, 0.5]])),
        ("optimistic GDA's 4x4 step, lr = 0.3", games.update_matrix(0.3, "optimistic")),
    ]
    for what, matrix in cases:
        expect_close(
            number(fn(matrix.copy()), "3.3", f"the spectral radius of {what}"),
            games.spectral_radius(matrix),
            "3.3",
            f"the spectral radius of {what}",
            rtol=1e-6,
            atol=1e-9,
            hint="take np.linalg.eigvals and the largest MODULUS np.abs(...): eigenvalues can be complex or negative",
            mistakes=[
                (
                    np.linalg.norm(matrix, 2),
                    "that is the largest SINGULAR value (the 2-norm); the spectral radius uses the eigenvalues",
                )
            ],
        )
    passed("3.3")


_SAFE_SLOPE_HINT = (
    "math.exp(t) overflows for t > 709: write f'(t) = 1 / (1 + e^t) with exp of a non-positive number only, or as "
    "0.5 * (1 - math.tanh(t / 2))"
)


def dirac_gan_grad(fn) -> None:
    """Exercise 3.4: the Dirac-GAN's gradients (dL/dtheta, d(L - gp_weight/2 psi^2)/dpsi), numerically safe."""
    cases = [(1.0, 1.0, 0.0), (0.5, -2.0, 0.0), (-1.5, 0.8, 1.0), (2.0, 3.0, 0.3), (0.0, -1.0, 2.0)]
    cases += [(30.0, 30.0, 0.0), (30.0, -30.0, 0.5), (-25.0, 40.0, 1.0)]  # psi * theta = 900, -900, -1000
    for theta, psi, gp_weight in cases:
        what = f"dirac_gan_grad(theta={theta}, psi={psi}, gp_weight={gp_weight})"
        try:
            got = fn(theta, psi, gp_weight)
        except (OverflowError, FloatingPointError) as err:
            fail(
                "3.4", f"{what} raised {type(err).__name__} ({err}) at psi * theta = {psi * theta:g}", _SAFE_SLOPE_HINT
            )
        large = abs(psi * theta) > 700
        expect_close(
            _pair(got, "3.4", what),
            games.dirac_gan_grad(gp_weight)(theta, psi),
            "3.4",
            what,
            rtol=1e-6,
            atol=1e-9,
            hint=_SAFE_SLOPE_HINT + " (a NaN or inf here comes from exp(t) / (1 + exp(t)) = inf / inf)"
            if large
            else "f'(t) = 1 / (1 + exp(t)) for f(t) = -log(1 + exp(-t)); dL/dtheta = psi f'(psi theta), "
            "dL/dpsi = theta f'(psi theta); the penalty gp_weight/2 * psi^2 is SUBTRACTED from the "
            "discriminator's objective, so its gradient -gp_weight * psi enters only the psi component",
        )
    passed("3.4")


# (lr, factor) for 3.5, none of them within 0.1 of a tie (2 log(factor) / log(1 + lr^2) an integer); the first is
# the case the assignment's cell simulates and prints, so it proves nothing on its own
GROWTH_CASES = [(0.1, 2.0), (0.05, 10.0), (0.3, 5.0), (0.5, 3.0), (1.0, 100.0), (0.2, 1.1), (0.02, 1.5), (0.3, 1.0)]


def _steps_to_grow(lr: float, factor: float) -> int:
    return math.ceil(2 * math.log(factor) / math.log1p(lr**2))  # (1 + lr^2)^(t/2) >= factor


def steps_to_grow(fn) -> None:
    """Exercise 3.5: the fewest simultaneous steps of size lr after which the radius has grown by ``factor``."""
    for lr, factor in GROWTH_CASES:
        what = f"steps_to_grow(lr={lr}, factor={factor})"
        exact = 2 * math.log(factor) / math.log1p(lr**2)
        round_up = "the fewest WHOLE steps after which the radius is at least factor times the start's: round up"
        expect_close(
            number(fn(lr, factor), "3.5", what),
            _steps_to_grow(lr, factor),
            "3.5",
            what,
            atol=1e-9,
            hint="each step multiplies the radius by EXACTLY sqrt(1 + lr^2); solve (1 + lr^2)^(t/2) >= factor for the "
            "smallest integer t (the approximation exp(lr^2 t / 2) is close, but not exact)",
            mistakes=[(exact, round_up), (math.floor(exact), round_up)],
        )
    passed("3.5")
