"""The GAN value function V(D, G) and the optimal discriminator D* = p_r / (p_r + p_g).

Goodfellow et al. (2014), "Generative Adversarial Nets", Proposition 1 and Theorem 1:
V(G, D*) = 2·JS(p_r‖p_g) − 2 log 2. Taught in notebooks/02_optimal_discriminator.ipynb.
Integrals use ``scipy.integrate.quad`` over a finite [lo, hi], as in gancourse.divergences. The
sample estimate of V on a batch is minus gancourse.losses.d_loss (the discriminator's BCE loss).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from gancourse.divergences import GRID, check_densities, check_density, check_interval, density_at, quad, xlog
from gancourse.validation import as_float_array

__all__ = ["optimal_discriminator", "value_function", "optimal_value"]


def _densities(x, name: str) -> np.ndarray:
    arr = as_float_array(x, name, "density values (a number or an array)")
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise ValueError(f"{name} must hold finite, non-negative density values, got {arr}")
    return arr


def optimal_discriminator(p_real, p_fake):
    """D*(x) = p_r(x) / (p_r(x) + p_g(x)) from density values; nan where both vanish (D* is undefined)."""
    a, b = _densities(p_real, "p_real"), _densities(p_fake, "p_fake")
    try:
        a, b = np.broadcast_arrays(a, b)
    except ValueError:
        raise ValueError(f"p_real and p_fake must have matching shapes, got {a.shape} and {b.shape}") from None
    with np.errstate(invalid="ignore"):
        d = a / (a + b)  # same shape as the inputs
    return float(d) if d.ndim == 0 else d


def value_function(
    D: Callable, p_real: Callable, p_fake: Callable, lo: float, hi: float, *, points=None, grid: int = GRID
) -> float:
    """V(D, G) = ∫ p_r log D + p_g log(1 − D) dx by quadrature, for a discriminator x -> D(x) in [0, 1].

    A D that rounds to exactly 0 (or 1) where p_r (or p_g) has mass makes V = −inf: keep [lo, hi] to
    where both densities are comparable (so the densities' mass over [lo, hi] may be below 1 here),
    or use optimal_value() for D*. The densities are checked on a grid of ``grid`` points.
    """
    check_density(D, "D", "a discriminator: a callable x -> D(x) in [0, 1]")
    for f, name in ((p_real, "p_real"), (p_fake, "p_fake")):
        check_density(f, name)
    points = check_interval(lo, hi, points)
    _, _, tols = check_densities({"p_real": p_real, "p_fake": p_fake}, lo, hi, points, grid, full_mass=())

    def integrand(t: float) -> float:
        a, b = density_at(p_real, t, "p_real", tols["p_real"]), density_at(p_fake, t, "p_fake", tols["p_fake"])
        d = float(D(t))
        if not 0.0 <= d <= 1.0:
            raise ValueError(
                f"D must return probabilities in [0, 1], got D({t:.6g}) = {d!r}; apply a sigmoid to logits"
            )
        return xlog(a, d) + xlog(b, 1.0 - d)  # −inf where D = 0 on p_r's mass or D = 1 on p_g's

    return quad(integrand, lo, hi, points)


def optimal_value(p_real: Callable, p_fake: Callable, lo: float, hi: float, *, points=None, grid: int = GRID) -> float:
    """V(G, D*) = max_D V(D, G) by quadrature over [lo, hi] (which must hold both masses); equals 2·JS − 2 log 2."""
    for f, name in ((p_real, "p_real"), (p_fake, "p_fake")):
        check_density(f, name)
    points = check_interval(lo, hi, points)
    _, _, tols = check_densities(
        {"p_real": p_real, "p_fake": p_fake}, lo, hi, points, grid, full_mass=("p_real", "p_fake")
    )

    def integrand(t: float) -> float:
        a, b = density_at(p_real, t, "p_real", tols["p_real"]), density_at(p_fake, t, "p_fake", tols["p_fake"])
        return xlog(a, a / (a + b)) + xlog(b, b / (a + b)) if a + b > 0 else 0.0

    return quad(integrand, lo, hi, points)
