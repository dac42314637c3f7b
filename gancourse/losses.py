"""GAN losses on logits, with numerically stable BCE, and the objectives the one loop trains with.

Goodfellow et al. 2014 (the minimax loss and the non-saturating generator loss); Salimans et al.
2016 (one-sided label smoothing, feature matching); Arjovsky et al. 2017 (the WGAN losses);
Mao et al. 2017 (LSGAN: least squares with labels a, b, c). Taught in notebooks/02 and 05; WGAN
in 06; LSGAN in 10.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from gancourse.validation import check_number


def _check_logits(x: torch.Tensor, name: str) -> torch.Tensor:
    """Logits (N,), or (K, N) for an ensemble of K (gancourse.ensemble): the losses reduce over the last axis."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.ndim == 2 and x.shape[-1] == 1:
        raise ValueError(f"{name} must be 1-D logits of shape (N,), got shape {tuple(x.shape)}: squeeze D's (N, 1)")
    if x.ndim not in (1, 2):
        raise ValueError(f"{name} must be 1-D logits of shape (N,) (an ensemble's: (K, N)), got {tuple(x.shape)}")
    return x


def _check_pair(real: torch.Tensor, fake: torch.Tensor, names: tuple[str, str]) -> None:
    _check_logits(real, names[0]), _check_logits(fake, names[1])
    if real.shape[:-1] != fake.shape[:-1]:
        raise ValueError(
            f"{names[0]} {tuple(real.shape)} and {names[1]} {tuple(fake.shape)} must both be (N,) or (K, N)"
        )


def _check_real_label(value) -> float:
    """real_label in (0, 1]: 1 is the plain GAN, 0.9 one-sided label smoothing."""
    return check_number(value, "real_label", 0, 1, low_open=True)


# Every loss below is a mean over the batch: over the last axis, so an ensemble's logits (K, N) give one loss
# per member (K,), and one run's logits (N,) a scalar.


def d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor, real_label: float = 1.0) -> torch.Tensor:
    """-E[log D(x)] - E[log(1 - D(G(z)))] on logits; ``real_label`` < 1 is one-sided label smoothing."""
    _check_pair(real_logits, fake_logits, ("real_logits", "fake_logits"))
    real_label = _check_real_label(real_label)
    targets = torch.full_like(real_logits, real_label)
    real = F.binary_cross_entropy_with_logits(real_logits, targets, reduction="none")  # (N,): one per sample
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits), reduction="none")
    return real.mean(dim=-1) + fake.mean(dim=-1)


def g_loss_saturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """E[log(1 - D(G(z)))], the minimax generator loss: log(1 - sigmoid(l)) = -softplus(l)."""
    return -F.softplus(_check_logits(fake_logits, "fake_logits")).mean(dim=-1)


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """-E[log D(G(z))], the non-saturating generator loss: -log sigmoid(l) = softplus(-l)."""
    return F.softplus(-_check_logits(fake_logits, "fake_logits")).mean(dim=-1)


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """||E f(x) - E f(G(z))||^2 over a hidden layer f of D (Salimans et al. 2016); features (N, F) or (K, N, F)."""
    for name, f in (("real_features", real_features), ("fake_features", fake_features)):
        if not isinstance(f, torch.Tensor) or f.ndim not in (2, 3):
            raise ValueError(f"{name} must be features (N, F), or (K, N, F) for an ensemble, got {_shape(f)}")
    if real_features.shape[:-2] != fake_features.shape[:-2] or real_features.shape[-1] != fake_features.shape[-1]:
        raise ValueError(f"feature shapes differ: real {tuple(real_features.shape)}, fake {tuple(fake_features.shape)}")
    return (real_features.mean(dim=-2) - fake_features.mean(dim=-2)).pow(2).sum(dim=-1)


def _shape(x) -> str:
    return f"shape {tuple(x.shape)}" if isinstance(x, torch.Tensor) else type(x).__name__


def lsgan_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor, a: float = 0.0, b: float = 1.0) -> torch.Tensor:
    """1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2] (Mao et al. 2017, eq. 2; a = 0, b = 1)."""
    _check_pair(real_scores, fake_scores, ("real_scores", "fake_scores"))
    a, b = check_number(a, "a"), check_number(b, "b")
    return 0.5 * (real_scores - b).pow(2).mean(dim=-1) + 0.5 * (fake_scores - a).pow(2).mean(dim=-1)


def lsgan_g_loss(fake_scores: torch.Tensor, c: float = 1.0) -> torch.Tensor:
    """1/2 E[(D(G(z)) - c)^2] (Mao et al. 2017, eq. 2; c = 1: G wants D to call its samples real)."""
    return 0.5 * (_check_logits(fake_scores, "fake_scores") - check_number(c, "c")).pow(2).mean(dim=-1)


def wgan_critic_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """E[f(G(z))] - E[f(x)]: the critic maximises the gap, so it minimises its negative."""
    _check_pair(real_scores, fake_scores, ("real_scores", "fake_scores"))
    return fake_scores.mean(dim=-1) - real_scores.mean(dim=-1)


def wgan_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """-E[f(G(z))]."""
    return -_check_logits(fake_scores, "fake_scores").mean(dim=-1)


G_LOSSES = ("non-saturating", "saturating", "feature-matching")


class GANObjective:
    """The original GAN: BCE discriminator; a saturating, non-saturating or feature-matching generator."""

    name = "gan"

    def __init__(self, g_loss: str = "non-saturating", real_label: float = 1.0):
        if g_loss not in G_LOSSES:
            raise ValueError(f"g_loss must be one of {G_LOSSES}, got {g_loss!r}")
        self.g_kind, self.real_label = g_loss, _check_real_label(real_label)

    def d_loss(self, D, x_real: torch.Tensor, x_fake: torch.Tensor, generator=None) -> torch.Tensor:
        return d_loss(D(x_real), D(x_fake), self.real_label)

    def g_loss(self, D, x_fake: torch.Tensor, x_real: torch.Tensor) -> torch.Tensor:
        if self.g_kind == "feature-matching":
            if not hasattr(D, "features"):
                raise TypeError("feature matching needs a discriminator with a features(x) method")
            return feature_matching_loss(D.features(x_real).detach(), D.features(x_fake))
        logits = D(x_fake)
        return g_loss_saturating(logits) if self.g_kind == "saturating" else g_loss_nonsaturating(logits)

    def __repr__(self) -> str:
        return f"GANObjective(g_loss={self.g_kind!r}, real_label={self.real_label})"


class WGANObjective:
    """WGAN (Arjovsky et al. 2017): critic minimises E f(fake) - E f(real); the generator -E f(fake)."""

    name = "wgan"

    def d_loss(self, D, x_real: torch.Tensor, x_fake: torch.Tensor, generator=None):
        real, fake = D(x_real), D(x_fake)
        return wgan_critic_loss(real, fake), {"wasserstein": (real.mean(dim=-1) - fake.mean(dim=-1)).detach()}

    def g_loss(self, D, x_fake: torch.Tensor, x_real: torch.Tensor) -> torch.Tensor:
        return wgan_g_loss(D(x_fake))

    def __repr__(self) -> str:
        return "WGANObjective()"


class LSGANObjective:
    """LSGAN (Mao et al. 2017): least-squares losses on D's raw output with labels a = 0, b = 1, c = 1."""

    name = "lsgan"

    def __init__(self, a: float = 0.0, b: float = 1.0, c: float = 1.0):
        a, b, c = check_number(a, "a"), check_number(b, "b"), check_number(c, "c")
        if a == b:
            raise ValueError(f"the fake label a and the real label b must differ, got a = b = {a}")
        self.a, self.b, self.c = a, b, c

    def d_loss(self, D, x_real: torch.Tensor, x_fake: torch.Tensor, generator=None) -> torch.Tensor:
        return lsgan_d_loss(D(x_real), D(x_fake), self.a, self.b)

    def g_loss(self, D, x_fake: torch.Tensor, x_real: torch.Tensor) -> torch.Tensor:
        return lsgan_g_loss(D(x_fake), self.c)

    def __repr__(self) -> str:
        return f"LSGANObjective(a={self.a}, b={self.b}, c={self.c})"
