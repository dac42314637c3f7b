"""Checks for assignment 10 (solutions/10_conditional_gans.ipynb): conditioning by one-hot concatenation, the AC-GAN
losses, the reparameterisation trick, the closed-form Gaussian KL and the LSGAN losses.

Mirza & Osindero 2014 (cGAN); Odena et al. 2017 (AC-GAN); Kingma & Welling 2014 (the reparameterisation trick and
the KL of a diagonal Gaussian to N(0, I)); Mao et al. 2017 (LSGAN, labels a = 0, b = 1, c = 1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import torch
import torch.nn.functional as F

from gancourse import losses
from gancourse.checks import call, expect, expect_close, expect_tensor, fail, passed, rng_kept


def _f64(*tensors: torch.Tensor) -> list[torch.Tensor]:
    return [t.detach().double() if t.is_floating_point() else t.detach() for t in tensors]


class _Loss(NamedTuple):
    """What a loss check needs to know about one loss: its reference, its hints, and the known mistakes."""

    reference: Callable  # the right loss, of the inputs in float64
    hint: str  # the formula, shown for a wrong value
    inputs: str  # the inputs' shapes, shown when the student's function raises
    mistakes: list  # (a known mistake, as a function of the inputs; the hint that names it)
    shape_hint: str = "take the mean"


def _check_loss(exercise: str, loss: _Loss, fn, inputs, what: str):
    """fn(*inputs) must be a 0-d, finite loss on the inputs' graph, equal to the reference; (it, the leaf inputs)."""
    args = [t.clone().requires_grad_(True) if t.is_floating_point() else t.clone() for t in inputs]
    got = call(exercise, what, fn, *args, hint=loss.inputs)
    if not isinstance(got, torch.Tensor):
        fail(
            exercise,
            f"{what} should return a torch.Tensor, got {type(got).__name__}",
            "keep the loss a tensor (no .item(), float() or numpy) so that loss.backward() can train with it",
        )
    if got.ndim != 0:
        fail(exercise, f"{what} should return a scalar (0-d) tensor, got shape {tuple(got.shape)}", loss.shape_hint)
    expect(
        bool(torch.isfinite(got)),
        exercise,
        f"{what} returned {got.item()}",
        "work on logits with the stable functions (F.binary_cross_entropy_with_logits, F.cross_entropy): "
        "sigmoid or softmax first, then log, gives log(0) for confident logits",
    )
    expect(
        got.requires_grad,
        exercise,
        f"{what} is cut off from its inputs' graph: no gradient would reach the networks",
        "compute it with torch operations on the tensors you are given, without detach(), .data, .item() or numpy",
    )
    x = _f64(*inputs)
    mistakes = [(wrong(*x), diagnosis) for wrong, diagnosis in loss.mistakes]
    expect_close(
        got.detach().double(),
        loss.reference(*x),
        exercise,
        what,
        rtol=1e-5,
        atol=1e-6,
        hint=loss.hint,
        mistakes=mistakes,
    )
    return got, args


# --------------------------------------------------------------------------- 10.1 conditioning by concatenation


def reference_concat_condition(x: torch.Tensor, y: torch.Tensor, n_classes: int) -> torch.Tensor:
    """(N, F) features and (N,) labels -> (N, F + n_classes): x, then one_hot(y) in x's dtype."""
    return torch.cat([x, F.one_hot(y, n_classes).to(x.dtype)], dim=1)  # (N, F + n_classes)


def _concat_cases():
    g = torch.Generator().manual_seed(10)
    return [
        # N = n_classes: a transposed one-hot has the right shape here
        (
            "x (10, 4) float32, 10 classes",
            torch.randn(10, 4, generator=g),
            torch.randint(0, 10, (10,), generator=g),
            10,
        ),
        # the largest label is 6 of 10 classes: F.one_hot(y) without num_classes is too narrow
        ("x (6, 3) float32, 10 classes", torch.randn(6, 3, generator=g), torch.tensor([0, 3, 1, 6, 3, 2]), 10),
        (
            "x (5, 2) float64, 3 classes",
            torch.randn(5, 2, generator=g, dtype=torch.float64),
            torch.tensor([2, 0, 1, 2, 2]),
            3,
        ),
    ]


def concat_condition(fn) -> None:
    """Exercise 10.1: fn(x, y, n_classes) = x (N, F) joined along dim 1 with one_hot(y) -> (N, F + n_classes)."""
    for what, x0, y, n in _concat_cases():
        x = x0.clone().requires_grad_(True)
        out = call(
            "10.1",
            f"concat_condition on {what}",
            fn,
            x,
            y.clone(),
            n,
            hint="F.one_hot(y, n_classes) has shape (N, n_classes); join it to x with torch.cat along dim=1",
        )
        expect_tensor(out, "10.1", f"concat_condition on {what}")
        _expect_concat_shape(tuple(out.shape), x0, y, n, what)
        expect(
            out.dtype == x.dtype,
            "10.1",
            f"for {what} the result should keep x's dtype {x.dtype}, got {out.dtype}",
            "convert the one-hot (an integer tensor) to x's dtype: F.one_hot(y, n_classes).to(x.dtype); "
            "do not cast x, and do not make it float64 (.double()) when x is float32",
        )
        _expect_x_then_one_hot(out.detach(), x0, y, n, what)
        expect(
            out.requires_grad,
            "10.1",
            f"for {what} the result is cut off from x's graph: no gradient would reach the generator or the "
            "discriminator through x",
            "torch.cat keeps the graph: no detach(), .data or numpy",
        )
        n_feat = x0.shape[1]
        (dx,) = torch.autograd.grad(out[:, :n_feat].sum(), x, allow_unused=True)
        expect(
            dx is not None and torch.equal(dx, torch.ones_like(x0)),
            "10.1",
            f"for {what} the gradient of the result's first {n_feat} columns with respect to x should be 1 everywhere",
            "return x itself in those columns, not a copy made without autograd",
        )
    passed("10.1")


def _expect_concat_shape(shape: tuple, x0: torch.Tensor, y: torch.Tensor, n: int, what: str) -> None:
    """The result is (N, F + n_classes); a wrong shape is told by the mistake that gives it."""
    n_rows, n_feat = x0.shape
    narrow = int(y.max()) + 1
    hints = {
        (n_rows, n_feat + 1): "that appends the label as one number: one-hot encode it, F.one_hot(y, n_classes), one "
        "column per class",
        (n_rows, n_feat + narrow): "F.one_hot(y) without num_classes is only as wide as the largest label in the "
        f"batch plus one ({narrow} here): pass num_classes=n_classes",
    }
    expect(
        shape == (n_rows, n_feat + n),
        "10.1",
        f"for {what} the result should have shape {(n_rows, n_feat + n)} (N, F + n_classes), got {shape}",
        hints.get(
            shape,
            "one row per sample: concatenate along dim=1 (the features), not dim=0, and make the one-hot part "
            "n_classes columns wide",
        ),
    )


def _expect_x_then_one_hot(out: torch.Tensor, x0: torch.Tensor, y: torch.Tensor, n: int, what: str) -> None:
    """The first columns are x, unchanged; the last n_classes are one_hot(y)."""
    n_feat = x0.shape[1]
    if not torch.equal(out[:, :n_feat], x0):
        first = "the one-hot comes first, then x" if torch.equal(out[:, n:], x0) else "x was changed"
        fail(
            "10.1",
            f"for {what} the first {n_feat} columns should be x, unchanged ({first})",
            "torch.cat([x, one_hot], dim=1): x first, as is (x.long() or .int() truncates the features), then the "
            "one-hot; the conditional nets of this lecture expect that order",
        )
    block = out[:, n_feat:]
    expect(
        bool(((block == 0) | (block == 1)).all()) and bool((block.sum(dim=1) == 1).all()),
        "10.1",
        f"for {what} the last {n} columns should be one-hot (a single 1 per row, 0 elsewhere); for labels "
        f"{y[:3].tolist()} the first rows are {block[:3].tolist()}",
        "F.one_hot(y, n_classes): not the label itself, an embedding, or a one-hot built along dim 0 and transposed",
    )
    cols = block.argmax(dim=1)
    expect(
        torch.equal(cols, y),
        "10.1",
        f"for {what} the 1 of row i should sit in column y[i]: labels {y.tolist()}, the 1s are in columns "
        f"{cols.tolist()}",
        "F.one_hot(y, n_classes) puts row i's 1 at column y[i]; a one-hot of shape (n_classes, N) transposed "
        "puts class c's 1s in row c instead",
    )


# --------------------------------------------------------------------------- 10.2 the AC-GAN losses


def reference_acgan_d_loss(real_logits, fake_logits, real_class_logits, fake_class_logits, y_real, y_fake):
    """BCE(real logits, 1) + BCE(fake logits, 0) + CE(real class logits, y_real) + CE(fake class logits, y_fake)."""
    adversarial = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    adversarial = adversarial + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return adversarial + F.cross_entropy(real_class_logits, y_real) + F.cross_entropy(fake_class_logits, y_fake)


def reference_acgan_g_loss(fake_logits, fake_class_logits, y_fake):
    """BCE(fake logits, 1), the non-saturating loss, + CE(fake class logits, y_fake)."""
    adversarial = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return adversarial + F.cross_entropy(fake_class_logits, y_fake)


def _acgan_cases():
    """(what, (real_logits, fake_logits, real_class_logits, fake_class_logits, y_real, y_fake)), as the losses take them."""
    g = torch.Generator().manual_seed(11)
    n, k = 10, 10
    r = torch.randn(n, generator=g) * 2 + 0.5  # real_logits (N,)
    rc = torch.randn(n, k, generator=g) * 2  # real_class_logits (N, K)
    yr = torch.randint(0, k, (n,), generator=g)  # y_real (N,)
    f = torch.randn(n, generator=g) * 2 - 0.5  # fake_logits (N,)
    fc = torch.randn(n, k, generator=g) * 2  # fake_class_logits (N, K)
    yf = torch.randint(0, k, (n,), generator=g)  # y_fake (N,)
    moderate = ("10 real and 10 fake samples, 10 classes", (r, f, rc, fc, yr, yf))
    r = torch.tensor([40.0, -60.0, 35.0, 3.0, -1.0, 50.0])
    rc = torch.randn(6, 4, generator=g) * 20
    yr = torch.tensor([0, 1, 2, 3, 3, 1])
    f = torch.tensor([-45.0, 30.0, -2.0, 0.5, -120.0, 12.0])
    fc = torch.randn(6, 4, generator=g) * 20
    yf = torch.tensor([2, 2, 0, 1, 3, 0])
    confident = ("a confident discriminator (logits up to ±120), 4 classes", (r, f, rc, fc, yr, yf))
    return [moderate, confident]


_sp = F.softplus  # BCE-with-logits(l, 1) = softplus(-l), BCE-with-logits(l, 0) = softplus(l)
_ce = F.cross_entropy


def _ce_softmax(c, y):  # softmax, then cross_entropy's own log_softmax
    return F.cross_entropy(c.softmax(dim=1), y)


def _nll_probs(c, y):  # nll_loss fed probabilities, not log-probabilities
    return F.nll_loss(c.softmax(dim=1), y)


def _bce_of_sigmoid(logits: torch.Tensor, target: float) -> torch.Tensor:  # in float32, as a learner computes it
    return F.binary_cross_entropy(logits.float().sigmoid(), torch.full_like(logits.float(), target)).double()


def _adv(r, f):  # D's adversarial loss: real logits to target 1, fake logits to target 0
    return _sp(-r).mean() + _sp(f).mean()


_PROBABILITY_SPACE = (
    "sigmoid, then BCE on probabilities: in float32 sigmoid(40) rounds to 1 and sigmoid(-120) to 0, and "
    "F.binary_cross_entropy clamps log(0) at -100; use F.binary_cross_entropy_with_logits on the raw logits"
)

ACGAN_D_LOSS = _Loss(
    reference=reference_acgan_d_loss,
    hint="BCE-with-logits(real_logits, 1) + BCE-with-logits(fake_logits, 0) + F.cross_entropy(real_class_logits, "
    "y_real) + F.cross_entropy(fake_class_logits, y_fake), each a mean over its batch; "
    "F.binary_cross_entropy_with_logits stays exact for confident logits where sigmoid then log does not",
    inputs="real_logits, fake_logits: (N,); real_class_logits, fake_class_logits: (N, n_classes) raw scores; "
    "y_real, y_fake: (N,) integer labels",
    mistakes=[
        (
            lambda r, f, rc, fc, yr, yf: _adv(r, f) + _ce(rc, yr),
            "the class loss on the FAKE samples is missing: in AC-GAN D also classifies G's samples, by the labels "
            "G was asked for (y_fake); add F.cross_entropy(fake_class_logits, y_fake)",
        ),
        (
            lambda r, f, rc, fc, yr, yf: _adv(r, f),
            "the class losses are missing: add F.cross_entropy on the real AND on the fake class logits",
        ),
        (
            lambda r, f, rc, fc, yr, yf: _sp(r).mean() + _sp(-f).mean() + _ce(rc, yr) + _ce(fc, yf),
            "the real and fake targets are swapped: D's real logits get target 1, its fake logits target 0",
        ),
        (
            lambda r, f, rc, fc, yr, yf: _adv(r, f) + _ce_softmax(rc, yr) + _ce_softmax(fc, yf),
            "softmax is applied twice: F.cross_entropy applies log_softmax itself, so pass it the raw class logits",
        ),
        (
            lambda r, f, rc, fc, yr, yf: _adv(r, f) + _nll_probs(rc, yr) + _nll_probs(fc, yf),
            "F.nll_loss expects log-probabilities, not probabilities: use F.cross_entropy on the raw class logits",
        ),
        (
            lambda r, f, rc, fc, yr, yf: _bce_of_sigmoid(r, 1.0) + _bce_of_sigmoid(f, 0.0) + _ce(rc, yr) + _ce(fc, yf),
            _PROBABILITY_SPACE,
        ),
        (
            lambda r, f, rc, fc, yr, yf: _adv(r, f) + 0.5 * (_ce(rc, yr) + _ce(fc, yf)),
            "the two class losses are averaged: AC-GAN adds them, CE(real) + CE(fake), like the two BCE terms",
        ),
    ],
)

ACGAN_G_LOSS = _Loss(
    reference=reference_acgan_g_loss,
    hint="BCE-with-logits(fake_logits, 1) (non-saturating) + F.cross_entropy(fake_class_logits, y_fake)",
    inputs="fake_logits: (N,); fake_class_logits: (N, n_classes) raw scores; y_fake: (N,) integer labels",
    mistakes=[
        (
            lambda f, fc, yf: -_sp(f).mean() + _ce(fc, yf),
            "that is the saturating loss mean(log(1 - D(G(z)))): its gradient vanishes while D rejects G's "
            "samples; use the non-saturating -log D(G(z)) = BCE-with-logits(fake_logits, 1)",
        ),
        (
            lambda f, fc, yf: _sp(-f).mean(),
            "the class loss is missing: G must also make D's classifier recognise the label it was asked for",
        ),
        (
            lambda f, fc, yf: _sp(f).mean() + _ce(fc, yf),
            "target 0 for G's samples is D's goal: G wants D to call its samples real, target 1",
        ),
        (
            lambda f, fc, yf: _sp(-f).mean() - _ce(fc, yf),
            "the class loss has the wrong sign: D and G both MINIMISE the class cross-entropy (both maximise the "
            "log-likelihood of the right class, L_C in Odena et al.)",
        ),
        (
            lambda f, fc, yf: _sp(-f).mean() + _ce_softmax(fc, yf),
            "softmax is applied twice: pass the raw class logits to F.cross_entropy",
        ),
        (lambda f, fc, yf: _bce_of_sigmoid(f, 1.0) + _ce(fc, yf), _PROBABILITY_SPACE),
        (
            lambda f, fc, yf: _sp(-f).mean() + _nll_probs(fc, yf),
            "F.nll_loss expects log-probabilities: use F.cross_entropy on the raw logits",
        ),
    ],
)


def acgan_losses(d_loss_fn, g_loss_fn) -> None:
    """Exercise 10.2: the AC-GAN losses of D and G: adversarial BCE on logits plus class cross-entropy."""
    for what, (r, f, rc, fc, yr, yf) in _acgan_cases():
        _check_loss("10.2", ACGAN_D_LOSS, d_loss_fn, (r, f, rc, fc, yr, yf), f"acgan_d_loss on {what}")
        _check_loss("10.2", ACGAN_G_LOSS, g_loss_fn, (f, fc, yf), f"acgan_g_loss on {what}")
    passed("10.2")


# --------------------------------------------------------------------------- 10.3 the reparameterisation trick


def reference_reparameterize(mu: torch.Tensor, logvar: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
    """z = mu + sigma * eps with sigma = exp(logvar / 2): a sample of N(mu, diag exp(logvar)) that mu and logvar steer."""
    return mu + torch.exp(0.5 * logvar) * eps  # (N, d)


# (a known mistake, as a function of mu, logvar and eps; the hint that names it)
REPARAMETERIZE_MISTAKES = [
    (
        lambda m, lv, e: m + torch.exp(lv) * e,
        "exp(logvar) is the variance sigma^2, not the standard deviation: sigma = exp(0.5 * logvar)",
    ),
    (
        lambda m, lv, e: m + torch.exp(lv) / 2 * e,
        "exp(logvar) ** 1/2 is (exp(logvar) ** 1) / 2 in Python: write exp(logvar) ** 0.5, or better exp(0.5 * logvar)",
    ),
    (
        lambda m, lv, e: m + 0.5 * torch.exp(lv) * e,
        "0.5 * exp(logvar) is not sigma: the ½ goes inside the exp, exp(0.5 * logvar)",
    ),
    (lambda m, lv, e: torch.exp(0.5 * lv) * e, "mu is missing: z = mu + sigma * eps"),
    (lambda m, lv, e: m + lv * e, "logvar is log sigma^2, not sigma: sigma = exp(0.5 * logvar)"),
    (lambda m, lv, e: m + torch.exp(0.5 * lv), "eps is missing: z = mu + sigma * eps"),
]


def reparameterize(fn) -> None:
    """Exercise 10.3: fn(mu, logvar, eps) = mu + exp(0.5 logvar) eps, differentiable in mu and logvar."""
    g = torch.Generator().manual_seed(12)
    mu0 = torch.randn(8, 4, generator=g) * 1.5  # (N, d)
    logvar0 = torch.rand(8, 4, generator=g) * 5 - 3  # (N, d), in [-3, 2]: sigma from 0.22 to 2.7
    eps = torch.randn(8, 4, generator=g)  # (N, d)
    weights = torch.randn(8, 4, generator=g)  # a downstream loss sum(weights * z)
    mu, logvar = mu0.clone().requires_grad_(True), logvar0.clone().requires_grad_(True)
    with rng_kept() as rng:
        z = call(
            "10.3",
            "reparameterize(mu (8, 4), logvar (8, 4), eps (8, 4))",
            fn,
            mu,
            logvar,
            eps.clone(),
            hint="z = mu + torch.exp(0.5 * logvar) * eps, elementwise",
        )
    expect_tensor(
        z,
        "10.3",
        "z for mu, logvar and eps of shape (8, 4)",
        shape=(8, 4),
        hint="everything is elementwise: no sum, mean or matrix product",
    )
    expect(
        bool(torch.isfinite(z).all()),
        "10.3",
        f"z contains NaN or inf for logvar in [-3, 2]: {z.detach()[0].tolist()}",
        "logvar = log sigma^2 is negative whenever sigma < 1, so sqrt(logvar) is NaN there; sigma = exp(0.5 * logvar)",
    )
    x = _f64(mu0, logvar0, eps)
    expect_close(
        z.detach().double(),
        reference_reparameterize(*x),
        "10.3",
        "z for the given mu, logvar and eps",
        rtol=1e-5,
        atol=1e-6,
        hint="use the eps you are given (drawing your own makes z random and uncheckable): z = mu + exp(0.5 * logvar) * eps"
        if rng.drew
        else "z = mu + exp(0.5 * logvar) * eps",
        mistakes=[(wrong(*x), diagnosis) for wrong, diagnosis in REPARAMETERIZE_MISTAKES],
    )
    _expect_gradients(z, mu, logvar, weights * z, [weights, 0.5 * weights * torch.exp(0.5 * logvar0) * eps])
    passed("10.3")


def _expect_gradients(z, mu, logvar, downstream, expected) -> None:
    """The gradients of downstream.sum() reach mu and logvar through z, and equal ``expected`` (for mu, logvar)."""
    expect(
        z.requires_grad,
        "10.3",
        "z is cut off from mu and logvar: the encoder would get no gradient, which is the whole point of the trick",
        "compute z with torch operations on mu and logvar, without detach(), .data or torch.no_grad()",
    )
    grads = torch.autograd.grad(downstream.sum(), [mu, logvar], allow_unused=True)
    hints = ["do not detach mu", "do not detach logvar or sigma; dz/dlogvar = 0.5 * exp(0.5 * logvar) * eps"]
    for name, got, want, hint in zip(("mu", "logvar"), grads, expected, hints):
        expect(got is not None, "10.3", f"no gradient reaches {name} through z", hint)
        expect_close(
            got,
            want.double(),
            "10.3",
            f"the gradient of sum(w * z) with respect to {name}",
            rtol=1e-5,
            atol=1e-6,
            hint=hint,
        )


# --------------------------------------------------------------------------- 10.4 the Gaussian KL


def reference_gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag exp(logvar)) || N(0, I)): -1/2 sum_d (1 + logvar - mu^2 - exp(logvar)), mean over the batch."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp()).sum(dim=1)).mean()


def _kl_cases():
    g = torch.Generator().manual_seed(13)
    return [
        (
            "a batch of 8 with 5 latent dimensions",
            torch.randn(8, 5, generator=g),
            torch.rand(8, 5, generator=g) * 3.5 - 2,
        ),
        (
            "a batch of 3 with 16 latent dimensions",
            torch.randn(3, 16, generator=g) * 2,
            torch.rand(3, 16, generator=g) * 3 - 1.5,
        ),
        ("mu = 0 and logvar = 0 (q is the prior: KL = 0)", torch.zeros(4, 6), torch.zeros(4, 6)),
    ]


def _kl_terms(m, lv):  # (N, d): the per-dimension terms of -2 KL
    return 1 + lv - m.pow(2) - lv.exp()


GAUSSIAN_KL = _Loss(
    reference=reference_gaussian_kl,
    hint="per sample -0.5 * sum over dim=1 of (1 + logvar - mu^2 - exp(logvar)), then the mean over the batch",
    inputs="mu and logvar have shape (N, latent_dim)",
    shape_hint="one number for the batch, not one per sample: sum over the latent dimensions (dim=1), then the mean "
    "over the batch",
    mistakes=[
        (
            lambda m, lv: -reference_gaussian_kl(m, lv),
            "the sign is wrong (a KL is never negative): KL = -0.5 * sum(1 + logvar - mu^2 - exp(logvar))",
        ),
        (
            lambda m, lv: 2 * reference_gaussian_kl(m, lv),
            "the factor ½ is missing: KL = -0.5 * sum(1 + logvar - mu^2 - exp(logvar))",
        ),
        (
            lambda m, lv: len(m) * reference_gaussian_kl(m, lv),
            "that is the sum over the batch: sum over the latent dimensions (dim=1), then the MEAN over the batch",
        ),
        (
            lambda m, lv: reference_gaussian_kl(m, lv) / m.shape[1],
            "that averages over the latent dimensions too: the KL of a diagonal Gaussian is the SUM of the "
            "per-dimension KLs; only the batch is averaged",
        ),
        (
            lambda m, lv: (-0.5 * _kl_terms(m, lv)).mean() * len(m),
            "that sums over the batch and averages over the latent dimensions: the other way round, the sum "
            "over the latent dimensions (dim=1), then the mean over the batch",
        ),
        (
            lambda m, lv: (-0.5 * (1 + lv - m.pow(2) - torch.exp(0.5 * lv)).sum(dim=1)).mean(),
            "exp(0.5 * logvar) is sigma; the formula needs the variance sigma^2 = exp(logvar)",
        ),
    ],
)


def gaussian_kl(fn) -> None:
    """Exercise 10.4: the closed-form KL(N(mu, diag exp(logvar)) || N(0, I)), summed over dims, averaged over samples."""
    for what, mu0, logvar0 in _kl_cases():
        got, (mu, logvar) = _check_loss("10.4", GAUSSIAN_KL, fn, (mu0, logvar0), f"gaussian_kl on {what}")
        d_mu, d_logvar = torch.autograd.grad(got, [mu, logvar], allow_unused=True)
        expect(
            d_mu is not None and d_logvar is not None,
            "10.4",
            f"gaussian_kl on {what} gives no gradient to {'mu' if d_mu is None else 'logvar'}",
            "do not detach mu or logvar: the KL term trains the encoder",
        )
    passed("10.4")


# --------------------------------------------------------------------------- 10.5 the LSGAN losses


def reference_lsgan_d_loss(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]: losses.lsgan_d_loss with a = 0, b = 1."""
    return losses.lsgan_d_loss(real_scores, fake_scores, a=0.0, b=1.0)


def reference_lsgan_g_loss(fake_scores: torch.Tensor) -> torch.Tensor:
    """1/2 E[(D(G(z)) - 1)^2]: losses.lsgan_g_loss with c = 1."""
    return losses.lsgan_g_loss(fake_scores, c=1.0)


LSGAN_D_LOSS = _Loss(
    reference=reference_lsgan_d_loss,
    hint="0.5 * mean((real_scores - 1) ** 2) + 0.5 * mean(fake_scores ** 2), each mean over its own batch",
    inputs="the scores are D's raw outputs, shape (N,)",
    mistakes=[
        (
            lambda r, f: (r - 1).pow(2).mean() + f.pow(2).mean(),
            "the ½ is missing: this course follows Mao et al.'s eq. 2, "
            "½ E[(D(x) - 1)^2] + ½ E[D(G(z))^2] (gancourse.losses.lsgan_d_loss)",
        ),
        (
            lambda r, f: 0.5 * r.pow(2).mean() + 0.5 * (f - 1).pow(2).mean(),
            "the targets are swapped: real scores are pulled to b = 1, fake scores to a = 0",
        ),
        (
            lambda r, f: 0.5 * (r - 1).abs().mean() + 0.5 * f.abs().mean(),
            "that is an absolute error: LSGAN squares the distance to the target, (score - target) ** 2",
        ),
        (
            lambda r, f: 0.5 * (r.sigmoid() - 1).pow(2).mean() + 0.5 * f.sigmoid().pow(2).mean(),
            "no sigmoid: LSGAN's D outputs a raw score, and the squared error is taken on that score",
        ),
        (
            lambda r, f: 0.5 * (r - 1).pow(2).mean() + 0.5 * (f + 1).pow(2).mean(),
            "the fake target is 0 here (a = 0, b = 1, c = 1), not -1",
        ),
    ],
)

LSGAN_G_LOSS = _Loss(
    reference=reference_lsgan_g_loss,
    hint="0.5 * mean((fake_scores - 1) ** 2)",
    inputs="fake_scores: D's raw outputs, (N,)",
    mistakes=[
        (lambda f: (f - 1).pow(2).mean(), "the ½ is missing: ½ E[(D(G(z)) - 1)^2] (gancourse.losses.lsgan_g_loss)"),
        (lambda f: 0.5 * f.pow(2).mean(), "target 0 is D's target for fakes: G pulls its scores to c = 1"),
        (lambda f: 0.5 * (f - 1).abs().mean(), "that is an absolute error: LSGAN squares it, (fake_scores - 1) ** 2"),
        (lambda f: 0.5 * (f.sigmoid() - 1).pow(2).mean(), "no sigmoid: the squared error is taken on D's raw score"),
        (lambda f: -0.5 * f.pow(2).mean(), "G does not maximise D's loss: it minimises ½ E[(D(G(z)) - 1)^2]"),
    ],
)


def lsgan_losses(d_loss_fn, g_loss_fn) -> None:
    """Exercise 10.5: the LSGAN losses on D's raw scores (Mao et al. 2017, a = 0, b = 1, c = 1, with the ½)."""
    g = torch.Generator().manual_seed(14)
    real = torch.randn(10, generator=g) * 1.5 + 0.5  # raw scores (N,), many outside [0, 1]
    fake = torch.randn(7, generator=g) * 1.5 - 0.3
    _check_loss("10.5", LSGAN_D_LOSS, d_loss_fn, (real, fake), "lsgan_d_loss(real_scores (10,), fake_scores (7,))")
    _check_loss("10.5", LSGAN_G_LOSS, g_loss_fn, (fake,), "lsgan_g_loss(fake_scores (7,))")
    passed("10.5")
