"""Checks for assignment 07 (solutions/07_wgan_gp.ipynb): random interpolates with one alpha per sample, the
per-sample gradient norm, the gradient penalty, the WGAN-GP critic step and the tutorial loop's batch count."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from gancourse import losses
from gancourse.checks import (
    call,
    expect,
    expect_close,
    expect_loss,
    expect_same_parameters,
    expect_tensor,
    passed,
    rng_kept,
    stale_gradients,
)
from gancourse.wasserstein import gradient_penalty as reference_penalty

SHAPES = ((64, 2), (16, 3, 5, 5))  # toy points and a batch of small multi-channel images


def _inputs(shape, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=g) + 2, torch.randn(shape, generator=g) - 2  # x_real - x_fake is never 0


def interpolates(fn) -> None:
    """Exercise 7.1: x_hat = alpha x_real + (1 - alpha) x_fake, one alpha ~ U[0, 1] per sample, from ``generator``."""
    for shape in SHAPES:
        x_real, x_fake = _inputs(shape, 0)
        what = f"on inputs of shape {shape} random_interpolates"
        hint = "alpha needs shape (N, 1, ..., 1), one trailing 1 per non-batch dimension, to broadcast over any input"
        with rng_kept() as rng:  # two calls with generators seeded alike, and the global RNG left alone
            x_hat = call("7.1", what, fn, x_real.clone(), x_fake.clone(), torch.Generator().manual_seed(1), hint=hint)
            again = call("7.1", what, fn, x_real.clone(), x_fake.clone(), torch.Generator().manual_seed(1), hint=hint)
        expect_tensor(
            x_hat,
            "7.1",
            f"random_interpolates on inputs of shape {shape}",
            shape=shape,
            hint="draw alpha of shape (N, 1, ..., 1) so that it broadcasts over every non-batch dimension",
        )
        expect(
            not rng.drew and torch.equal(x_hat, again),
            "7.1",
            "two calls with generators seeded alike should give the same interpolates, and the global RNG should "
            "not be used",
            "pass generator= to torch.rand",
        )
        n = shape[0]
        ratio = ((x_hat - x_fake) / (x_real - x_fake)).reshape(n, -1)  # (N, D): alpha, repeated D times per sample
        spread = (ratio.max(dim=1).values - ratio.min(dim=1).values).max().item()
        expect(
            spread < 1e-4,
            "7.1",
            f"within one sample alpha should be one number; (x_hat - x_fake) / (x_real - x_fake) varies by up to "
            f"{spread:.3g} across one sample's {ratio.shape[1]} entries (shape {shape})",
            "draw N alphas, one per sample: torch.rand(N, 1, ..., 1), not torch.rand_like(x_real)",
        )
        alpha = ratio[:, 0]
        expect(
            alpha.min().item() >= -1e-5 and alpha.max().item() <= 1 + 1e-5,
            "7.1",
            f"alpha should lie in [0, 1] (points on the segment between x_fake and x_real), got values in "
            f"[{alpha.min().item():.3g}, {alpha.max().item():.3g}]",
            "uniform on [0, 1]: torch.rand, not torch.randn",
        )
        expect(
            alpha.std().item() > 0.1 and len(torch.unique((alpha * 1e4).round())) > n // 2,
            "7.1",
            f"each sample should get its own alpha, but the {n} alphas are (nearly) all the same "
            f"(std {alpha.std().item():.3g})",
            "draw N alphas, one per sample, not one for the whole batch",
        )
    passed("7.1")


def reference_norm(grad: torch.Tensor) -> torch.Tensor:
    """Per-sample Euclidean norm over every non-batch dimension, finite gradient at zero."""
    return grad.reshape(len(grad), -1).pow(2).sum(dim=1).clamp_min(1e-12).sqrt()


def per_sample_norm(fn) -> None:
    """Exercise 7.2: (N, ...) -> (N,) Euclidean norms over all non-batch dimensions, with a finite gradient at 0."""
    g = torch.Generator().manual_seed(3)
    for shape in ((5, 2), (4, 3, 6, 6)):
        grad = torch.randn(shape, generator=g)
        got = expect_tensor(
            fn(grad.clone()),
            "7.2",
            f"per_sample_norm of a gradient of shape {shape}, one norm per sample,",
            shape=(shape[0],),
            hint="flatten every non-batch dimension first: grad.reshape(N, -1), then the norm over dim=1; "
            "grad.norm(2, dim=1) on an (N, C, H, W) gradient gives (N, H, W) norms over the channels only",
        )
        expect_close(
            got,
            torch.linalg.vector_norm(grad.reshape(shape[0], -1), dim=1),
            "7.2",
            f"the norms of a gradient of shape {shape}",
            rtol=1e-5,
            atol=1e-5,
            hint="the Euclidean (2-)norm of each sample's whole gradient",
        )
    zero = torch.zeros(3, 2, 4, 4, requires_grad=True)
    value = fn(zero)
    (d_zero,) = torch.autograd.grad(((value - 1) ** 2).mean(), zero, allow_unused=True)
    expect(
        d_zero is not None and bool(torch.isfinite(d_zero).all()) and bool(torch.isfinite(value).all()),
        "7.2",
        "at a zero gradient the penalty (norm - 1)^2 should have a finite gradient, got "
        f"{'none' if d_zero is None else d_zero.flatten()[:3].tolist()}",
        "sqrt has an infinite derivative at 0 and 0 * inf = nan: clamp the squared norm (clamp_min(1e-12)) "
        "before the sqrt, or use torch.linalg.vector_norm, whose gradient at 0 is 0",
    )
    passed("7.2")


def _mlp_critic() -> nn.Module:
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0))


def _conv_critic() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, stride=2, padding=1),  # (N, 4, 3, 3)
        nn.LeakyReLU(0.2),
        nn.Flatten(),  # (N, 36)
        nn.Linear(36, 1),  # (N, 1)
        nn.Flatten(0),  # (N,)
    )


def gradient_penalty(fn) -> None:
    """Exercise 7.3: mean (||grad critic(x_hat)|| - 1)^2 for given alphas, differentiable in the critic's weights."""
    for make, shape in ((_mlp_critic, (32, 2)), (_conv_critic, (8, 3, 5, 5))):
        with rng_kept(seed=4):
            critic = make()
        x_real, x_fake = _inputs(shape, 5)
        alpha = torch.rand(shape[0], generator=torch.Generator().manual_seed(6))
        kind = "an MLP critic on points (N, 2)" if len(shape) == 2 else "a conv critic on images (N, 3, 5, 5)"
        got = expect_tensor(
            fn(critic, x_real.clone(), x_fake.clone(), alpha.clone()),
            "7.3",
            f"the penalty for {kind}",
            shape=(),
            hint="one number: the mean of (norm - 1)^2 over the batch",
        )
        expected = reference_penalty(critic, x_real, x_fake, alpha=alpha)
        expect_close(
            got.detach(),
            expected.detach(),
            "7.3",
            f"the penalty for {kind}",
            rtol=1e-4,
            atol=1e-6,
            hint="x_hat = alpha x_real + (1 - alpha) x_fake (alpha reshaped to (N, 1, ...)), requires_grad; "
            "grad = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True); one norm per sample over "
            "ALL non-batch dimensions (flatten first); mean of (norm - 1)^2",
        )
        params = list(critic.parameters())
        expect(
            got.requires_grad,
            "7.3",
            f"the penalty for {kind} does not depend on the critic's weights, so it cannot train the critic",
            "pass create_graph=True to torch.autograd.grad: the penalty's own gradient needs the graph of the gradient "
            "(a double backward)",
        )
        got_grads = torch.autograd.grad(got, params, allow_unused=True)
        expected_grads = torch.autograd.grad(expected, params, allow_unused=True)
        for (name, _), mine, ref in zip(critic.named_parameters(), got_grads, expected_grads):
            expect(
                mine is not None or ref is None,  # a last-layer bias has no effect on grad_x: no gradient either way
                "7.3",
                f"the penalty has no gradient w.r.t. the critic's {name}",
                "pass create_graph=True to torch.autograd.grad",
            )
            if ref is None:
                continue
            expect_close(
                mine,
                ref,
                "7.3",
                f"the penalty's gradient w.r.t. the critic's {name} ({kind})",
                rtol=1e-4,
                atol=1e-6,
                hint="do not detach the gradient or the norm; create_graph=True",
            )
    passed("7.3")


def reference_critic_step(critic, opt, x_real, x_fake, gp_weight, alpha):
    """One WGAN-GP critic step: mean f(fake) - mean f(real) + gp_weight * penalty, then an optimiser step."""
    opt.zero_grad()
    loss = losses.wgan_critic_loss(critic(x_real), critic(x_fake)) + gp_weight * reference_penalty(
        critic, x_real, x_fake, alpha=alpha
    )
    loss.backward()
    opt.step()
    return loss.detach()


def critic_step(fn) -> None:
    """Exercise 7.4: one WGAN-GP critic step with Adam; no clipping."""
    with rng_kept(seed=7):
        critic = _mlp_critic()
    x_real, x_fake = _inputs((32, 2), 8)
    alpha = torch.rand(32, generator=torch.Generator().manual_seed(9))
    ref = copy.deepcopy(critic)
    stale_gradients(critic, ref)  # they must not leak into the step

    def adam(model):
        return torch.optim.Adam(model.parameters(), lr=0.01, betas=(0.0, 0.9))

    got = fn(critic, adam(critic), x_real.clone(), x_fake.clone(), 10.0, alpha.clone())
    expected = reference_critic_step(ref, adam(ref), x_real.clone(), x_fake.clone(), 10.0, alpha.clone())
    expect_loss(
        got,
        expected,
        "7.4",
        "critic_step",
        "the returned critic loss (gp_weight = 10)",
        rtol=1e-5,
        atol=1e-6,
        hint="mean f(fake) - mean f(real) + gp_weight * gradient_penalty(critic, x_real, x_fake, alpha=alpha)",
    )
    expect_same_parameters(
        critic,
        ref,
        "7.4",
        "the critic's",
        hint="opt.zero_grad(); the loss above (the penalty ADDED, times gp_weight); loss.backward(); opt.step(); "
        "and no weight clipping in WGAN-GP",
    )
    passed("7.4")


def tutorial_batches(n_data: int, batch_size: int, n_critic: int) -> int:
    """Critic batches per generator step when each of the n_critic steps is a full pass over the data."""
    return n_critic * math.ceil(n_data / batch_size)


def answer_tutorial_batches(answer) -> None:
    """Exercise 7.5: critic batches per generator step of the full-pass loop on MNIST (60,000, batch 64, n_critic 5)."""
    expect_close(
        answer,
        tutorial_batches(60_000, 64, 5),
        "7.5",
        "critic batches per generator step when each of the 5 critic steps loops over all 60,000 images in batches "
        "of 64 (the last batch kept)",
        atol=0.5,
        hint="one pass is ceil(60000 / 64) batches (the last, smaller batch counts too), and there are n_critic passes",
    )
    passed("7.5")
