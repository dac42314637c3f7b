"""Conditional GANs: asking G for a digit. Label checks, one-hot codes, conditional MLP and DCGAN nets, AC-GAN.

- Conditional GAN (Mirza & Osindero 2014, "Conditional Generative Adversarial Nets"): G(z, y) and
  D(x, y) both see the label, here as a one-hot code (or a learned embedding) concatenated to
  their input; the convolutional D gets it as label maps, n_classes extra input channels.
- AC-GAN (Odena, Olah & Shlens 2017, "Conditional Image Synthesis with Auxiliary Classifier
  GANs"): D sees only x and has two heads, the source (real or fake) and the class; D maximises
  L_S + L_C, G maximises L_C - L_S (here with the non-saturating source loss).
- The CVAE-GAN (Bao et al. 2017) lives in gancourse.cvae.

The one loop trains these with ``train(G, D, x, labels=y, objective=CGANObjective())``: the loop
draws the real labels with the batch indices and the fake labels uniformly, and hands both to
the objective as ``y_real=`` and ``y_fake=``. Taught in notebooks/10_conditional_gans.ipynb.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gancourse import defaults, losses
from gancourse.dcgan import IMAGE_SHAPE, DCGANDiscriminator, DCGANGenerator, dcgan_init_
from gancourse.nets import MLPDiscriminator, MLPGenerator, check_shape
from gancourse.runtime import budget, train_steps
from gancourse.validation import check_batch, check_int, check_labels, check_number

N_DIGITS = 10
# BCE and cross-entropy on logits: a loss of 1e4 needs logits of about 1e4, far past any run that has not blown up
LOGIT_LOSS_BOUND = 1e4


# --------------------------------------------------------------------------- labels


def one_hot(y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Labels y (N,) -> float32 one-hot codes (N, n_classes): row i has a 1 in column y[i]."""
    n_classes = check_int(n_classes, "n_classes", 1)
    return F.one_hot(check_labels(y, n_classes), n_classes).float()  # (N, n_classes)


def grid_labels(rows: int = N_DIGITS, cols: int = N_DIGITS) -> torch.Tensor:
    """Labels for a rows x cols grid with one class per row: [0]*cols + [1]*cols + ... (int64, rows*cols)."""
    rows, cols = check_int(rows, "rows", 1), check_int(cols, "cols", 1)
    return torch.arange(rows).repeat_interleave(cols)  # (rows*cols,)


def balanced_labels(n: int, n_classes: int = N_DIGITS) -> torch.Tensor:
    """n labels in contiguous equal blocks 0, 0, ..., 1, 1, ...: the snapshot rows of a conditional run."""
    n, n_classes = check_int(n, "n", 1), check_int(n_classes, "n_classes", 1)
    return torch.arange(n) * n_classes // n  # (n,)


class LabelCode(nn.Module):
    """y (N,) -> (N, dim): the one-hot code (``embed_dim=None``, dim = n_classes) or a learned embedding."""

    def __init__(self, n_classes: int, embed_dim: int | None = None):
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", 1)
        self.embed = None if embed_dim is None else nn.Embedding(self.n_classes, check_int(embed_dim, "embed_dim", 1))
        self.dim = self.n_classes if embed_dim is None else embed_dim

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        y = check_labels(y, self.n_classes)
        if self.embed is None:
            return F.one_hot(y, self.n_classes).float()  # (N, n_classes)
        return self.embed(y)  # (N, embed_dim)


# --------------------------------------------------------------------------- conditional MLPs


class ConditionalMLPGenerator(nn.Module):
    """G(z, y): z (N, latent_dim) and labels y (N,) -> x (N, *out_shape); the label code joins z at the input."""

    def __init__(
        self,
        latent_dim: int = 64,
        n_classes: int = N_DIGITS,
        out_shape=IMAGE_SHAPE,
        hidden: int = 256,
        depth: int = 3,
        activation: str = "leaky_relu",
        tanh: bool = True,
        embed_dim: int | None = None,
    ):
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim", 1)
        self.n_classes = check_int(n_classes, "n_classes", 1)
        self.code = LabelCode(self.n_classes, embed_dim)
        self.net = MLPGenerator(self.latent_dim + self.code.dim, out_shape, hidden, depth, activation, tanh)
        self.out_shape = self.net.out_shape

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_batch(z, (self.latent_dim,), "z", type(self).__name__)
        y = check_labels(y, self.n_classes, len(z))
        h = torch.cat([z, self.code(y).to(z.dtype)], dim=1)  # (N, latent_dim + code)
        return self.net(h)  # (N, *out_shape)


class ConditionalMLPDiscriminator(nn.Module):
    """D(x, y): x (N, *in_shape) and labels y (N,) -> logits (N,); the label code joins the flattened x."""

    def __init__(
        self,
        in_shape=IMAGE_SHAPE,
        n_classes: int = N_DIGITS,
        hidden: int = 256,
        depth: int = 3,
        activation: str = "leaky_relu",
        dropout: float = 0.3,
        embed_dim: int | None = None,
    ):
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", 1)
        self.code = LabelCode(self.n_classes, embed_dim)
        self.in_shape = check_shape(in_shape, "in_shape")
        self.net = MLPDiscriminator(
            (math.prod(self.in_shape) + self.code.dim,), hidden, depth, activation, False, dropout
        )

    def _joined(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_batch(x, self.in_shape, "x", type(self).__name__)
        y = check_labels(y, self.n_classes, len(x))
        return torch.cat([x.flatten(1), self.code(y).to(x.dtype)], dim=1)  # (N, prod(in_shape) + code)

    def features(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net.features(self._joined(x, y))  # (N, hidden)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(self._joined(x, y))  # (N,)


# --------------------------------------------------------------------------- conditional DCGAN


class ConditionalDCGANGenerator(nn.Module):
    """G(z, y) -> (N, 1, 28, 28) in [-1, 1]: the course's DCGAN generator fed [z, code(y)]."""

    def __init__(
        self, latent_dim: int = 100, n_classes: int = N_DIGITS, width: int = 128, embed_dim: int | None = None
    ):
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim", 1)
        self.n_classes = check_int(n_classes, "n_classes", 1)
        self.code = LabelCode(self.n_classes, embed_dim)
        self.net = DCGANGenerator(self.latent_dim + self.code.dim, width)

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_batch(z, (self.latent_dim,), "z", type(self).__name__)
        y = check_labels(y, self.n_classes, len(z))
        return self.net(torch.cat([z, self.code(y).to(z.dtype)], dim=1))  # (N, latent_dim + code) -> (N, 1, 28, 28)


class ConditionalDCGANDiscriminator(nn.Module):
    """D(x, y) -> logits (N,): the DCGAN discriminator with n_classes label maps as extra input channels.

    Its first convolution sees cat([x, maps]) with maps[i, c] = 1 where c = y[i], 0 elsewhere
    (N, 1 + n_classes, 28, 28). Convolution is linear, so the same function is computed cheaply:
    the image channel is convolved as usual and the label channels' response, which depends only
    on the class, is computed once per class (n_classes maps, not N) and added by lookup;
    ``label_maps_input`` builds the explicit input for checking that.
    """

    def __init__(self, n_classes: int = N_DIGITS, width: int = 64, batch_norm: bool = True):
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", 1)
        self.in_shape = IMAGE_SHAPE
        self.net = DCGANDiscriminator(width, batch_norm)
        first = self.net.body[0]
        self.net.body[0] = nn.Conv2d(1 + self.n_classes, first.out_channels, 4, stride=2, padding=1)  # (N, w, 14, 14)
        dcgan_init_(self.net)

    def label_maps_input(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The explicit input cat([x, label maps]) (N, 1 + n_classes, 28, 28)."""
        maps = F.one_hot(check_labels(y, self.n_classes, len(x)), self.n_classes).to(x.dtype)  # (N, n_classes)
        return torch.cat([x, maps[:, :, None, None].expand(-1, -1, *x.shape[2:])], dim=1)  # (N, 1 + n_classes, 28, 28)

    def features(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        check_batch(x, self.in_shape, "x", type(self).__name__)
        y = check_labels(y, self.n_classes, len(x))
        conv = self.net.body[0]
        h = F.conv2d(x, conv.weight[:, :1], conv.bias, stride=2, padding=1)  # (N, w, 14, 14): the image channel
        maps = torch.eye(self.n_classes, device=x.device, dtype=x.dtype)[:, :, None, None]  # (C, C, 1, 1)
        maps = maps.expand(-1, -1, *x.shape[2:])  # (C, C, 28, 28): one label-map stack per class
        per_class = F.conv2d(maps, conv.weight[:, 1:], None, stride=2, padding=1)  # (C, w, 14, 14)
        return self.net.body[1:](h + per_class[y])  # (N, w, 14, 14) -> (N, 2w*49)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net.head(self.features(x, y)).squeeze(1)  # (N,)


# --------------------------------------------------------------------------- AC-GAN


class ACGANDiscriminator(nn.Module):
    """D(x) -> (source logits (N,), class logits (N, n_classes)): a course discriminator with a second head.

    ``base`` is an MLPDiscriminator or DCGANDiscriminator (anything with ``features(x)`` and a
    Linear ``head``); the class head reads the same features (Odena et al. 2017).
    """

    def __init__(self, base: nn.Module, n_classes: int = N_DIGITS):
        super().__init__()
        if not (callable(getattr(base, "features", None)) and isinstance(getattr(base, "head", None), nn.Linear)):
            raise TypeError(f"base must have features(x) and a Linear head, got {type(base).__name__}")
        self.n_classes = check_int(n_classes, "n_classes", 1)
        self.base = base
        self.in_shape = base.in_shape
        self.mbstd = getattr(base, "mbstd", None)  # MLPDiscriminator's minibatch std feeds the source head only
        self.class_head = nn.Linear(base.head.in_features - (1 if self.mbstd is not None else 0), n_classes)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.base.features(x)  # (N, F)
        source = self.base.head(h if self.mbstd is None else self.mbstd(h)).squeeze(1)  # (N,)
        return source, self.class_head(h)  # (N,), (N, n_classes)


def _check_class_logits(logits: torch.Tensor, y: torch.Tensor, name: str) -> None:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise ValueError(f"{name} must be class logits (N, n_classes), got {tuple(getattr(logits, 'shape', ()))}")
    check_labels(y, logits.shape[1], len(logits), name=f"the labels of {name}")


def acgan_d_loss(
    real_logits: torch.Tensor,
    fake_logits: torch.Tensor,
    real_class_logits: torch.Tensor,
    fake_class_logits: torch.Tensor,
    y_real: torch.Tensor,
    y_fake: torch.Tensor,
    class_weight: float = 1.0,
) -> torch.Tensor:
    """-(L_S + L_C) for D (Odena et al. 2017, eqs. 2-3): source BCE + class cross-entropy on real AND fake."""
    _check_class_logits(real_class_logits, y_real, "real_class_logits")
    _check_class_logits(fake_class_logits, y_fake, "fake_class_logits")
    source = losses.d_loss(real_logits, fake_logits)  # -L_S
    classes = F.cross_entropy(real_class_logits, y_real) + F.cross_entropy(fake_class_logits, y_fake)  # -L_C
    return source + class_weight * classes


def acgan_g_loss(
    fake_logits: torch.Tensor, fake_class_logits: torch.Tensor, y_fake: torch.Tensor, class_weight: float = 1.0
) -> torch.Tensor:
    """-(L_C - L_S) for G, with the non-saturating source term: -log D_S(G(z, y)) - log D_C(y | G(z, y))."""
    _check_class_logits(fake_class_logits, y_fake, "fake_class_logits")
    return losses.g_loss_nonsaturating(fake_logits) + class_weight * F.cross_entropy(fake_class_logits, y_fake)


class CGANObjective:
    """Conditional GAN (Mirza & Osindero 2014): the GAN losses on D(x, y); fakes are judged with their own labels."""

    name = "cgan"
    conditional = True  # the loop calls G(z, y) and passes y_real=, y_fake=
    loss_bound = LOGIT_LOSS_BOUND

    def __init__(self, g_loss: str = "non-saturating", real_label: float = 1.0):
        if g_loss not in ("non-saturating", "saturating"):
            raise ValueError(f"g_loss must be 'non-saturating' or 'saturating', got {g_loss!r}")
        self._gan = losses.GANObjective(g_loss, real_label)  # validates real_label

    def d_loss(self, D, x_real, x_fake, *, y_real, y_fake, generator=None) -> torch.Tensor:
        return losses.d_loss(D(x_real, y_real), D(x_fake, y_fake), self._gan.real_label)

    def g_loss(self, D, x_fake, x_real, *, y_real, y_fake) -> torch.Tensor:
        logits = D(x_fake, y_fake)
        if self._gan.g_kind == "saturating":
            return losses.g_loss_saturating(logits)
        return losses.g_loss_nonsaturating(logits)

    def __repr__(self) -> str:
        return f"CGANObjective(g_loss={self._gan.g_kind!r}, real_label={self._gan.real_label})"


class ACGANObjective:
    """AC-GAN (Odena et al. 2017): acgan_d_loss / acgan_g_loss on an ACGANDiscriminator; logs D's class accuracy."""

    name = "acgan"
    conditional = True
    loss_bound = LOGIT_LOSS_BOUND

    def __init__(self, class_weight: float = 1.0):
        self.class_weight = check_number(class_weight, "class_weight", 0)

    def d_loss(self, D, x_real, x_fake, *, y_real, y_fake, generator=None):
        real, real_cls = D(x_real)
        fake, fake_cls = D(x_fake)
        loss = acgan_d_loss(real, fake, real_cls, fake_cls, y_real, y_fake, self.class_weight)
        acc = (real_cls.argmax(dim=1) == y_real).float().mean()  # stays on the device: no sync
        return loss, {"d_class_acc": acc.detach()}

    def g_loss(self, D, x_fake, x_real, *, y_real, y_fake) -> torch.Tensor:
        fake, fake_cls = D(x_fake)
        return acgan_g_loss(fake, fake_cls, y_fake, self.class_weight)

    def __repr__(self) -> str:
        return f"ACGANObjective(class_weight={self.class_weight})"


# --------------------------------------------------------------------------- builders and the recipe


def mnist_cgan(
    arch: str = "mlp",
    *,
    latent_dim: int = 64,
    hidden: int = 256,
    depth: int = 3,
    dropout: float = 0.3,
    g_width: int = 64,
    d_width: int = 32,
    embed_dim: int | None = None,
    acgan: bool = False,
):
    """(G, D, objective) for conditional MNIST: ``arch`` 'mlp' or 'dcgan'; ``acgan=True`` gives AC-GAN's D and losses."""
    if arch == "mlp":
        G = ConditionalMLPGenerator(latent_dim, N_DIGITS, IMAGE_SHAPE, hidden, depth, embed_dim=embed_dim)
        if acgan:
            base = MLPDiscriminator(IMAGE_SHAPE, hidden, depth, "leaky_relu", dropout=dropout)
            return G, ACGANDiscriminator(base, N_DIGITS), ACGANObjective()
        return G, ConditionalMLPDiscriminator(IMAGE_SHAPE, N_DIGITS, hidden, depth, dropout=dropout), CGANObjective()
    if arch == "dcgan":
        G = ConditionalDCGANGenerator(latent_dim, N_DIGITS, g_width, embed_dim)
        if acgan:
            return G, ACGANDiscriminator(DCGANDiscriminator(d_width), N_DIGITS), ACGANObjective()
        return G, ConditionalDCGANDiscriminator(N_DIGITS, d_width), CGANObjective()
    raise ValueError(f"arch must be 'mlp' or 'dcgan', got {arch!r}")


def mnist_recipe(**overrides):
    """(G, D, objective, train_kwargs) of defaults.CONDITIONAL_MNIST for the current run profile.

    ``train_kwargs`` holds ``steps`` and the optimiser settings: ``train(G, D, x, labels=y,
    objective=objective, **train_kwargs)``. ``overrides`` replace entries of the nets' sizes.
    """
    recipe = defaults.CONDITIONAL_MNIST
    nets = {**budget(**recipe["nets"]), **overrides}
    G, D, objective = mnist_cgan(**nets)
    return G, D, objective, {"steps": train_steps(**recipe["steps"]), **recipe["train"]}
