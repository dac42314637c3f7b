"""KL and Jensen–Shannon divergences: discrete, Gaussian closed form, and densities by quadrature.

Kullback & Leibler (1951), "On information and sufficiency"; Lin (1991), "Divergence measures
based on the Shannon entropy". Taught in notebooks/01_kl_js_divergence.ipynb. Natural log
throughout (nats; divide by log 2 for bits). Densities are integrated with
``scipy.integrate.quad`` (adaptive Gauss–Kronrod) over the finite interval [lo, hi] you give.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy import integrate

from gancourse.validation import check_int

__all__ = ["kl", "js", "kl_gaussians", "kl_quad", "js_quad", "LOG2"]
# The quadrature helpers below (check_density, check_interval, check_densities, density_at, xlog, quad) are
# shared with gancourse.discriminator, whose value function integrates the same way.

LOG2 = math.log(2.0)  # the largest JS, in nats (1 bit)
SUM_TOL = 1e-6  # how far from 1 a distribution's total may be without normalize=True
MASS_TOL = 1e-6  # how far from 1 a density's mass over [lo, hi] may be (quadrature error, cut-off tails)
NEG_TOL = 1e-12  # a density value down to -NEG_TOL * max(1, its peak) is rounding, clipped to 0
GRID = 8193  # points on which the quadrature functions check their densities


def _distribution(x, name: str, normalize: bool, atol: float) -> np.ndarray:
    """Validate a probability vector (or a batch of them along the last axis) as float64."""
    if x is None or isinstance(x, (str, bytes, dict, set)):
        raise TypeError(f"{name} must be an array of probabilities, got {type(x).__name__}")
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    try:
        arr = np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array of probabilities, got {type(x).__name__}: {err}") from None
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype} ({type(x).__name__})")
    arr = arr.astype(np.float64)
    if arr.ndim == 0 or arr.shape[-1] == 0:
        raise ValueError(f"{name} must be a non-empty array of shape (K,) or (..., K), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got {arr}")
    if np.any(arr < 0):
        raise ValueError(f"{name} must be non-negative, got a minimum of {arr.min():.6g} in {arr}")
    total = arr.sum(axis=-1, keepdims=True)  # (..., 1)
    if normalize:
        if np.any(total == 0):
            raise ValueError(f"{name} has no mass to normalize (it sums to 0)")
        return arr / total
    if np.any(np.abs(total - 1) > atol):
        raise ValueError(
            f"{name} must sum to 1 (within {atol:g}) along its last axis, got {np.squeeze(total)}; "
            "pass normalize=True to rescale counts or weights"
        )
    return arr


def _pair(p, q, normalize: bool, atol: float) -> tuple[np.ndarray, np.ndarray]:
    p = _distribution(p, "p", normalize, atol)
    q = _distribution(q, "q", normalize, atol)
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    return p, q


def _kl_terms(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Pointwise p log(p/q): 0 where p = 0, inf where p > 0 = q."""
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = p * (np.log(p) - np.log(q))
    terms = np.where(p > 0, terms, 0.0)
    return np.where((p > 0) & (q == 0), np.inf, terms)


def _scalar(x: np.ndarray):
    return float(x) if np.ndim(x) == 0 else x


def kl(p, q, *, normalize: bool = False, atol: float = SUM_TOL):
    """KL(p‖q) = Σ p log(p/q) in nats over the last axis; inf when q = 0 where p > 0."""
    p, q = _pair(p, q, normalize, atol)  # (..., K) each
    return _scalar(np.maximum(_kl_terms(p, q).sum(axis=-1), 0.0))  # (...,); rounding clipped at 0


def js(p, q, *, normalize: bool = False, atol: float = SUM_TOL):
    """JS(p‖q) = ½KL(p‖m) + ½KL(q‖m) with m = (p+q)/2, in nats over the last axis; at most log 2."""
    p, q = _pair(p, q, normalize, atol)  # (..., K) each
    total = p + q  # (..., K); log(p/m) = log(2p/(p+q)): no m that underflows to 0 next to a tiny p
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * np.log(2 * p / total), 0.0) + np.where(q > 0, q * np.log(2 * q / total), 0.0)
    return _scalar(np.maximum(0.5 * terms.sum(axis=-1), 0.0))  # (...,)


def kl_gaussians(mu1, s1, mu2, s2):
    """Closed-form KL(N(mu1, s1²) ‖ N(mu2, s2²)) = log(s2/s1) + (s1² + (mu1−mu2)²)/(2 s2²) − ½, in nats."""
    args = {}
    for name, value in (("mu1", mu1), ("s1", s1), ("mu2", mu2), ("s2", s2)):
        try:
            arr = np.asarray(value, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError(f"{name} must be a real number or array, got {type(value).__name__}: {value!r}") from None
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite, got {value!r}")
        if name.startswith("s") and not np.all(arr > 0):
            raise ValueError(f"{name} is a standard deviation and must be positive, got {value!r}")
        args[name] = arr
    shapes = {name: arr.shape for name, arr in args.items() if arr.ndim}
    if len(set(shapes.values())) > 1:  # (2,) against (2, 1) would broadcast to a (2, 2) table of KLs
        raise ValueError(
            "mu1, s1, mu2 and s2 must be numbers or arrays of one shape (element by element), got shapes "
            + ", ".join(f"{name} {shape}" for name, shape in shapes.items())
        )
    mu1, s1, mu2, s2 = args["mu1"], args["s1"], args["mu2"], args["s2"]
    return _scalar(np.log(s2 / s1) + (s1**2 + (mu1 - mu2) ** 2) / (2 * s2**2) - 0.5)


def check_density(f, name: str, what: str = "a density: a callable x -> p(x) that accepts NumPy arrays") -> None:
    """A clear TypeError unless ``f`` is callable."""
    if not callable(f):
        raise TypeError(f"{name} must be {what}, got {f!r}")


def _log_density(f: Callable, log_f, name: str) -> Callable | None:
    """The log-density ``log_f`` if given (checked callable), else a scipy.stats distribution's logpdf, else None."""
    if log_f is not None:
        check_density(log_f, name, "a log-density: a callable x -> log p(x) that accepts NumPy arrays")
        return log_f
    owner = getattr(f, "__self__", None)  # f = norm(0, 1).pdf brings norm(0, 1).logpdf along
    if getattr(f, "__name__", None) == "pdf" and callable(getattr(owner, "logpdf", None)):
        return owner.logpdf
    return None


def _tabulate_log(log_f: Callable, name: str, x: np.ndarray, density: np.ndarray, density_name: str) -> np.ndarray:
    """log_f on the points x: real, below +inf (-inf where the density vanishes), and exp(log_f) = the density."""
    try:
        values = np.broadcast_to(np.asarray(log_f(x), dtype=np.float64), x.shape)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must return one real number per point of an array, got {type(err).__name__}: {err}"
        ) from None
    bad = np.isnan(values) | (values == np.inf)
    if np.any(bad):
        where = np.argmax(bad)
        raise ValueError(
            f"{name} must be a log-density (real or -inf) on [lo, hi], got {name}({x[where]:.6g}) = {values[where]}"
        )
    tol = 1e-9 * max(1.0, float(density.max()))
    mismatch = np.abs(np.exp(values) - density) > tol + 1e-6 * density
    if np.any(mismatch):
        where = np.argmax(mismatch)
        raise ValueError(
            f"{name} must be the log of {density_name}, but exp({name}({x[where]:.6g})) = {np.exp(values[where]):.6g} "
            f"and {density_name}({x[where]:.6g}) = {density[where]:.6g}"
        )
    return values


def _tabulate(f: Callable, name: str, x: np.ndarray) -> np.ndarray:
    """f on the points x as float64, one finite value per point, or a clear error naming ``name``."""
    try:
        values = np.asarray(f(x), dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(
            f"{name} must return real numbers for an array of points, got {type(err).__name__}: {err}"
        ) from None
    try:
        values = np.broadcast_to(values, x.shape)  # a constant density may return one number
    except ValueError:
        raise ValueError(f"{name} must return one value per point: {len(x)} points gave shape {values.shape}") from None
    if not np.all(np.isfinite(values)):
        where = np.argmax(~np.isfinite(values))
        raise ValueError(f"{name} must be finite on [lo, hi], got {name}({x[where]:.6g}) = {values[where]}")
    return values


def density_at(f: Callable, t: float, name: str, tol: float) -> float:
    """f(t) as a float, a rounding-sized negative (down to -tol) clipped to 0; a larger one is an error."""
    value = float(f(t))
    if value < 0:
        if value < -tol:
            raise ValueError(f"{name} must be a density (non-negative) on [lo, hi], got {name}({t:.6g}) = {value:.6g}")
        return 0.0
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite on [lo, hi], got {name}({t:.6g}) = {value}")
    return value


def check_densities(densities: dict, lo: float, hi: float, points, grid: int, *, full_mass: tuple) -> tuple:
    """(grid, values, rounding tolerances) of densities checked finite and >= 0 on [lo, hi], mass 1 or at most 1."""
    grid = check_int(grid, "grid", minimum=2)
    x = np.concatenate([np.linspace(lo, hi, grid), points or []])  # (grid + len(points),)
    values, tols = {}, {}
    for name, f in densities.items():
        fx = _tabulate(f, name, x)  # (len(x),)
        tols[name] = NEG_TOL * max(1.0, float(fx.max()))
        if fx.min() < -tols[name]:
            raise ValueError(
                f"{name} must be a density (non-negative) on [lo, hi], got {name}({x[np.argmin(fx)]:.6g}) = "
                f"{fx.min():.6g}"
            )
        values[name] = np.maximum(fx, 0.0)
        mass = quad(lambda t, f=f, name=name: density_at(f, t, name, tols[name]), lo, hi, points, eps=1e-10)
        full = name in full_mass
        if not ((abs(mass - 1) if full else mass - 1) <= MASS_TOL):
            order = np.argsort(x)
            on_grid = float(np.trapezoid(values[name][order], x[order]))
            if abs(on_grid - 1) < 1e-3 and abs(mass - 1) > 1e-3:  # the grid sees the mass that quad misses
                raise ValueError(
                    f"{name} has mass {on_grid:.6g} on a grid of {grid} points over [lo, hi] = [{lo:g}, {hi:g}], but "
                    f"quad finds {mass:.6g}: its peak is too narrow for quad on so wide an interval; narrow [lo, hi] "
                    "to where the mass is, or pass points= at the peak"
                )
            if full:
                raise ValueError(
                    f"{name} must be a density with mass 1 over [lo, hi] = [{lo:g}, {hi:g}] (within {MASS_TOL:g}), "
                    f"got mass {mass:.10g}; normalise it, or widen [lo, hi] to hold its mass"
                )
            raise ValueError(f"{name} must be a density (mass at most 1), got mass {mass:.10g} over [{lo:g}, {hi:g}]")
    return x, values, tols


def check_interval(lo, hi, points) -> list[float] | None:
    """Check a finite interval lo < hi; the ``points`` strictly inside it, sorted (None if none)."""
    for name, value in (("lo", lo), ("hi", hi)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"{name} must be a real number, got {type(value).__name__}: {value!r}")
        if not math.isfinite(value):
            raise ValueError(f"{name} must be finite (quadrature runs over a finite [lo, hi]), got {value}")
    if not lo < hi:
        raise ValueError(f"lo must be less than hi, got lo={lo}, hi={hi}")
    if points is None:
        return None
    inside = sorted({float(t) for t in np.atleast_1d(points) if lo < t < hi})
    return inside or None


def xlog(a: float, ratio: float) -> float:
    """a·log(ratio) with 0·log(anything) = 0 and a·log 0 = −inf for a > 0."""
    if a == 0:
        return 0.0
    return a * math.log(ratio) if ratio > 0 else -math.inf


def quad(integrand: Callable[[float], float], lo: float, hi: float, points, eps: float = 1e-11) -> float:
    """The integral of ``integrand`` over [lo, hi] by scipy.integrate.quad, to the course's tolerances."""
    value, _ = integrate.quad(integrand, lo, hi, points=points, limit=500, epsabs=eps, epsrel=1e-10)
    return float(value)


def kl_quad(
    p: Callable, q: Callable, lo: float, hi: float, *, points=None, grid: int = GRID, log_p=None, log_q=None
) -> float:
    """KL(p‖q) of two densities by scipy.integrate.quad over [lo, hi] (which must hold p's mass).

    ``points``: where p or q jumps (e.g. a uniform's ends), passed to quad. ``log_p``, ``log_q``: the
    densities' logs (callables, optional; a scipy.stats distribution's ``.pdf`` brings its ``.logpdf``
    along): where q underflows to 0 beside p's mass (a narrow Gaussian's tails), log q stays finite,
    and so does the KL. The result is inf when q (log q = -inf, if given) vanishes where p does not,
    detected on a grid of ``grid`` points (plus ``points``); without log q, a q that merely underflows
    to 0 counts as vanishing.
    """
    check_density(p, "p")
    check_density(q, "q")
    log_p, log_q = _log_density(p, log_p, "log_p"), _log_density(q, log_q, "log_q")
    points = check_interval(lo, hi, points)
    x, values, tols = check_densities({"p": p, "q": q}, lo, hi, points, grid, full_mass=("p",))
    if log_p is not None:
        _tabulate_log(log_p, "log_p", x, values["p"], "p")
    q_vanishes = values["q"] == 0 if log_q is None else _tabulate_log(log_q, "log_q", x, values["q"], "q") == -math.inf
    if np.any((values["p"] > 0) & q_vanishes):
        return math.inf

    def integrand(t: float) -> float:
        a = density_at(p, t, "p", tols["p"])
        if a == 0:
            return 0.0
        log_a = math.log(a) if log_p is None else float(log_p(t))
        if log_q is None:
            b = density_at(q, t, "q", tols["q"])
            log_b = math.log(b) if b > 0 else -math.inf
        else:
            log_b = float(log_q(t))
        return a * (log_a - log_b) if log_b > -math.inf else 0.0  # p > 0 = q was ruled out on the grid

    return max(quad(integrand, lo, hi, points), 0.0)


def js_quad(p: Callable, q: Callable, lo: float, hi: float, *, points=None, grid: int = GRID) -> float:
    """JS(p‖q) of two densities by scipy.integrate.quad over [lo, hi] (which must hold both masses).

    The densities are checked first on a grid of ``grid`` points (plus ``points``) and by their mass.
    """
    check_density(p, "p")
    check_density(q, "q")
    points = check_interval(lo, hi, points)
    _, _, tols = check_densities({"p": p, "q": q}, lo, hi, points, grid, full_mass=("p", "q"))

    def integrand(t: float) -> float:
        a, b = density_at(p, t, "p", tols["p"]), density_at(q, t, "q", tols["q"])
        return 0.5 * xlog(a, 2 * a / (a + b)) + 0.5 * xlog(b, 2 * b / (a + b)) if a + b > 0 else 0.0

    return max(quad(integrand, lo, hi, points), 0.0)
