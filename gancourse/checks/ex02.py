"""Checks for assignment 02 (solutions/02_optimal_discriminator.ipynb): D*, V, V(G, D*), the generator's gradient."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from gancourse import data, discriminator, divergences
from gancourse.checks import as_array, expect, expect_close, fail, number, passed, rng_kept


def _gauss(mu: float, s: float):
    return lambda x: np.exp(-0.5 * ((np.asarray(x) - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))


def optimal_d(fn) -> None:
    """Exercise 2.1: optimal_d(p_real, p_fake) = p_real / (p_real + p_fake), elementwise."""
    # Checked where the data has mass (p_real + p_fake > 1e-3 on the grid): there an epsilon of 1e-8 added to the
    # denominator for safety changes D* by less than 1e-5, so that right answer passes too.
    hint = "D* is the probability that x is real: the real density's share of the total, p_r / (p_r + p_g)"
    for a, b in [(1.0, 1.0), (3.0, 1.0), (0.2, 1.8)]:
        expect_close(fn(a, b), a / (a + b), "2.1", f"optimal_d({a}, {b})", rtol=1e-6, hint=hint)
    x = np.linspace(-3, 4, 71)
    p_real, p_fake = _gauss(0.0, 1.0)(x), _gauss(2.0, 0.7)(x)
    got = as_array(fn(p_real.copy(), p_fake.copy()), "2.1", "optimal_d on arrays")
    expect(got.shape == x.shape, "2.1", f"optimal_d should keep the shape {x.shape} of its inputs, got {got.shape}")
    expect_close(
        got,
        discriminator.optimal_discriminator(p_real, p_fake),
        "2.1",
        "optimal_d(N(0,1) density, N(2,0.7²) density) on a grid of [-3, 4]",
        rtol=1e-5,
        hint=hint,
    )
    passed("2.1")


def _probabilities(n: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.sigmoid(3 * torch.randn(n, 1, generator=g, dtype=torch.float64))  # (n, 1) in (0, 1)


def gan_value(fn) -> None:
    """Exercise 2.2: gan_value(d_real, d_fake) = mean log d_real + mean log(1 − d_fake), differentiable."""
    d_real, d_fake = _probabilities(50, 1), _probabilities(80, 2)  # different sizes: a sum is not a mean
    expected = torch.log(d_real).mean() + torch.log1p(-d_fake).mean()
    got = fn(d_real.clone(), d_fake.clone())
    expect_close(
        got,
        expected.item(),
        "2.2",
        "gan_value on 50 real and 80 fake outputs",
        rtol=1e-9,
        hint="mean of log D on the real batch plus mean of log(1 − D) on the fake batch; D maximises it, "
        "so it is the negative of the discriminator's loss",
    )
    expect_close(
        fn(torch.full((4, 1), 0.5), torch.full((3, 1), 0.5)),
        -2 * math.log(2),
        "2.2",
        "gan_value when D = ½ everywhere",
        rtol=1e-6,
    )
    leaf_real, leaf_fake = d_real.clone().requires_grad_(True), d_fake.clone().requires_grad_(True)
    out = fn(leaf_real, leaf_fake)
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        fail(
            "2.2",
            "gan_value should return a torch tensor that autograd can differentiate (training needs it)",
            "compute with torch operations (torch.log, .mean()), not NumPy or float()",
        )
    out.backward()
    grad = -1 / (1 - d_fake) / len(d_fake)  # float32 arithmetic inside gan_value is right too: rtol 1e-5
    expect_close(leaf_fake.grad, grad, "2.2", "∂ gan_value / ∂ d_fake", rtol=1e-5)
    passed("2.2")


PAIRS = [
    ("N(0,1) vs N(0,1)", _gauss(0.0, 1.0), _gauss(0.0, 1.0)),
    ("N(0,1) vs N(1.5,1)", _gauss(0.0, 1.0), _gauss(1.5, 1.0)),
    ("N(0,1) vs N(2,0.5²)", _gauss(0.0, 1.0), _gauss(2.0, 0.5)),
    ("N(1,2²) vs a two-mode mixture", _gauss(1.0, 2.0), lambda x: data.mixture_pdf_1d(x, [-2.0, 3.0], [0.5, 1.0])),
]


def _shifted(pdf, by: float):
    return lambda x: pdf(np.asarray(x) - by)


def value_at_optimum(fn) -> None:
    """Exercise 2.3: value_at_optimum(p_real, p_fake, lo, hi) = V(G, D*) = ∫ p_r log D* + p_g log(1 − D*) on [lo, hi]."""
    hint = (
        "integrate p_r log(p_r / (p_r + p_g)) + p_g log(p_g / (p_r + p_g)) over [lo, hi] "
        "(scipy.integrate.quad), skipping points where a density is 0"
    )
    for name, p_real, p_fake in PAIRS:  # 2 JS - 2 log 2, computed another way
        expected = 2 * divergences.js_quad(p_real, p_fake, -20, 20) - 2 * math.log(2)
        expect_close(
            fn(p_real, p_fake, -20, 20), expected, "2.3", f"V(G, D*) for {name} on [-20, 20]", atol=1e-5, hint=hint
        )
        # the same pair moved to x = 50, on an interval that holds its mass there: V does not change
        what = f"V(G, D*) for {name}, both moved right by 50, on [30, 70]"
        expect_close(
            number(fn(_shifted(p_real, 50.0), _shifted(p_fake, 50.0), 30.0, 70.0), "2.3", what),
            expected,
            "2.3",
            what,
            atol=1e-5,
            hint=hint,
            mistakes=[
                (0.0, "the densities' mass lies in [lo, hi] = [30, 70]: integrate over the interval you are given")
            ],
        )
    passed("2.3")


def _nets(seed: int) -> tuple[nn.Module, nn.Module, torch.Tensor]:
    """A small generator, a discriminator returning logits, and a batch of noise, without touching global RNG."""
    g = torch.Generator().manual_seed(seed)
    with rng_kept():  # nn.Linear's own init draws from the global generator
        G = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))  # z (N, 2) -> x (N, 1)
        D = nn.Sequential(nn.Linear(1, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1))  # x (N, 1) -> logit (N, 1)
    with torch.no_grad():
        for p in [*G.parameters(), *D.parameters()]:
            p.copy_(torch.randn(p.shape, generator=g))
        D[-1].bias.sub_(3.0)  # a confident discriminator: D(G(z)) mostly small
    return G, D, torch.randn(64, 2, generator=g)


def _reference_norm(G: nn.Module, D: nn.Module, z: torch.Tensor) -> float:
    loss = -F.softplus(D(G(z))).mean()  # log(1 − sigmoid(l)) = −softplus(l)
    grads = torch.autograd.grad(loss, list(G.parameters()))
    return math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))


def _grads_left(G: nn.Module, D: nn.Module) -> list[str]:
    """The networks ("G", "D") with a parameter whose .grad holds a non-zero gradient."""
    return [
        name
        for name, net in (("G", G), ("D", D))
        if any(p.grad is not None and bool(p.grad.ne(0).any()) for p in net.parameters())
    ]


def saturating_grad_norm(fn) -> None:
    """Exercise 2.4: the L2 norm, over all of G's parameters, of ∇ mean log(1 − sigmoid(D(G(z))))."""
    accumulate = (
        "backward() accumulates gradients into the .grad of every parameter it reaches, D's included, and the next "
        "call (or D's next training step) adds to them: use torch.autograd.grad(loss, list(G.parameters())), which "
        "leaves .grad alone, or set the .grad of G and D back to None"
    )
    for seed in (0, 1):
        G, D, z = _nets(seed)
        before = [p.detach().clone() for p in [*G.parameters(), *D.parameters()]]
        expected = _reference_norm(G, D, z)
        hint = (
            "D returns logits: the loss is mean log(1 − sigmoid(D(G(z)))); take the gradient with respect to "
            "every parameter of G and the L2 norm of all of them together (not squared)"
        )
        expect_close(fn(G, D, z), expected, "2.4", f"the gradient norm (nets seeded {seed})", rtol=1e-4, hint=hint)
        left = _grads_left(G, D)
        expect(
            not left, "2.4", f"measuring the gradient left gradients in the .grad of {' and '.join(left)}", accumulate
        )
        expect_close(
            fn(G, D, z), expected, "2.4", f"a second call on the same nets (seeded {seed})", rtol=1e-4, hint=accumulate
        )
        after = [p.detach() for p in [*G.parameters(), *D.parameters()]]
        expect(
            all(torch.equal(a, b) for a, b in zip(before, after)),
            "2.4",
            "measuring the gradient changed the networks' weights",
            "measure only: no optimiser step",
        )
    passed("2.4")


GRADIENT_RATIO_CASES = [0.01, 0.3, 1e-4, 0.5, 0.9, 0.999]  # 0.01 is the value the assignment's cell prints


def gradient_ratio(fn) -> None:
    """Exercise 2.5: at D(G(z)) = d, |∂(−log D)/∂l| / |∂ log(1 − D)/∂l| = (1 − d) / d."""
    for d in GRADIENT_RATIO_CASES:
        expect_close(
            fn(d),
            (1 - d) / d,
            "2.5",
            f"gradient_ratio({d}), the non-saturating gradient's size over the saturating one's at D(G(z)) = {d}",
            rtol=1e-6,
            hint="with D = sigmoid(l): d/dl log(1 − D) = −D and d/dl (−log D) = −(1 − D); the ratio of their sizes",
        )
    passed("2.5")
