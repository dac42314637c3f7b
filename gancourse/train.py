"""The one training loop of the course: n_critic updates of the critic D, then one of the generator G, repeated.

Goodfellow et al. 2014 (Algorithm 1: alternating updates), Arjovsky et al. 2017 (n_critic critic steps per
generator step). Taught in notebooks/05_vanilla_gan.ipynb; WGAN (06), WGAN-GP (07), DCGAN (08), the
evaluation lecture (09) and conditional GANs (10) train through it.

Read it top to bottom: ``draws`` (all of a step's randomness), ``make_step`` (the algorithm), ``train``
(the loop around it) and ``sample``. What surrounds the loop lives in gancourse.training, which a learner
need not read: the checks of train()'s inputs, the fast path (a CUDA graph), logging and resuming.

- ``data``: a tensor (N, ...) kept on G's device, batches drawn by index; or a sampler ``f(n, generator)``.
- ``objective`` (default: the GAN with the non-saturating generator loss, gancourse.losses): its
  ``d_loss(D, x_real, x_fake, generator=)`` and ``g_loss(D, x_fake, x_real)`` return a loss or
  ``(loss, {name: scalar to log})``. It may ask for more: ``needs_G = True`` passes ``G=G`` to both;
  ``draws(batch_size, n_critic, latent_dim, generator, device) -> (critic_draws, generator_draws)``
  declares its own randomness (dicts of tensors, the critic's with a leading n_critic axis), passed as
  keyword arguments (the critic's k-th slice to critic step k); ``loss_bound`` is the largest |loss| of a
  run that has not blown up (gancourse.training.log).
- Conditional training: ``labels`` (N,) aligned with a data tensor, a G(z, y) with ``n_classes`` and an
  objective with ``conditional = True`` (gancourse.conditional, gancourse.cvae): each critic batch's
  labels travel with it, the fakes' labels are drawn uniformly, and both losses get ``y_real=, y_fake=``.
- Optimisers: Adam(lr, betas) for both nets unless ``opt_G``/``opt_D`` are given; ``lr_d`` gives D its
  own rate (TTUR, Heusel et al. 2017).
- Bookkeeping: logged scalars are means over windows of ``log_every`` steps; ``snapshot_every`` keeps
  samples of fixed latents; ``checkpoint`` names a file written atomically every ``checkpoint_every``
  steps and at the end, from which a later call continues (``resume``; gancourse.training.resume).
- A run trains where G's parameters are (or on ``device=``, which moves G and D there). On CUDA the
  step is captured once as a CUDA graph and replayed (``fast``; gancourse.training.fastpath); it
  computes the same function as the plain step, because the draws come first.
- Ensembles (gancourse.ensemble): G and D stacks of K members train as K runs in one. Every draw gains a
  member axis after the critic-step axis, the losses are one per member (K,) and add up before the backward
  pass (so each member's gradient is its own), and the logged scalars are one per member.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from gancourse.checkpoints import load_checkpoint, save_checkpoint
from gancourse.ensemble import members_of
from gancourse.hooks import Hook, TrainState
from gancourse.training import fastpath, inputs
from gancourse.training import resume as resuming
from gancourse.training.log import DivergedError, Log, NonFiniteLossError
from gancourse.validation import labels_checked

__all__ = ["Hook", "TrainState", "Run", "DivergedError", "NonFiniteLossError", "adam", "draws", "make_step"]
__all__ += ["train", "sample", "save_checkpoint", "load_checkpoint"]
adam = inputs.adam  # Adam with checked lr and betas


@dataclass
class Run:
    """The result of train(): logged scalars (for an ensemble, K per window), sample snapshots and timing."""

    history: dict[str, list[float]] = field(default_factory=dict)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    resumed_from: int | None = None

    def last(self, key: str) -> float:
        return self.history[key][-1]


def draws(
    gen,
    device,
    *,
    n_data,
    batch_size,
    n_critic,
    latent_dim,
    n_classes=None,
    objective_draws=None,
    dtype=None,
    members=None,
):
    """A function that draws all of one step's randomness up front, from the loop's generator ``gen``.

    The order of the draws is a contract: a checkpoint saves the generator's state and a resumed run draws on
    from it, and the captured step replays with these draws copied into its buffers. Change the order and a
    resumed run no longer continues the run it stopped. Per step, in this order:
      1. ``idx`` (n_critic, B): the indices of each critic step's real batch (only when data is a tensor);
      2. ``z_d`` (n_critic, B, latent_dim): the latents of each critic step's fakes (in G's ``dtype``);
      3. ``z_g`` (B, latent_dim): the latents of the generator step;
      4. ``y_d`` (n_critic, B) and ``y_g`` (B): the fakes' labels, uniform (conditional runs only);
      5. the objective's own draws (WGAN-GP's alpha, the CVAE-GAN's eps), critic's then generator's,
         as ``d:name`` and ``g:name``.
    Inside the step come, for each critic step in turn, a sampler's batch (data given as a sampler), then
    the hooks' draws for D's loss (``d_inputs``: instance noise), then any draw of the loss's own
    (``generator=``); then, in G's step, the hooks' draws for G's loss (``g_inputs``: instance noise again,
    on the last critic batch and G's fakes). A hook that does not override ``g_inputs`` draws nothing there.
    Dropout draws from torch's global generator, which checkpoints save as well.
    tests/test_loop_contract.py holds this contract.
    An ensemble of K ``members`` draws the same tensors, in the same order, with a member axis K in front of
    the batch axis B: idx (n_critic, K, B), z_d (n_critic, K, B, latent_dim), z_g (K, B, latent_dim), and the
    objective's draws (asked for with ``members=K``); a sampler gives K * B samples per critic step.
    """
    B = (batch_size,) if members is None else (members, batch_size)  # one batch, or one per member
    kw = {} if members is None else {"members": members}

    def draw() -> dict[str, torch.Tensor]:
        d = {}
        if n_data is not None:
            d["idx"] = torch.randint(n_data, (n_critic, *B), generator=gen, device=device)
        d["z_d"] = torch.randn(n_critic, *B, latent_dim, generator=gen, device=device, dtype=dtype)
        d["z_g"] = torch.randn(*B, latent_dim, generator=gen, device=device, dtype=dtype)
        if n_classes is not None:
            d["y_d"] = torch.randint(n_classes, (n_critic, *B), generator=gen, device=device)
            d["y_g"] = torch.randint(n_classes, B, generator=gen, device=device)
        if objective_draws is not None:
            critic_draws, generator_draws = objective_draws(batch_size, n_critic, latent_dim, gen, device, **kw)
            d.update({f"d:{k}": v for k, v in critic_draws.items()})
            d.update({f"g:{k}": v for k, v in generator_draws.items()})
        return d

    return draw


def make_step(state, objective, real_batch, hooks, *, n_critic: int, labelled=False, needs_G=False) -> Callable:
    """One training step as a function of its draws ``d``: n_critic updates of D, then one update of G.

    ``state`` holds the nets and optimisers (gancourse.hooks.TrainState); ``real_batch(d, k)`` gives critic step
    k's real batch and its labels (None when unlabelled); ``labelled``: G and the losses take labels.
    The step returns the detached (d_loss, g_loss, {name: scalar}) of its last critic step and its G step
    (for an ensemble of K, one value per member: (K,)).
    """
    G, D, opt_G, opt_D = state.G, state.D, state.opt_G, state.opt_D
    shape = () if members_of(G) is None else (members_of(G),)  # a loss: one run's scalar, or one per member

    def fake(z, y):  # G(z), or G(z, y) for a conditional G
        return G(z) if y is None else G(z, y)

    def extra(d, prefix: str, k, y_real, y_fake) -> dict:  # the objective's own inputs: draws, labels, G
        kw = {name[2:]: v if k is None else v[k] for name, v in d.items() if name.startswith(prefix)}
        kw.update({"y_real": y_real, "y_fake": y_fake} if labelled else {})
        return kw | ({"G": G} if needs_G else {})

    def step(d: dict[str, torch.Tensor]):
        # ---------------------------------------------------------------------------------------------------
        # (1) Update D, n_critic times: minimise objective.d_loss(D, x_real, x_fake).
        #     The GAN: maximise log D(x) + log(1 - D(G(z)));  WGAN: maximise D(x) - D(G(z)).
        # ---------------------------------------------------------------------------------------------------
        for k in range(n_critic):
            x_real, y_real = real_batch(d, k)  # (B, ...) and its labels (B,), or None
            y_fake = d["y_d"][k] if labelled else None
            with torch.no_grad():
                x_fake = fake(d["z_d"][k], y_fake)  # (B, ...): D's step sends no gradient into G
            seen_real, seen_fake = x_real, x_fake
            for h in hooks:  # what D sees in its own loss (e.g. instance noise)
                seen_real, seen_fake = h.d_inputs(seen_real, seen_fake, state)
            out = objective.d_loss(
                D, seen_real, seen_fake, generator=state.generator, **extra(d, "d:", k, y_real, y_fake)
            )
            loss_d, logged = out if isinstance(out, tuple) else (out, {})
            loss_d = _plus(loss_d, [h.d_penalty(state) for h in hooks], shape, "d")
            opt_D.zero_grad(set_to_none=True)
            loss_d.sum().backward()  # an ensemble's members' losses add up: each member's gradient is its own
            opt_D.step()
            for h in hooks:  # e.g. weight clipping
                h.after_d_step(state)

        # ---------------------------------------------------------------------------------------------------
        # (2) Update G once: minimise objective.g_loss(D, G(z)), judged against the last critic batch.
        #     The GAN (non-saturating): maximise log D(G(z));  WGAN: maximise D(G(z)).
        # ---------------------------------------------------------------------------------------------------
        y_fake = d["y_g"] if labelled else None
        x_fake = fake(d["z_g"], y_fake)  # (B, ...), with gradients into G this time
        seen_real, seen_fake = x_real, x_fake
        for h in hooks:  # what D sees in G's loss (instance noise again)
            seen_real, seen_fake = h.g_inputs(seen_real, seen_fake, state)
        out = objective.g_loss(D, seen_fake, seen_real, **extra(d, "g:", None, y_real, y_fake))
        loss_g, g_logged = out if isinstance(out, tuple) else (out, {})
        loss_g = _plus(loss_g, [h.g_penalty(state) for h in hooks], shape, "g")
        opt_G.zero_grad(set_to_none=True)
        loss_g.sum().backward()
        opt_G.step()
        return loss_d.detach(), loss_g.detach(), {k: v.detach() for k, v in (logged | g_logged).items()}

    return step


def _plus(loss: torch.Tensor, penalties, shape: tuple, net: str) -> torch.Tensor:
    """loss plus every hook's penalty term that is not None; each one run's scalar, or one per member (K,)."""
    for term, what in ((loss, f"objective.{net}_loss"), *((p, f"a hook's {net}_penalty") for p in penalties)):
        if isinstance(term, torch.Tensor) and term.shape != shape:
            expected = "a scalar" if not shape else f"one loss per member of the ensemble, shape {shape}"
            raise ValueError(
                f"{what} must give {expected}, got shape {tuple(term.shape)}"
                + (": reduce each member's batch alone (x.mean(dim=-1))" if shape else "")
            )
    for p in penalties:
        if p is not None:
            loss = loss + p
    return loss


def train(
    G: nn.Module,
    D: nn.Module,
    data,
    *,
    steps: int,
    labels: torch.Tensor | None = None,
    objective=None,
    batch_size: int = 256,
    n_critic: int = 1,
    lr: float = 2e-4,
    lr_d: float | None = None,
    betas=(0.5, 0.999),
    opt_G: torch.optim.Optimizer | None = None,
    opt_D: torch.optim.Optimizer | None = None,
    hooks: Sequence[Hook] = (),
    latent_dim: int | None = None,
    seed: int = 0,
    device=None,
    log_every: int = 10,
    snapshot_every: int | None = None,
    snapshot_n: int = 64,
    checkpoint: str | os.PathLike | None = None,
    checkpoint_every: int | None = None,
    resume: bool | str = True,
    progress: bool = True,
    desc: str | None = None,
    fast: bool | None = None,
) -> Run:
    """Train G against D for ``steps`` generator steps, each after ``n_critic`` critic steps (see the module doc)."""
    # ---- check every input before the first step (the data moves to G's device here, once)
    p = inputs.check(**locals())  # locals(): train()'s arguments, by name
    G, D, hooks, device = p.G, p.D, p.hooks, p.device
    state = TrainState(G, D, p.opt_G, p.opt_D, torch.Generator(device=device).manual_seed(p.seed), device, 0, p.steps)
    run = Run(history={"step": [], "d_loss": [], "g_loss": []})

    # ---- resume from the checkpoint, if there is one (refused if it was made with other settings)
    record = resuming.record(p) if p.checkpoint is not None else None
    if p.checkpoint is not None and p.resume and p.checkpoint.exists():
        resuming.restore(p.checkpoint, state, run, hooks, record, force=p.resume == "force")

    # ---- build the step; on CUDA the fast path captures it as a graph
    sizes = dict(batch_size=p.batch_size, n_critic=p.n_critic, latent_dim=p.latent_dim, n_classes=p.n_classes)
    sizes["members"] = p.members  # an ensemble of K: every draw has a member axis
    n_data = None if p.x is None else len(p.x)
    draw = draws(state.generator, device, n_data=n_data, objective_draws=p.objective_draws, dtype=p.dtype, **sizes)
    real = inputs.real_batches(p, state.generator)
    labelled = p.n_classes is not None
    step = make_step(state, p.objective, real, hooks, n_critic=p.n_critic, labelled=labelled, needs_G=p.needs_G)
    run_step = fastpath.wrap(step, draw, hooks, state, fast=p.fast, host_data=p.x is None)

    # ---- the loop: one step, then the bookkeeping (log, snapshot, checkpoint)
    z_snap, y_snap = inputs.snapshot_inputs(p)  # the same latents (and labels) for every snapshot
    for h in hooks:
        h.setup(state)
    G.train()
    D.train()
    with Log(run, state, p) as log, fastpath.cpu_threads(device, G, D), labels_checked():
        while state.step < p.steps:
            loss_d, loss_g, logged = run_step()
            log.add(state.step, loss_d, loss_g, logged)
            if state.step % p.log_every == 0 or state.step == p.steps:
                log.flush()
            if p.snapshot_every and (state.step % p.snapshot_every == 0 or state.step == p.steps):
                run.snapshots.append((state.step, sample(G, p.snapshot_n, z=z_snap, y=y_snap)))
            if p.checkpoint_every and state.step % p.checkpoint_every == 0:
                log.flush()
                resuming.save(p.checkpoint, state, run, hooks, record)
    run.steps, run.seconds = state.step, log.seconds
    if p.checkpoint is not None:
        resuming.save(p.checkpoint, state, run, hooks, record)
    return run


@torch.no_grad()
def sample(
    G: nn.Module,
    n: int,
    *,
    z: torch.Tensor | None = None,
    y: torch.Tensor | int | None = None,
    seed: int | None = None,
    batch_size: int = 1000,
):
    """n samples of G in eval mode, without gradients, returned on the CPU.

    The latents are ``z`` (n, latent_dim) if given, else drawn from N(0, I) seeded by ``seed`` (default 0).
    A conditional G (one with ``n_classes``) needs ``y``: n labels (N,), or one int for all of them,
    e.g. ``sample(G, 100, y=conditional.grid_labels())`` for one row per digit.
    An ensemble of K (gancourse.ensemble) gives (K, n, ...): every member from the same latents ``z``.
    """
    z, y, device = inputs.check_sample(G, n, z=z, y=y, seed=seed, batch_size=batch_size)
    members = members_of(G)
    was_training = G.training
    G.eval()
    try:
        parts = []
        for i in range(0, len(z), batch_size):
            zi = z[i : i + batch_size].to(device)  # (b, latent_dim)
            if members is not None:
                zi = zi.expand(members, *zi.shape)  # (K, b, latent_dim): the same latents for every member
            parts.append(G(zi) if y is None else G(zi, y[i : i + batch_size]))
        out = torch.cat(parts, dim=0 if members is None else 1)
    finally:
        G.train(was_training)
    return out.cpu()
