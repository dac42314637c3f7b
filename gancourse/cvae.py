"""The CVAE and the CVAE-GAN: a label-conditioned VAE, sharpened by a discriminator and a classifier.

- VAE (Kingma & Welling 2014): an encoder gives q(z|x) = N(mu, diag exp(logvar)); the
  reparameterisation z = mu + exp(logvar / 2) * eps, eps ~ N(0, I), makes the sample
  differentiable in (mu, logvar); the KL to the prior N(0, I) has a closed form.
- CVAE (Sohn, Lee & Yan 2015): encoder q(z|x, y) and decoder p(x|z, y) both see the label, so z
  keeps the style and y the digit: encode a 3, decode it with y = 8.
- CVAE-GAN (Bao, Chen, Wen, Li & Hua 2017, "CVAE-GAN: Fine-Grained Image Generation through
  Asymmetric Training"; the VAE/GAN hybrid of Larsen et al. 2016): the decoder is also the
  generator of a GAN. A discriminator D tells real images from reconstructions and from prior
  samples G(z, y); a classifier C, trained on real images, scores whether G's images show the
  asked-for digit. Updated in the order classifier, discriminator, encoder + generator. The
  course's is a simplified CVAE-GAN: Bao et al.'s generator matches the mean features of D and of
  C (per class) between real and generated images, and adds a pairwise feature matching of each
  reconstruction to its original in D's and C's features; here G takes the non-saturating
  adversarial loss and C's cross-entropy instead, the reconstruction term is the pixels' squared
  error only, and the networks are MLPs, not convolutional.

In the one loop G is a ``CVAE`` (encoder and decoder, one optimiser: the encoder's only losses
are the generator step's KL and reconstruction terms) and D is a ``CVAEGANCritic`` (D and C, one
optimiser). C and D have disjoint parameters and D's loss does not involve C, so one step on the
sum of their losses makes exactly the updates of a C step followed by a D step (Adam acts per
parameter): the order C, D, G is the loop's critic step, then its generator step. The plain
CVAE is the same objective with ``adv_weight = cls_weight = 0``: the same draws and batches, and
D and C still train but never reach the decoder. Taught in notebooks/10_conditional_gans.ipynb.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from gancourse import defaults, losses
from gancourse.conditional import N_DIGITS, ConditionalMLPGenerator, LabelCode
from gancourse.dcgan import IMAGE_SHAPE
from gancourse.nets import MLPDiscriminator, activation_layer
from gancourse.runtime import train_steps
from gancourse.validation import check_batch, check_int, check_labels, check_number


def _check_gaussian(mu: torch.Tensor, logvar: torch.Tensor) -> None:
    for name, t in (("mu", mu), ("logvar", logvar)):
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {type(t).__name__}")
    if mu.shape != logvar.shape:
        raise ValueError(f"mu and logvar must have the same shape, got {tuple(mu.shape)} and {tuple(logvar.shape)}")


def reparameterize(
    mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor | None = None, *, generator: torch.Generator | None = None
) -> torch.Tensor:
    """z = mu + exp(logvar / 2) * eps with eps ~ N(0, I): the std is exp(logvar / 2), not exp(logvar).

    ``eps`` (same shape as mu) may be given (the one loop draws it); otherwise it is drawn from ``generator``.
    """
    _check_gaussian(mu, logvar)
    if eps is None:
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
    elif eps.shape != mu.shape:
        raise ValueError(f"eps must have mu's shape {tuple(mu.shape)}, got {tuple(eps.shape)}")
    return mu + torch.exp(0.5 * logvar) * eps  # (N, latent_dim)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)) = 1/2 sum_j (exp(logvar_j) + mu_j^2 - 1 - logvar_j).

    mu, logvar (N, latent_dim): the KL is summed over the latent dimensions of each sample (it is
    the KL of the joint Gaussian) and averaged over the batch: a scalar, in nats per sample.
    """
    _check_gaussian(mu, logvar)
    if mu.ndim != 2:
        raise ValueError(f"mu and logvar must be (N, latent_dim), got shape {tuple(mu.shape)}")
    per_sample = 0.5 * (logvar.exp() + mu.pow(2) - 1.0 - logvar).sum(dim=1)  # (N,)
    return per_sample.mean()


class CVAEEncoder(nn.Module):
    """q(z | x, y): images x (N, *in_shape) and labels y (N,) -> (mu, logvar), each (N, latent_dim)."""

    def __init__(
        self, latent_dim: int = 16, n_classes: int = N_DIGITS, in_shape=IMAGE_SHAPE, hidden: int = 256, depth: int = 2
    ):
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim", 1)
        self.n_classes = check_int(n_classes, "n_classes", 1)
        self.in_shape = tuple(in_shape)
        self.code = LabelCode(self.n_classes)
        layers: list[nn.Module] = []
        width = math.prod(self.in_shape) + self.code.dim
        for _ in range(check_int(depth, "depth", 1)):
            layers += [nn.Linear(width, hidden), activation_layer("leaky_relu")]  # (N, hidden)
            width = hidden
        self.body = nn.Sequential(*layers)
        self.mu = nn.Linear(width, self.latent_dim)  # (N, latent_dim)
        self.logvar = nn.Linear(width, self.latent_dim)  # (N, latent_dim)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        check_batch(x, self.in_shape, "x", type(self).__name__)
        y = check_labels(y, self.n_classes, len(x))
        h = self.body(
            torch.cat([x.flatten(1), self.code(y).to(x.dtype)], dim=1)
        )  # (N, prod + n_classes) -> (N, hidden)
        return self.mu(h), self.logvar(h)  # (N, latent_dim) each


class CVAE(nn.Module):
    """Encoder q(z|x, y) and decoder G(z, y) (ending in Tanh: the data is in [-1, 1]); ``forward(z, y)`` decodes.

    So a CVAE is a conditional generator for the one loop, ``sample()`` and ``conditional_accuracy()``.
    """

    def __init__(
        self, latent_dim: int = 16, n_classes: int = N_DIGITS, hidden: int = 256, depth: int = 2, out_shape=IMAGE_SHAPE
    ):
        super().__init__()
        self.latent_dim = check_int(latent_dim, "latent_dim", 1)
        self.n_classes = check_int(n_classes, "n_classes", 1)
        self.encoder = CVAEEncoder(latent_dim, n_classes, out_shape, hidden, depth)
        self.decoder = ConditionalMLPGenerator(latent_dim, n_classes, out_shape, hidden, depth, tanh=True)

    def encode(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x, y)  # (N, latent_dim), (N, latent_dim)

    def decode(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.decoder(z, y)  # (N, *out_shape) in [-1, 1]

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.decode(z, y)

    @torch.no_grad()
    def reconstruct(self, x: torch.Tensor, y: torch.Tensor, y_new: torch.Tensor | None = None) -> torch.Tensor:
        """Decode the posterior mean of x (with label y) as y_new (default y), in eval mode: keep the style, change the label."""
        was_training = self.training
        self.eval()
        try:
            mu, _ = self.encode(x, y)
            return self.decode(mu, y if y_new is None else y_new)  # (N, *out_shape)
        finally:
            self.train(was_training)


class MLPClassifier(nn.Module):
    """C(x): images (N, *in_shape) -> class logits (N, n_classes); LeakyReLU MLP."""

    def __init__(self, n_classes: int = N_DIGITS, in_shape=IMAGE_SHAPE, hidden: int = 256, depth: int = 2):
        super().__init__()
        self.n_classes = check_int(n_classes, "n_classes", 1)
        self.in_shape = tuple(in_shape)
        layers: list[nn.Module] = [nn.Flatten()]  # (N, prod(in_shape))
        width = math.prod(self.in_shape)
        for _ in range(check_int(depth, "depth", 1)):
            layers += [nn.Linear(width, hidden), activation_layer("leaky_relu")]  # (N, hidden)
            width = hidden
        layers.append(nn.Linear(width, self.n_classes))  # (N, n_classes)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_batch(x, self.in_shape, "x", type(self).__name__)
        return self.net(x)  # (N, n_classes)


class CVAEGANCritic(nn.Module):
    """The CVAE-GAN's critics in one module (one optimiser): ``disc`` D(x) -> logits (N,), ``classifier`` C(x) -> (N, C)."""

    def __init__(self, disc: nn.Module, classifier: nn.Module):
        super().__init__()
        self.disc, self.classifier = disc, classifier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.disc(x)  # (N,)


class CVAEGANObjective:
    """The simplified CVAE-GAN losses for the one loop (Bao et al. 2017, Algorithm 1; see the module docstring).

    Critic step (C and D together, see the module docstring):
      C: cross-entropy of C(x_real) with y_real (real images only);
      D: BCE real -> 1, and reconstructions and prior samples G(z, y_fake) -> 0 (the two fakes weigh 1/2 each).
    Generator step (encoder and decoder):
      rec_weight * ||x - x_rec||^2 (per image sum, batch mean) + kl_weight * gaussian_kl
      + adv_weight * (-log D(x_rec) - log D(G(z, y))) + cls_weight * (CE(C(x_rec), y) + CE(C(G(z, y)), y_fake)).
    The eps of both steps' reparameterisation comes from the loop's draws (``draws``), never
    from torch.randn inside the step, so a captured step computes what the eager step does.
    ``adv_weight = cls_weight = 0`` is the plain CVAE.
    """

    name = "cvae-gan"
    conditional = True
    needs_G = True
    loss_bound = 1e6  # the reconstruction term sums 784 squared errors per image: up to ~3e3 before it blows up

    def __init__(
        self, rec_weight: float = 1.0, kl_weight: float = 1.0, adv_weight: float = 1.0, cls_weight: float = 1.0
    ):
        self.rec_weight = check_number(rec_weight, "rec_weight", 0)
        self.kl_weight = check_number(kl_weight, "kl_weight", 0)
        self.adv_weight = check_number(adv_weight, "adv_weight", 0)
        self.cls_weight = check_number(cls_weight, "cls_weight", 0)

    def draws(self, batch_size: int, n_critic: int, latent_dim: int, generator: torch.Generator, device):
        """eps for the reconstructions: (n_critic, B, latent_dim) for the critic steps, (B, latent_dim) for G."""
        critic = torch.randn(n_critic, batch_size, latent_dim, generator=generator, device=device)
        return {"eps": critic}, {"eps": torch.randn(batch_size, latent_dim, generator=generator, device=device)}

    @staticmethod
    def _check(G, D) -> None:
        if not (callable(getattr(G, "encode", None)) and callable(getattr(G, "decode", None))):
            raise TypeError(f"the CVAE-GAN needs G with encode(x, y) and decode(z, y) (a CVAE), got {type(G).__name__}")
        if not isinstance(getattr(D, "classifier", None), nn.Module):
            raise TypeError(f"the CVAE-GAN needs D with a classifier (a CVAEGANCritic), got {type(D).__name__}")

    def d_loss(self, D, x_real, x_fake, *, y_real, y_fake, G, eps, generator=None):
        self._check(G, D)
        with torch.no_grad():
            mu, logvar = G.encode(x_real, y_real)
            x_rec = G.decode(reparameterize(mu, logvar, eps), y_real)  # (B, *shape)
        real, rec, prior = D(x_real), D(x_rec.to(x_real.dtype)), D(x_fake)  # (B,) each
        ones, zeros = torch.ones_like(real), torch.zeros_like(real)
        bce = F.binary_cross_entropy_with_logits
        d = bce(real, ones) + 0.5 * (bce(rec, zeros) + bce(prior, zeros))
        c = F.cross_entropy(D.classifier(x_real), y_real)
        return d + c, {"d_adv": d.detach(), "c_loss": c.detach()}

    def g_loss(self, D, x_fake, x_real, *, y_real, y_fake, G, eps):
        self._check(G, D)
        mu, logvar = G.encode(x_real, y_real)  # (B, latent_dim) each
        x_rec = G.decode(reparameterize(mu, logvar, eps), y_real)  # (B, *shape)
        rec = (x_rec - x_real).pow(2).flatten(1).sum(dim=1).mean()
        kl = gaussian_kl(mu, logvar)
        loss = self.rec_weight * rec + self.kl_weight * kl
        if self.adv_weight:
            adv = losses.g_loss_nonsaturating(D(x_rec)) + losses.g_loss_nonsaturating(D(x_fake))
            loss = loss + self.adv_weight * adv
        if self.cls_weight:
            cls = F.cross_entropy(D.classifier(x_rec), y_real) + F.cross_entropy(D.classifier(x_fake), y_fake)
            loss = loss + self.cls_weight * cls
        return loss, {"rec": rec.detach(), "kl": kl.detach()}

    def __repr__(self) -> str:
        return (
            f"CVAEGANObjective(rec_weight={self.rec_weight}, kl_weight={self.kl_weight}, "
            f"adv_weight={self.adv_weight}, cls_weight={self.cls_weight})"
        )


def cvae_objective(rec_weight: float = 1.0, kl_weight: float = 1.0) -> CVAEGANObjective:
    """The plain CVAE through the one loop: the CVAE-GAN objective without its adversarial and class terms."""
    return CVAEGANObjective(rec_weight, kl_weight, adv_weight=0.0, cls_weight=0.0)


def mnist_cvae_gan(
    latent_dim: int = 8, hidden: int = 256, depth: int = 2, d_hidden: int = 256, dropout: float = 0.3
) -> tuple[CVAE, CVAEGANCritic]:
    """(G, D) for MNIST: a CVAE (MLP encoder and Tanh decoder) and a critic with an MLP D and an MLP classifier."""
    G = CVAE(latent_dim, N_DIGITS, hidden, depth)
    disc = MLPDiscriminator(IMAGE_SHAPE, d_hidden, depth, "leaky_relu", dropout=dropout)
    return G, CVAEGANCritic(disc, MLPClassifier(N_DIGITS, IMAGE_SHAPE, d_hidden, depth))


def mnist_recipe(plain: bool = False):
    """(G, D, objective, train_kwargs) of defaults.CVAE_GAN_MNIST for the current run profile; ``plain``: the CVAE.

    Train with ``train(G, D, x, labels=y, objective=objective, **train_kwargs)``; the CVAE and the
    CVAE-GAN built with the same seed draw the same batches and noise.
    """
    recipe = defaults.CVAE_GAN_MNIST
    G, D = mnist_cvae_gan(**recipe["nets"])
    weights = dict(recipe["objective"])
    if plain:
        weights.update(adv_weight=0.0, cls_weight=0.0)
    return G, D, CVAEGANObjective(**weights), {"steps": train_steps(**recipe["steps"]), **recipe["train"]}
