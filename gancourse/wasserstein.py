"""WGAN's weight clipping, WGAN-GP's gradient penalty and the zero-centred R1 penalty, as options of the one loop.

Arjovsky, Chintala & Bottou 2017 (WGAN: a 1-Lipschitz critic by clipping every weight to [-c, c]);
Gulrajani et al. 2017 (WGAN-GP: penalise (||grad D(x_hat)||_2 - 1)^2 on random interpolates
x_hat); Mescheder, Geiger & Nowozin 2018 (R1: penalise gamma/2 ||grad D(x)||^2 on real samples, centred at 0, which
makes the GAN converge locally where the one-centred penalty does not: lecture 03's Dirac-GAN). Taught in
notebooks/06_wgan.ipynb and 07_wgan_gp.ipynb; defaults in gancourse.defaults. A penalty weight is one number, or
one per member of an ensemble (gancourse.ensemble): settings that share an architecture train as one ensemble.
"""

from __future__ import annotations

import torch

from gancourse.ensemble import members_of
from gancourse.hooks import Hook, TrainState
from gancourse.losses import GANObjective, d_loss, wgan_critic_loss, wgan_g_loss
from gancourse.validation import check_number, check_positive


class WeightClipping(Hook):
    """After every critic step, clamp every parameter of D (weights and biases, any layer) to [-c, c]."""

    needs_host = False  # an in-place clamp of device tensors with a fixed c: it runs inside a captured step

    def __init__(self, clip: float = 0.01):
        self.clip = check_positive(clip, "clip")

    @torch.no_grad()  # an in-place update outside autograd: no need to toggle requires_grad
    def after_d_step(self, state: TrainState) -> None:
        clip_weights_(state.D, self.clip)


@torch.no_grad()
def clip_weights_(model: torch.nn.Module, clip: float) -> None:
    """Clamp every parameter of ``model`` to [-clip, clip] in place (``clip`` a positive finite number)."""
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    clip = check_positive(clip, "clip")  # clip <= 0 would set every weight to -|clip|
    for p in model.parameters():
        p.clamp_(-clip, clip)


def _check_pair(x_real: torch.Tensor, x_fake: torch.Tensor) -> None:
    for name, x in (("x_real", x_real), ("x_fake", x_fake)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x_real.shape != x_fake.shape:
        raise ValueError(
            f"x_real and x_fake must have the same shape, got {tuple(x_real.shape)} and {tuple(x_fake.shape)}"
        )
    if x_real.device != x_fake.device:
        raise ValueError(f"x_real and x_fake must be on the same device, got {x_real.device} and {x_fake.device}")
    if x_real.dtype != x_fake.dtype:
        raise ValueError(f"x_real and x_fake must have the same dtype, got {x_real.dtype} and {x_fake.dtype}")
    if x_real.ndim < 2 or len(x_real) == 0:
        raise ValueError(f"x_real and x_fake must be non-empty batches (N, ...), got shape {tuple(x_real.shape)}")


def _check_alpha(alpha, x_real: torch.Tensor, batch_dims: int = 1) -> torch.Tensor:
    """alpha (N,) for a batch x_real (N, ...), or (K, N) for an ensemble's (K, N, ...): checked, cast to its dtype."""
    if not isinstance(alpha, torch.Tensor):
        raise TypeError(f"alpha must be a torch.Tensor of shape (N,), got {type(alpha).__name__}")
    n = tuple(x_real.shape[:batch_dims])
    if alpha.shape != n:
        raise ValueError(
            f"alpha must have shape {n}, one per sample of the batch, got {tuple(alpha.shape)}"
            + (": one alpha for the whole batch puts every x_hat at the same fraction" if alpha.numel() == 1 else "")
        )
    if not alpha.is_floating_point():
        raise ValueError(f"alpha must be a floating-point tensor (uniform on [0, 1]), got dtype {alpha.dtype}")
    if alpha.device != x_real.device:
        raise ValueError(f"alpha must be on x_real's device {x_real.device}, got {alpha.device}")
    # The value check costs a host sync on an accelerator (every critic step of the loop, and a captured
    # CUDA-graph step cannot sync at all), so it runs on the CPU only; the loop draws its alpha with
    # torch.rand on the device, in [0, 1) by construction. Shape, dtype and device above need no sync.
    if alpha.device.type == "cpu" and not bool(((alpha >= 0) & (alpha <= 1)).all()):
        bad = alpha[~((alpha >= 0) & (alpha <= 1))]
        raise ValueError(f"alpha must lie in [0, 1] (points on the segment), got {bad[:3].tolist()} among its values")
    return alpha.to(x_real.dtype)  # a float64 alpha would turn float32 interpolates into float64 ones


def _mix(x_real: torch.Tensor, x_fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    alpha = alpha.reshape(*alpha.shape, *([1] * (x_real.ndim - alpha.ndim)))  # (N, 1, ..., 1)
    return alpha * x_real + (1 - alpha) * x_fake  # (N, ...)


def interpolate(x_real: torch.Tensor, x_fake: torch.Tensor, alpha: torch.Tensor) -> torch.Tensor:
    """x_hat = alpha * x_real + (1 - alpha) * x_fake with one alpha (N,) in [0, 1] per sample, broadcast over the rest."""
    _check_pair(x_real, x_fake)
    return _mix(x_real, x_fake, _check_alpha(alpha, x_real))


def gradient_penalty(
    critic: torch.nn.Module,
    x_real: torch.Tensor,
    x_fake: torch.Tensor,
    *,
    generator: torch.Generator | None = None,
    alpha: torch.Tensor | None = None,
) -> torch.Tensor:
    """E[(||grad_x critic(x_hat)||_2 - 1)^2] over random interpolates, differentiable in the critic's weights.

    The norm is taken per sample over ALL non-batch dimensions (flatten first: a dim=1 norm of an
    (N, C, H, W) gradient is not a per-sample norm) and stays finite when the gradient is zero.
    ``alpha`` (N,) in [0, 1] may be given (on x_real's device; cast to its dtype); otherwise it is drawn
    uniformly from ``generator``. It runs inside the loop's captured CUDA-graph step, so its checks of alpha
    need no host sync there (see _check_alpha). For an ensemble critic of K (gancourse.ensemble) the batches
    are (K, N, ...), alpha is (K, N) and the result one penalty per member (K,).
    """
    _check_pair(x_real, x_fake)
    b = 1 if members_of(critic) is None else 2  # the batch axes: (N,), or (K, N) for an ensemble
    if alpha is None:
        alpha = torch.rand(x_real.shape[:b], generator=generator, device=x_real.device, dtype=x_real.dtype)
    else:
        alpha = _check_alpha(alpha, x_real, b)
    x_hat = _mix(x_real.detach(), x_fake.detach(), alpha).requires_grad_(True)  # (N, ...)
    scores = critic(x_hat)  # (N,)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)  # (N, ...)
    sq_norm = grad.flatten(start_dim=b).pow(2).sum(dim=-1)  # (N,) over every non-batch dimension
    norm = sq_norm.clamp_min(1e-12).sqrt()  # sqrt'(0) is infinite: clamp keeps the double backward finite
    return (norm - 1).pow(2).mean(dim=-1)


def r1_penalty(D: torch.nn.Module, x_real: torch.Tensor) -> torch.Tensor:
    """E ||grad_x D(x)||_2^2 over the real samples x: R1 (Mescheder et al. 2018), differentiable in D's weights.

    Zero-centred and on the data only: it asks D to be flat where the data is. The squared norm is taken per
    sample over all non-batch dimensions. For an ensemble D of K (gancourse.ensemble) x_real is (K, N, ...) and the
    result one penalty per member (K,).
    """
    if not isinstance(x_real, torch.Tensor):
        raise TypeError(f"x_real must be a torch.Tensor, got {type(x_real).__name__}")
    b = 1 if members_of(D) is None else 2  # the batch axes: (N,), or (K, N) for an ensemble
    if x_real.ndim <= b or 0 in x_real.shape[:b]:
        want = "(N, ...)" if b == 1 else "(K, N, ...) for an ensemble"
        raise ValueError(f"x_real must be a non-empty batch {want}, got shape {tuple(x_real.shape)}")
    x = x_real.detach().requires_grad_(True)  # (N, ...)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)  # (N, ...)
    return grad.flatten(start_dim=b).pow(2).sum(dim=-1).mean(dim=-1)  # no square root: finite at a zero gradient


def penalty_weights(value, name: str) -> float | tuple[float, ...]:
    """A penalty's weight: one number >= 0 for every member, or a list of them, one per member of an ensemble."""
    if isinstance(value, (list, tuple)):
        if len(value) == 0:
            raise ValueError(f"{name} must be a number, or one number per member of an ensemble; got an empty list")
        return tuple(check_number(v, f"{name}[{i}]", 0) for i, v in enumerate(value))
    return check_number(value, name, 0)


class _Weighted:
    """weight * penalty, for one weight or one per member; the per-member weights are a tensor made once per device
    (the first, eager step makes it: a captured step then only reads it)."""

    def __init__(self, weight, name: str):
        self.weight, self.name, self._tensors = penalty_weights(weight, name), name, {}

    def __call__(self, penalty: torch.Tensor) -> torch.Tensor:
        if isinstance(self.weight, float):
            return self.weight * penalty
        if penalty.shape != (len(self.weight),):
            got = "one critic, not an ensemble" if penalty.ndim == 0 else f"an ensemble of {len(penalty)}"
            raise ValueError(f"{self.name} has {len(self.weight)} values, one per member, but the critic is {got}")
        key = (penalty.device, penalty.dtype)
        if key not in self._tensors:
            self._tensors[key] = torch.tensor(self.weight, dtype=penalty.dtype).to(penalty.device)  # (K,)
        return self._tensors[key] * penalty

    def __repr__(self) -> str:
        return repr(list(self.weight) if isinstance(self.weight, tuple) else self.weight)


class WGANGPObjective:
    """WGAN-GP (Gulrajani et al. 2017): critic loss E f(fake) - E f(real) + gp_weight * penalty.

    ``gp_weight`` may be a list, one weight per member of an ensemble: several weights train as one ensemble.
    """

    name = "wgan-gp"
    loss_bound = 1e6  # critic scores are unbounded by design; a critic loss past 1e6 means the run blew up

    def __init__(self, gp_weight: float | list[float] = 10.0):
        self._weighted = _Weighted(gp_weight, "gp_weight")
        self.gp_weight = self._weighted.weight

    def draws(self, batch_size: int, n_critic: int, latent_dim: int, generator: torch.Generator, device, members=None):
        """alpha (n_critic, B) uniform on [0, 1): each critic step's interpolation fractions, drawn with the loop's
        other draws (gancourse.train.draws), so a captured step computes what the eager step does; for an
        ensemble of K ``members``, (n_critic, K, B)."""
        shape = (n_critic, batch_size) if members is None else (n_critic, members, batch_size)
        return {"alpha": torch.rand(shape, generator=generator, device=device)}, {}

    def d_loss(self, D, x_real: torch.Tensor, x_fake: torch.Tensor, generator=None, alpha=None):
        real, fake = D(x_real), D(x_fake)
        gp = gradient_penalty(D, x_real, x_fake, generator=generator, alpha=alpha)
        loss = wgan_critic_loss(real, fake) + self._weighted(gp)
        return loss, {"wasserstein": (real.mean(dim=-1) - fake.mean(dim=-1)).detach(), "gp": gp.detach()}

    def g_loss(self, D, x_fake: torch.Tensor, x_real: torch.Tensor) -> torch.Tensor:
        return wgan_g_loss(D(x_fake))

    def __repr__(self) -> str:
        return f"WGANGPObjective(gp_weight={self._weighted!r})"


class R1Objective(GANObjective):
    """The GAN with R1 (Mescheder et al. 2018): D's loss plus gamma/2 * E_real ||grad D||^2; G's loss unchanged.

    ``gamma`` may be a list, one per member of an ensemble; ``g_loss`` and ``real_label`` as in GANObjective.
    """

    name = "gan-r1"

    def __init__(self, gamma: float | list[float] = 1.0, g_loss: str = "non-saturating", real_label: float = 1.0):
        super().__init__(g_loss, real_label)
        self._weighted = _Weighted(gamma, "gamma")
        self.gamma = self._weighted.weight

    def d_loss(self, D, x_real: torch.Tensor, x_fake: torch.Tensor, generator=None):
        r1 = r1_penalty(D, x_real)
        loss = d_loss(D(x_real), D(x_fake), self.real_label) + 0.5 * self._weighted(r1)
        return loss, {"r1": r1.detach()}

    def __repr__(self) -> str:
        return f"R1Objective(gamma={self._weighted!r}, g_loss={self.g_kind!r}, real_label={self.real_label})"
