"""Two-player games played by gradient steps: the bilinear xy game and the Dirac-GAN.

The xy game min_x max_y x*y under simultaneous and alternating gradient descent-ascent, the
extragradient method (Korpelevich 1976) and optimistic GDA (Daskalakis, Ilyas, Syrgkanis & Zeng
2018, "Training GANs with Optimism"); the Dirac-GAN of Mescheder, Geiger & Nowozin 2018, "Which
Training Methods for GANs do actually Converge?", under the saturating, non-saturating and WGAN
losses, with a zero-centred (R1) or one-centred (WGAN-GP) gradient penalty, or with instance noise.
Taught in notebooks/03_xy_game.ipynb.

Convention: a game is given by its gradient field ``grad(x, y) -> (gx, gy)``; player x descends
(x <- x - lr * gx) and player y ascends (y <- y + lr * gy). For a zero-sum game f these are
(df/dx, df/dy); in general each player's own gradient (the Dirac-GAN's penalty acts on y only, and
its non-saturating generator descends a loss of its own).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

METHODS = ("simultaneous", "alternating", "extragradient", "optimistic")
DIRAC_LOSSES = ("gan", "non-saturating", "wgan")

Grad = Callable[[float, float], tuple[float, float]]


def xy_grad(x, y):
    """Gradient (df/dx, df/dy) = (y, x) of the bilinear game f(x, y) = x * y (works on arrays too)."""
    return y, x


def _sigmoid(t):
    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(t, dtype=np.float64)))  # no overflow for large |t|


# Instance noise: expectations over z ~ N(0, 1) by the trapezoid rule on [-10, 10] (step 0.01; within 1e-14 of
# scipy.integrate.quad for the Dirac-GAN's terms even at psi * noise_std = 40, where a sigmoid in z is steep, and
# deterministic, so a trajectory is the same on every machine).
_NOISE_NODES = np.linspace(-10.0, 10.0, 2001)
_NOISE_WEIGHTS = np.exp(-0.5 * _NOISE_NODES**2)
_NOISE_WEIGHTS = _NOISE_WEIGHTS / _NOISE_WEIGHTS.sum()


def _check_number(value, name: str, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r})")
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} ({what}) must be a finite number >= 0, got {value!r}")
    return float(value)


def dirac_gan_grad(
    gp_weight: float = 0.0, loss: str = "gan", *, gp_center: float = 0.0, noise_std: float = 0.0
) -> Grad:
    """Gradient field (theta, psi) -> (the generator's gradient, the discriminator's) of the Dirac-GAN."""
    # Data delta_0, generator delta_theta, discriminator D(x) = psi * x: L(theta, psi) = f(psi * theta) + f(-psi * 0)
    # with f(t) = -log(1 + exp(-t)) ("gan", "non-saturating") or f(t) = t ("wgan"). psi (player y) maximises
    # L - gp_weight/2 * (|grad_x D| - gp_center)^2 = L - gp_weight/2 * (|psi| - gp_center)^2: gp_center 0 is the
    # zero-centred (R1) penalty, 1 the one-centred penalty of WGAN-GP. theta (player x) minimises L, or with the
    # non-saturating loss -f(-psi * theta). noise_std > 0 adds instance noise: real and generated samples are both
    # blurred by N(0, noise_std^2), and each term is its expectation over the noise.
    gp_weight = _check_number(gp_weight, "gp_weight", "the penalty's weight")
    gp_center = _check_number(gp_center, "gp_center", "the gradient norm the penalty aims at")
    noise_std = _check_number(noise_std, "noise_std", "the instance noise's standard deviation")
    if loss not in DIRAC_LOSSES:
        raise ValueError(f"loss must be one of {DIRAC_LOSSES}, got {loss!r}")
    offsets, weights = (noise_std * _NOISE_NODES, _NOISE_WEIGHTS) if noise_std > 0 else (np.zeros(1), np.ones(1))

    def f_prime(t):
        return np.ones_like(t) if loss == "wgan" else _sigmoid(-t)  # f'(t) = 1 / (1 + e^t) for the GAN's f

    def grad(theta, psi):
        theta_, psi_ = np.asarray(theta, dtype=np.float64)[..., None], np.asarray(psi, dtype=np.float64)[..., None]
        x_fake, x_real = theta_ + offsets, offsets  # (..., n): the samples (n = 1 without noise)
        slope_fake, slope_real = f_prime(psi_ * x_fake), f_prime(-psi_ * x_real)
        if loss == "non-saturating":  # d/dtheta of -f(-psi * theta)
            d_theta = psi * (f_prime(-psi_ * x_fake) @ weights)
        else:  # d/dtheta of L
            d_theta = psi * (slope_fake @ weights)
        d_psi = (x_fake * slope_fake) @ weights - (x_real * slope_real) @ weights  # d/dpsi of L
        d_penalty = gp_weight * (np.abs(psi) - gp_center) * np.sign(psi)  # d/dpsi of gp_weight/2 (|psi| - c)^2
        return d_theta, d_psi - d_penalty

    grad.__doc__ = (
        f"Dirac-GAN gradient field (loss={loss!r}, gp_weight={gp_weight:g}, gp_center={gp_center:g}, "
        f"noise_std={noise_std:g})."
    )
    return grad


def vector_field(x, y, grad: Grad | None = None):
    """The direction of play (-gx, gy) at points x, y (arrays, e.g. from np.meshgrid), for quiver/streamplot."""
    grad = xy_grad if grad is None else grad
    gx, gy = grad(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    return -np.asarray(gx, dtype=np.float64), np.asarray(gy, dtype=np.float64)


def _check_start(start) -> np.ndarray:
    try:
        z = np.asarray(start, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"start must be a pair of numbers (x, y), got {type(start).__name__} ({start!r})") from None
    if z.shape != (2,):
        raise ValueError(f"start must be a pair of numbers (x, y), got shape {z.shape}: {start!r}")
    if not np.all(np.isfinite(z)):
        raise ValueError(f"start must be finite, got {start!r}")
    return z


def _check_args(steps, lr, method, grad):
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise TypeError(f"steps must be an int, got {type(steps).__name__} ({steps!r})")
    if steps < 0:
        raise ValueError(f"steps must be >= 0, got {steps}")
    if isinstance(lr, bool) or not isinstance(lr, (int, float, np.integer, np.floating)):
        raise TypeError(f"lr (the step size eta) must be a number, got {type(lr).__name__} ({lr!r})")
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr (the step size eta) must be a finite number > 0, got {lr!r}")
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if grad is not None and not callable(grad):
        raise TypeError(f"grad must be a callable (x, y) -> (df/dx, df/dy) or None, got {type(grad).__name__}")


def _call(grad: Grad, x: float, y: float) -> tuple[float, float]:
    out = np.asarray(grad(x, y), dtype=np.float64)
    if out.shape != (2,):
        raise ValueError(f"grad(x, y) must return two numbers (df/dx, df/dy), got shape {out.shape}")
    return float(out[0]), float(out[1])


def simulate(start, steps: int, lr: float, method: str = "simultaneous", grad: Grad | None = None) -> np.ndarray:
    """Play ``steps`` steps of size ``lr`` from ``start`` on ``grad`` (default: the xy game); shape (steps + 1, 2)."""
    # Optimistic GDA steps with 2 g_t - g_(t-1) and takes a plain step first (g_(-1) = g_0).
    # A diverging run may overflow to inf; that is the lesson, not an error.
    _check_args(steps, lr, method, grad)
    z = _check_start(start)
    grad = xy_grad if grad is None else grad
    lr = float(lr)
    traj = np.empty((steps + 1, 2))  # (steps + 1, 2): one row (x, y) per iterate
    traj[0] = z
    x, y = float(z[0]), float(z[1])
    prev = None  # the last gradient, for optimistic GDA
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):
            if method == "simultaneous":
                gx, gy = _call(grad, x, y)
                x, y = x - lr * gx, y + lr * gy
            elif method == "alternating":
                gx, _ = _call(grad, x, y)
                x = x - lr * gx
                _, gy = _call(grad, x, y)  # y answers the x that has already moved
                y = y + lr * gy
            elif method == "extragradient":
                gx, gy = _call(grad, x, y)
                x_half, y_half = x - lr * gx, y + lr * gy  # look ahead ...
                gx, gy = _call(grad, x_half, y_half)
                x, y = x - lr * gx, y + lr * gy  # ... and step from the old point with the look-ahead gradient
            else:  # optimistic
                gx, gy = _call(grad, x, y)
                px, py = (gx, gy) if prev is None else prev
                x, y = x - lr * (2 * gx - px), y + lr * (2 * gy - py)
                prev = (gx, gy)
            traj[t] = (x, y)
    return traj


def radius(traj) -> np.ndarray:
    """Distance of each iterate from the equilibrium (0, 0); shape (steps + 1,)."""
    traj = np.asarray(traj, dtype=np.float64)
    if traj.ndim != 2 or traj.shape[1] != 2:
        raise ValueError(f"traj must have shape (steps + 1, 2), got {traj.shape}")
    return np.hypot(traj[:, 0], traj[:, 1])


def update_matrix(lr: float, method: str = "simultaneous") -> np.ndarray:
    """The linear map one step of ``method`` applies to (x, y) in the xy game (optimistic: 4x4 on (z_t, z_t-1))."""
    _check_args(0, lr, method, None)
    eta = float(lr)
    rot = np.array([[0.0, -eta], [eta, 0.0]])  # lr times the field (-y, x)
    eye = np.eye(2)
    if method == "simultaneous":
        return eye + rot
    if method == "alternating":
        return np.array([[1.0, -eta], [eta, 1.0 - eta**2]])
    if method == "extragradient":
        return eye + rot @ (eye + rot)
    return np.block([[eye + 2 * rot, -rot], [eye, np.zeros((2, 2))]])  # (z_t+1, z_t) from (z_t, z_t-1)


def spectral_radius(matrix) -> float:
    """The largest modulus of the eigenvalues of a square matrix."""
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.shape[0] != m.shape[1] or m.size == 0:
        raise ValueError(f"matrix must be square and non-empty, got shape {m.shape}")
    return float(np.max(np.abs(np.linalg.eigvals(m))))
