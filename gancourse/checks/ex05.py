"""Checks for assignment 05 (solutions/05_vanilla_gan.ipynb): GAN losses on logits, label smoothing,
the minibatch-std layer and one alternating training step."""

from __future__ import annotations

import copy

import torch

from gancourse import losses, nets
from gancourse.checks import (
    expect,
    expect_close,
    expect_left_trainable,
    expect_loss,
    expect_same_parameters,
    expect_tensor,
    fail,
    passed,
    rng_kept,
    stale_gradients,
)

# logits from confident to very confident: in float32 naive log(sigmoid(l)) underflows to -inf for l below about
# -100 (sigmoid gives 0), and log(1 - sigmoid(l)) already from l = 17 (sigmoid rounds to 1)
LOGITS_REAL = torch.tensor([3.0, -2.0, 0.5, 40.0, -120.0, 0.0])
LOGITS_FAKE = torch.tensor([-4.0, 1.5, -0.3, -150.0, 60.0, 0.0])


def _tensor(value, exercise: str, what: str) -> torch.Tensor:
    """A finite scalar loss tensor, or a failed check: confident logits must not overflow the loss."""
    expect_tensor(value, exercise, f"{what}'s result", shape=(), hint="take the mean over the batch")
    expect(
        torch.isfinite(value),
        exercise,
        f"{what} returned {value.item()} for very confident logits (up to ±150)",
        "log(sigmoid(l)) underflows; use F.binary_cross_entropy_with_logits or softplus: -log sigmoid(l) = softplus(-l)",
    )
    return value


def d_loss(fn) -> None:
    """Exercise 5.1: the discriminator's loss on logits, stable for confident D."""
    got = _tensor(fn(LOGITS_REAL.clone(), LOGITS_FAKE.clone()), "5.1", "d_loss(real_logits, fake_logits)")
    expected = losses.d_loss(LOGITS_REAL, LOGITS_FAKE)
    expect_close(
        got,
        expected,
        "5.1",
        "d_loss on six real and six fake logits",
        rtol=1e-5,
        hint="-mean(log D(x_real)) - mean(log(1 - D(x_fake))), with D = sigmoid(logit): real targets 1, fake targets 0",
    )
    passed("5.1")


def g_losses(saturating, nonsaturating) -> None:
    """Exercise 5.2: the saturating and the non-saturating generator losses on logits."""
    got_s = _tensor(saturating(LOGITS_FAKE.clone()), "5.2", "g_loss_saturating(fake_logits)")
    got_n = _tensor(nonsaturating(LOGITS_FAKE.clone()), "5.2", "g_loss_nonsaturating(fake_logits)")
    expect_close(
        got_s,
        losses.g_loss_saturating(LOGITS_FAKE),
        "5.2",
        "g_loss_saturating",
        rtol=1e-5,
        hint="the minimax loss G minimises is mean(log(1 - D(G(z)))) = mean(-softplus(l))",
    )
    expect_close(
        got_n,
        losses.g_loss_nonsaturating(LOGITS_FAKE),
        "5.2",
        "g_loss_nonsaturating",
        rtol=1e-5,
        hint="G minimises -mean(log D(G(z))) = mean(softplus(-l))",
    )
    passed("5.2")


def smoothed_d_loss(fn) -> None:
    """Exercise 5.3: one-sided label smoothing: real targets 1 - smooth, fake targets stay 0."""
    for smooth in (0.1, 0.25):
        got = _tensor(
            fn(LOGITS_REAL.clone(), LOGITS_FAKE.clone(), smooth), "5.3", f"d_loss_smoothed(..., smooth={smooth})"
        )
        expect_close(
            got,
            losses.d_loss(LOGITS_REAL, LOGITS_FAKE, real_label=1 - smooth),
            "5.3",
            f"d_loss_smoothed with smooth={smooth}",
            rtol=1e-5,
            hint="one-sided: only the real targets move (to 1 - smooth); smoothing the fake targets too "
            "rewards G's samples where p_real is 0 (Salimans et al. 2016)",
        )
    passed("5.3")


def minibatch_std(fn) -> None:
    """Exercise 5.4: append the batch's mean feature std as one extra feature, (N, F) -> (N, F + 1)."""
    g = torch.Generator().manual_seed(0)
    h = torch.randn(6, 5, generator=g) * torch.arange(1.0, 6.0)
    got = expect_tensor(
        fn(h.clone()),
        "5.4",
        "minibatch_std of a (6, 5) batch",
        shape=(6, 6),
        hint="concatenate one column to the features",
    )
    expect_close(got[:, :5], h, "5.4", "the first 5 columns (the input features, unchanged)", atol=1e-6)
    expect_close(
        got,
        nets.MinibatchStd()(h),
        "5.4",
        "the appended column",
        rtol=1e-4,
        atol=1e-6,
        hint="std of each feature over the BATCH (dim 0, population: unbiased=False), then the mean over features, "
        "the same value for every sample",
    )
    passed("5.4")


class _Tiny(torch.nn.Module):
    """A small MLP (N, d_in) -> (N, d_out) (squeezed to (N,) when d_out = 1), built from ``seed``."""

    def __init__(self, d_in: int, d_out: int, seed: int):
        super().__init__()
        with rng_kept(seed=seed):  # the global RNG is left as it was
            self.net = torch.nn.Sequential(torch.nn.Linear(d_in, 8), torch.nn.ReLU(), torch.nn.Linear(8, d_out))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def _reference_step(G, D, opt_G, opt_D, x_real, z):
    opt_D.zero_grad()
    loss_d = losses.d_loss(D(x_real), D(G(z).detach()))
    loss_d.backward()
    opt_D.step()
    opt_G.zero_grad()
    loss_g = losses.g_loss_nonsaturating(D(G(z)))
    loss_g.backward()
    opt_G.step()
    return loss_d.detach(), loss_g.detach()


def train_step(fn) -> None:
    """Exercise 5.5: one D step on detached fakes, then one G step with the non-saturating loss."""
    G, D = _Tiny(3, 2, seed=1), _Tiny(2, 1, seed=2)
    g = torch.Generator().manual_seed(3)
    x_real, z = torch.randn(16, 2, generator=g), torch.randn(16, 3, generator=g)
    copies = [copy.deepcopy(m) for m in (G, D)]
    stale_gradients(G, D, *copies)  # stale gradients from an earlier step must not leak in

    def sgd(model):
        return torch.optim.SGD(model.parameters(), lr=0.1)

    got = fn(G, D, sgd(G), sgd(D), x_real, z)
    expected = _reference_step(copies[0], copies[1], sgd(copies[0]), sgd(copies[1]), x_real, z)
    if not (isinstance(got, tuple) and len(got) == 2):
        fail("5.5", f"train_step should return (d_loss, g_loss), got {type(got).__name__}")
    hint = "D's loss on D(x_real) and D(G(z).detach()); G's non-saturating loss on D(G(z)) AFTER D's update"
    for value, ref, what in zip(got, expected, ("d_loss", "g_loss")):
        expect_loss(value, ref, "5.5", "train_step", f"the returned {what}", rtol=1e-5, hint=hint)
    for name, mine, ref in (("D", D, copies[1]), ("G", G, copies[0])):
        expect_same_parameters(
            mine,
            ref,
            "5.5",
            f"{name}'s",
            after="after the step",
            hint="zero each optimiser's gradients before its backward, detach the fakes in D's step, "
            "and update D before computing G's loss",
        )
    for name, model in (("D's", D), ("G's", G)):
        expect_left_trainable(
            model,
            "5.5",
            name,
            hint="the next call trains both nets again: if you freeze D for G's step (requires_grad_(False)) or "
            "switch it to eval(), undo it before returning (requires_grad_(True), train()); detaching the fakes "
            "is all D's step needs",
        )
    passed("5.5")


def answer_smoothed_optimum(answer) -> None:
    """Exercise 5.6: D* with real targets 0.9, where p_real = p_fake."""
    expect_close(
        answer,
        0.45,
        "5.6",
        "D*(x) with one-sided smoothing 0.9 where p_real(x) = p_fake(x)",
        atol=1e-6,
        hint="maximise 0.9 p_r log D + 0.1 p_r log(1 - D) + p_g log(1 - D): D* = 0.9 p_r / (p_r + p_g)",
    )
    passed("5.6")
