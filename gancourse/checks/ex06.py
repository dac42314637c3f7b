"""Checks for assignment 06 (solutions/06_wgan.ipynb): the WGAN losses, in-place weight clipping, the critic
step, the generator step and the Lipschitz bound that clipping gives."""

from __future__ import annotations

import copy

import torch
from torch import nn

from gancourse import losses
from gancourse.checks import (
    call,
    expect,
    expect_close,
    expect_left_trainable,
    expect_loss,
    expect_same_parameters,
    expect_tensor,
    passed,
    rng_kept,
    stale_gradients,
)
from gancourse.lipschitz import clipped_lipschitz_bound
from gancourse.wasserstein import clip_weights_

SCORES_REAL = torch.tensor([0.3, -1.2, 2.5, 0.0, 4.0, -0.7])
SCORES_FAKE = torch.tensor([-2.0, 0.4, -0.1, 1.5, -3.0, 0.9, 0.2, -0.6])  # a different batch size on purpose


def _scalar(value, exercise: str, what: str) -> torch.Tensor:
    return expect_tensor(value, exercise, f"{what}'s result", shape=(), hint="take the mean")


def wgan_losses(critic_loss, generator_loss) -> None:
    """Exercise 6.1: critic loss mean f(fake) - mean f(real); generator loss -mean f(fake)."""
    got_c = _scalar(
        critic_loss(SCORES_REAL.clone(), SCORES_FAKE.clone()), "6.1", "critic_loss(real_scores, fake_scores)"
    )
    got_g = _scalar(generator_loss(SCORES_FAKE.clone()), "6.1", "generator_loss(fake_scores)")
    expect_close(
        got_c,
        losses.wgan_critic_loss(SCORES_REAL, SCORES_FAKE),
        "6.1",
        "critic_loss on 6 real and 8 fake scores",
        rtol=1e-6,
        atol=1e-7,
        hint="the critic MAXIMISES mean f(real) - mean f(fake), so it minimises mean f(fake) - mean f(real); "
        "raw scores, no sigmoid or log; means, not sums (the batches differ in size)",
    )
    expect_close(
        got_g,
        losses.wgan_g_loss(SCORES_FAKE),
        "6.1",
        "generator_loss on 8 fake scores",
        rtol=1e-6,
        atol=1e-7,
        hint="G wants its samples scored high: it minimises -mean f(fake)",
    )
    real = SCORES_REAL.clone().requires_grad_(True)
    fake = SCORES_FAKE.clone().requires_grad_(True)
    loss = critic_loss(real, fake)
    grads = torch.autograd.grad(loss, (real, fake), allow_unused=True) if loss.requires_grad else (None, None)
    expect(
        all(g is not None for g in grads),
        "6.1",
        "critic_loss should be differentiable in both the real and the fake scores",
        "compute it with torch operations on the tensors you are given (no .item(), no .detach())",
    )
    passed("6.1")


class _Critic(nn.Module):
    """A small conv critic with biases everywhere and one free parameter: every kind of parameter a critic has."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 3, 3, stride=2, padding=1)  # (N, 3, 3, 3)
        self.fc = nn.Linear(3 * 3 * 3, 4)  # (N, 4)
        self.out = nn.Linear(4, 1)  # (N, 1)
        self.scale = nn.Parameter(torch.tensor([0.5, -0.8]))  # not in any layer: a plain parameter

    def forward(self, x):
        h = torch.relu(self.conv(x)).flatten(1)  # (N, 27)
        return self.out(torch.relu(self.fc(h))).squeeze(1) * self.scale.sum()  # (N,)


def _seeded_critic(seed: int) -> _Critic:
    with rng_kept(seed=seed):
        model = _Critic()
    with torch.no_grad():  # spread the values well beyond any clip used below
        g = torch.Generator().manual_seed(seed + 1)
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    return model


def clip_weights(fn) -> None:
    """Exercise 6.2: clamp every parameter (weights and biases, conv and linear) to [-c, c], in place."""
    for clip in (0.01, 0.3):
        model = _seeded_critic(0)
        before = {name: p.detach().clone() for name, p in model.named_parameters()}
        originals = dict(model.named_parameters())
        opt = torch.optim.SGD(model.parameters(), lr=0.1)
        call(  # autograd's complaints (in-place on a leaf, out= on a tensor that requires grad) become a hint
            "6.2",
            "clipping",
            fn,
            model,
            clip,
            hint="autograd refuses to change parameters it tracks in place (p.clamp_, out=p, p[:] = ...) unless "
            "that happens under torch.no_grad(): wrap the loop in `with torch.no_grad():`",
        )
        params = dict(model.named_parameters())
        expect(
            set(params) == set(before),
            "6.2",
            f"the model's parameters changed names: {sorted(params)} instead of {sorted(before)}",
        )
        for name, p in sorted(params.items(), key=lambda item: "." not in item[0]):  # layers first, then `scale`
            expect(  # p.data = p.data.clamp(-c, c) keeps the Parameter (and the optimiser's hold on it): fine
                p is originals[name],
                "6.2",
                f"parameter {name} was replaced by a new Parameter; the optimiser still holds the old one",
                "change the values of the existing parameters (p.clamp_(-c, c) under torch.no_grad()), "
                "do not assign new nn.Parameter objects",
            )
            expect(
                p.requires_grad and p.is_leaf,
                "6.2",
                f"parameter {name} no longer requires grad (or is no longer a leaf) after clipping",
                "under torch.no_grad() there is no need to toggle requires_grad; leave it as it was",
            )
            expect_close(
                p.detach(),
                before[name].clamp(-clip, clip),
                "6.2",
                f"parameter {name} ({type(_owner(model, name)).__name__}) after clipping to c = {clip}",
                atol=1e-7,
                hint="clamp EVERY parameter of the critic, weights and biases, in every kind of layer: "
                "loop over model.parameters()",
            )
        expect(
            all(p is q for p, q in zip(opt.param_groups[0]["params"], model.parameters())),
            "6.2",
            "the optimiser no longer holds the model's parameters",
        )
    passed("6.2")


def _owner(model: nn.Module, name: str) -> nn.Module:
    module_name = name.rpartition(".")[0]
    return model.get_submodule(module_name) if module_name else model


class _Tiny(nn.Module):
    def __init__(self, d_in, d_out):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(d_in, 16), nn.ReLU(), nn.Linear(16, d_out))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def _pair(seed: int) -> tuple[nn.Module, nn.Module]:
    with rng_kept(seed=seed):
        return _Tiny(3, 2), _Tiny(2, 1)


def reference_critic_step(critic, opt, x_real, x_fake, clip):
    """One WGAN critic step: loss mean f(fake) - mean f(real), an optimiser step, then clip every parameter."""
    opt.zero_grad()
    loss = losses.wgan_critic_loss(critic(x_real), critic(x_fake.detach()))
    loss.backward()
    opt.step()
    clip_weights_(critic, clip)
    return loss.detach()


def critic_step(fn) -> None:
    """Exercise 6.3: zero the gradients, the critic loss, backward, RMSProp step, clip."""
    _, D = _pair(1)
    g = torch.Generator().manual_seed(2)
    x_real, x_fake = torch.randn(16, 2, generator=g) + 1, torch.randn(16, 2, generator=g) - 1
    clip = 0.05
    ref = copy.deepcopy(D)
    stale_gradients(D, ref)  # gradients left over from an earlier step must not leak in
    got = fn(D, torch.optim.RMSprop(D.parameters(), lr=0.01), x_real.clone(), x_fake.clone(), clip)
    expected = reference_critic_step(ref, torch.optim.RMSprop(ref.parameters(), lr=0.01), x_real, x_fake, clip)
    expect_loss(
        got,
        expected,
        "6.3",
        "critic_step",
        "the returned critic loss",
        rtol=1e-5,
        hint="mean critic(x_fake) - mean critic(x_real), computed BEFORE the optimiser step",
    )
    for (name, p), q in zip(D.named_parameters(), ref.parameters()):
        expect(
            p.detach().abs().max().item() <= clip + 1e-7,
            "6.3",
            f"after the step, parameter {name} has |value| up to {p.detach().abs().max().item():.4g} > c = {clip}",
            "clip every parameter of the critic AFTER the optimiser step",
        )
        expect_close(
            p.detach(),
            q.detach(),
            "6.3",
            f"the critic's parameter {name} after one step",
            rtol=1e-5,
            atol=1e-6,
            hint="opt.zero_grad() first; minimise mean f(fake) - mean f(real); opt.step(); then clip",
        )
    passed("6.3")


def reference_generator_step(G, critic, opt_G, z):
    """One WGAN generator step: minimise -mean f(G(z)) over G's parameters only."""
    opt_G.zero_grad()
    loss = losses.wgan_g_loss(critic(G(z)))
    loss.backward()
    opt_G.step()
    return loss.detach()


def generator_step(fn) -> None:
    """Exercise 6.4: zero G's gradients, -mean f(G(z)), backward, G's optimiser step; the critic is untouched."""
    G, D = _pair(3)
    z = torch.randn(16, 3, generator=torch.Generator().manual_seed(4))
    G_ref, D_ref = copy.deepcopy(G), copy.deepcopy(D)
    critic_before = [p.detach().clone() for p in D.parameters()]
    stale_gradients(G, G_ref)
    got = fn(G, D, torch.optim.RMSprop(G.parameters(), lr=0.01), z.clone())
    expected = reference_generator_step(G_ref, D_ref, torch.optim.RMSprop(G_ref.parameters(), lr=0.01), z.clone())
    expect_loss(
        got, expected, "6.4", "generator_step", "the returned generator loss", rtol=1e-5, hint="-mean critic(G(z))"
    )
    expect_same_parameters(
        G,
        G_ref,
        "6.4",
        "G's",
        hint="opt_G.zero_grad(); loss = -critic(G(z)).mean() (no detach: the gradient must reach G); "
        "loss.backward(); opt_G.step()",
    )
    for (name, p), q in zip(D.named_parameters(), critic_before):
        expect(
            torch.equal(p.detach(), q),
            "6.4",
            f"the generator step changed the critic's parameter {name}",
            "only G's optimiser steps here",
        )
    expect_left_trainable(
        D,
        "6.4",
        "the critic's",
        hint="the critic trains again in the next critic step: if you freeze it for G's step "
        "(requires_grad_(False)) or switch it to eval(), undo it before returning; the gradient only has to "
        "flow through the critic, and G's optimiser only steps G",
    )
    passed("6.4")


def lipschitz_bound(sizes, clip: float) -> float:
    """The largest Lipschitz constant of a ReLU MLP with layer widths ``sizes`` and every weight in [-clip, clip]."""
    layers = [nn.Linear(n_in, n_out, device="meta") for n_in, n_out in zip(sizes[:-1], sizes[1:])]  # no RNG, no memory
    return clipped_lipschitz_bound(nn.Sequential(*layers), clip)


def answer_lipschitz_bound(answer) -> None:
    """Exercise 6.5: the Lipschitz bound of a clipped critic 2 -> 128 -> 128 -> 1 with c = 0.01."""
    expect_close(
        answer,
        lipschitz_bound((2, 128, 128, 1), 0.01),
        "6.5",
        "the largest Lipschitz constant of a 2 -> 128 -> 128 -> 1 ReLU critic with every weight in [-0.01, 0.01]",
        rtol=1e-3,
        hint="ReLU is 1-Lipschitz, so K <= product of the layers' spectral norms; an (m, n) matrix with entries in "
        "[-c, c] has spectral norm at most its Frobenius norm c*sqrt(m*n), reached when every entry is c",
    )
    passed("6.5")
