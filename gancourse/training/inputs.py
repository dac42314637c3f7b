"""Every argument of train() and sample() checked before the first step, with an error that names it.

``check`` turns train()'s arguments into a Plan: sizes checked, the device chosen (G's, unless
``device=`` moves both nets), the data moved there once, the default optimisers built, and the
objective, hooks, labels and G's output shape checked against each other.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gancourse.ensemble import members_of
from gancourse.hooks import Hook
from gancourse.losses import GANObjective
from gancourse.runtime import DRY_RUN_MAX_STEPS, dry_run
from gancourse.training.log import LOSS_BOUND
from gancourse.validation import (
    check_batch,
    check_device,
    check_dtype,
    check_int,
    check_labels,
    check_number,
    check_positive,
    check_seed,
)


@dataclass
class Plan:
    """train()'s arguments, checked: what the loop builds its run from."""

    G: nn.Module
    D: nn.Module
    x: torch.Tensor | None  # the data set on the device, or None for a sampler
    sampler: Callable | None
    labels: torch.Tensor | None
    objective: object
    hooks: list[Hook]
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    device: torch.device
    dtype: torch.dtype  # what G and D compute in: the data and the latents come in it too
    latent_dim: int
    n_classes: int | None  # a conditional run's number of classes, else None
    members: int | None  # K when G and D are ensembles of K members (gancourse.ensemble), else None
    needs_G: bool
    objective_draws: Callable | None
    loss_bound: float
    steps: int
    batch_size: int
    n_critic: int
    seed: int
    log_every: int
    snapshot_every: int | None
    snapshot_n: int
    checkpoint: Path | None
    checkpoint_every: int | None
    resume: bool | str
    progress: bool
    desc: str | None
    fast: bool | None


def check_lr(lr, name: str = "lr") -> float:
    """lr as a float, if it is a positive finite number."""
    return check_positive(lr, name)


def check_betas(betas, name: str = "betas") -> tuple[float, float]:
    """betas as a pair of floats in [0, 1) (floats: torch 2.14 rejects betas=(0, 0.9))."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{name} must be a pair (beta1, beta2), got {betas!r}")
    return tuple(check_number(b, name, 0, 1, high_open=True) for b in betas)


def adam(params, lr: float = 2e-4, betas=(0.5, 0.999), **kwargs) -> torch.optim.Adam:
    """Adam with checked lr and betas (floats, as torch 2.14 requires)."""
    return torch.optim.Adam(params, lr=check_lr(lr), betas=check_betas(betas), **kwargs)


def check(G, D, data, *, steps, labels, objective, batch_size, n_critic, lr, lr_d, betas, opt_G, opt_D, hooks,
          latent_dim, seed, device, log_every, snapshot_every, snapshot_n, checkpoint, checkpoint_every, resume,
          progress, desc, fast) -> Plan:  # fmt: skip
    """train()'s arguments as a Plan, or a clear error naming the first one that is wrong."""
    sizes = _check_sizes(steps, batch_size, n_critic, log_every, snapshot_every, snapshot_n)
    seed = check_seed(seed)
    checkpoint, checkpoint_every = _check_checkpoint(checkpoint, checkpoint_every, resume)
    if not isinstance(G, nn.Module) or not isinstance(D, nn.Module):
        raise TypeError("G and D must be torch.nn.Module instances")
    device = _device(G, D, device)
    dtype = _dtype(G, D)
    members = _members(G, D)
    latent_dim = _latent_dim(G, latent_dim)
    objective = _check_objective(GANObjective() if objective is None else objective)
    hooks = _check_hooks(hooks)
    opt_G, opt_D = _optimizers(G, D, opt_G, opt_D, lr, lr_d, betas)
    x, sampler, shape = _check_data(data, device, dtype)
    n_classes, labels = _check_labels(G, objective, labels, x)
    _check_output(G, latent_dim, n_classes, shape, device, dtype, members)
    draws = getattr(objective, "draws", None)
    if draws is not None:
        _check_objective_draws(draws, sizes["batch_size"], sizes["n_critic"], latent_dim, device, members)
    loss_bound = getattr(objective, "loss_bound", LOSS_BOUND)
    if loss_bound != math.inf:  # inf: no bound
        loss_bound = check_positive(loss_bound, "objective.loss_bound")
    if not (fast is None or isinstance(fast, bool)):
        raise TypeError(f"fast must be None (automatic), True or False, got {fast!r}")
    needs_G = bool(getattr(objective, "needs_G", False))
    nets = dict(G=G, D=D, opt_G=opt_G, opt_D=opt_D, device=device, dtype=dtype, latent_dim=latent_dim, members=members)
    task = dict(x=x, sampler=sampler, labels=labels, n_classes=n_classes, objective=objective, hooks=hooks)
    task |= dict(needs_G=needs_G, objective_draws=draws, loss_bound=loss_bound)
    run = dict(seed=seed, checkpoint=checkpoint, checkpoint_every=checkpoint_every, resume=resume)
    run |= dict(progress=bool(progress), desc=desc, fast=fast)
    return Plan(**nets, **task, **run, **sizes)


def _check_sizes(steps, batch_size, n_critic, log_every, snapshot_every, snapshot_n) -> dict:
    sizes = {
        "steps": check_int(steps, "steps", 0),
        "batch_size": check_int(batch_size, "batch_size", 1),
        "n_critic": check_int(n_critic, "n_critic", 1),
        "log_every": check_int(log_every, "log_every", 1),
        "snapshot_n": check_int(snapshot_n, "snapshot_n", 1),
    }
    sizes["snapshot_every"] = None if snapshot_every is None else check_int(snapshot_every, "snapshot_every", 1)
    if dry_run() and sizes["steps"] > DRY_RUN_MAX_STEPS:  # a length the dry run did not cut would train for hours
        raise ValueError(
            f"steps={sizes['steps']}: a dry run ($GANCOURSE_DRYRUN) trains at most {DRY_RUN_MAX_STEPS} steps; "
            "take training lengths from gancourse.train_steps(fast=..., cpu=..., gpu=...), which cuts them"
        )
    return sizes


def _check_checkpoint(checkpoint, checkpoint_every, resume) -> tuple[Path | None, int | None]:
    if not (isinstance(resume, bool) or resume == "force"):
        raise ValueError(f"resume must be True, False or 'force', got {resume!r}")
    if checkpoint is not None and not isinstance(checkpoint, (str, os.PathLike)):
        raise TypeError(f"checkpoint must be a path (str or pathlib.Path), got {type(checkpoint).__name__}")
    if checkpoint_every is not None:
        checkpoint_every = check_int(checkpoint_every, "checkpoint_every", 1)
        if checkpoint is None:
            raise ValueError("checkpoint_every needs checkpoint=PATH")
    return (None if checkpoint is None else Path(checkpoint)), checkpoint_every


def _first_parameter(net: nn.Module, name: str) -> torch.Tensor:
    for p in net.parameters():
        return p
    raise ValueError(f"{name} ({type(net).__name__}) has no parameters to train")


def _device(G: nn.Module, D: nn.Module, device) -> torch.device:
    """The run's device: ``device`` if given (G and D move there), else where G's parameters are (D must be too)."""
    if device is not None:
        device = check_device(device)
        G.to(device)
        D.to(device)
        return device
    at_G, at_D = _first_parameter(G, "G").device, _first_parameter(D, "D").device
    if at_D != at_G:
        raise ValueError(
            f"G's parameters are on {at_G} but D's on {at_D}: move D there with D.to({str(at_G)!r}), "
            "or pass device=, which moves both"
        )
    return check_device(at_G, "G's device")


def _dtype(G: nn.Module, D: nn.Module) -> torch.dtype:
    """The floating dtype G and D compute in (they must agree)."""
    g, d = _first_parameter(G, "G").dtype, _first_parameter(D, "D").dtype
    if g != d:
        raise TypeError(f"G computes in {g} but D in {d}: use one dtype for both (e.g. D.to({g}))")
    return g


def _members(G: nn.Module, D: nn.Module) -> int | None:
    """K if G and D are both ensembles of K members, None if neither is; anything else is refused."""
    k_G, k_D = members_of(G), members_of(D)
    if k_G != k_D:
        what = {None: "an ordinary network"}
        raise ValueError(
            f"G is {what.get(k_G, f'an ensemble of {k_G}')} but D is {what.get(k_D, f'an ensemble of {k_D}')}: "
            "an ensemble trains G and D as stacks of the same K members (gancourse.ensemble.stack_pairs)"
        )
    return k_G


def _latent_dim(G: nn.Module, latent_dim) -> int:
    latent_dim = getattr(G, "latent_dim", None) if latent_dim is None else latent_dim
    if latent_dim is None:
        raise ValueError("latent_dim is needed: give latent_dim= or a generator with a latent_dim attribute")
    return check_int(latent_dim, "latent_dim", 1)


def _check_objective(objective):
    for name in ("d_loss", "g_loss"):
        if not callable(getattr(objective, name, None)):
            raise TypeError(f"objective must have a {name}(D, ...) method, got {objective!r}")
    return objective


def _check_hooks(hooks) -> list[Hook]:
    hooks = list(hooks)
    for h in hooks:
        if not isinstance(h, Hook):
            raise TypeError(f"hooks must be gancourse.hooks.Hook instances, got {type(h).__name__}")
    return hooks


def _optimizers(G, D, opt_G, opt_D, lr, lr_d, betas) -> tuple[torch.optim.Optimizer, torch.optim.Optimizer]:
    if lr_d is not None and opt_D is not None:
        raise ValueError("give lr_d or opt_D, not both: lr_d sets the learning rate of the default Adam for D")
    if opt_G is None:
        opt_G = adam(G.parameters(), lr, betas)
    if opt_D is None:
        opt_D = adam(D.parameters(), lr if lr_d is None else check_lr(lr_d, "lr_d"), betas)
    for opt, net, name in ((opt_G, G, "opt_G"), (opt_D, D, "opt_D")):
        if not isinstance(opt, torch.optim.Optimizer):
            raise TypeError(f"{name} must be a torch.optim.Optimizer, got {type(opt).__name__}")
        owned = {id(p) for group in opt.param_groups for p in group["params"]}
        if not any(id(p) in owned for p in net.parameters()):
            raise ValueError(f"{name} does not optimise the parameters of the network it is paired with")
        for group in opt.param_groups:
            check_lr(group["lr"], f"{name}'s lr")
            if "betas" in group:
                check_betas(group["betas"], f"{name}'s betas")
    return opt_G, opt_D


def _check_data(data, device, dtype) -> tuple[torch.Tensor | None, Callable | None, tuple[int, ...]]:
    """(the data on the device, None, sample shape) for a tensor; (None, the sampler, sample shape) for a sampler."""
    if callable(data) and not isinstance(data, torch.Tensor):
        probe = data(2, torch.Generator(device=device).manual_seed(0))
        if not isinstance(probe, torch.Tensor) or probe.ndim < 2 or probe.shape[0] != 2:
            raise ValueError("a data sampler must return a tensor of n samples when called as sampler(n, generator)")
        check_dtype(probe, dtype, "the sampler's output", "G")
        _check_range(probe, "the sampler's output")
        return None, data, tuple(probe.shape[1:])
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"data must be a tensor (N, ...) or a sampler(n, generator), got {type(data).__name__}")
    if data.ndim < 2 or len(data) == 0:
        raise ValueError(f"data must be a non-empty batch (N, ...), got shape {tuple(data.shape)}")
    if not data.is_floating_point():
        raise TypeError(f"data must be floating point, got {data.dtype}")
    check_dtype(data, dtype, "data", "G")
    _check_range(data, "data")
    return data.to(device), None, tuple(data.shape[1:])


def _check_range(x: torch.Tensor, what: str) -> None:
    if not torch.isfinite(x).all():
        raise ValueError(f"{what} contains {int((~torch.isfinite(x)).sum())} non-finite values")
    if x.ndim == 4:
        lo, hi = x.min().item(), x.max().item()
        if lo < -1.001 or hi > 1.001:
            raise ValueError(
                f"{what}: images must be scaled to [-1, 1] (a Tanh generator's range), got [{lo:.3g}, {hi:.3g}]; "
                "load_mnist() returns them so"
            )


def n_classes_of(G: nn.Module) -> int | None:
    """G's number of classes if it is a conditional generator G(z, y), else None."""
    n_classes = getattr(G, "n_classes", None)
    return None if n_classes is None else check_int(n_classes, "G.n_classes", 1)


def _check_labels(G, objective, labels, x) -> tuple[int | None, torch.Tensor | None]:
    """(n_classes, labels on the data's device) for a conditional run, (None, None) otherwise."""
    conditional = bool(getattr(objective, "conditional", False))
    if labels is not None and not conditional:
        raise TypeError(f"labels= needs a conditional objective (CGANObjective, ACGANObjective...), got {objective!r}")
    if not conditional:
        return None, None
    if labels is None:
        raise ValueError(f"{objective!r} is conditional: give labels=, the data's class labels (N,)")
    if x is None:
        raise ValueError("labels= needs data as a tensor (N, ...), aligned with the labels, not a sampler")
    n_classes = n_classes_of(G)
    if n_classes is None:
        raise TypeError(f"conditional training needs a conditional G(z, y) with n_classes; got {type(G).__name__}")
    return n_classes, check_labels(labels, n_classes, len(x), name="labels").to(x.device)


def _check_output(G, latent_dim: int, n_classes: int | None, shape: tuple[int, ...], device, dtype, members) -> None:
    """G's samples must have the data's shape."""
    lead = (2,) if members is None else (members, 2)  # two samples (of each member)
    with torch.no_grad():
        z0 = torch.zeros(*lead, latent_dim, device=device, dtype=dtype)
        probe = G(z0) if n_classes is None else G(z0, torch.zeros(lead, dtype=torch.long, device=device))
    if tuple(probe.shape[len(lead) :]) != shape:
        raise ValueError(f"G makes samples of shape {tuple(probe.shape[len(lead) :])} but the data has shape {shape}")


def _check_objective_draws(draws, batch_size: int, n_critic: int, latent_dim: int, device, members) -> None:
    """Raise unless objective.draws(...) gives (critic_draws, generator_draws): dicts of tensors, critic's (n_critic, ...)."""
    kw = {} if members is None else {"members": members}  # an ensemble's: with a member axis
    out = draws(batch_size, n_critic, latent_dim, torch.Generator(device=device).manual_seed(0), device, **kw)
    if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(part, dict) for part in out)):
        raise TypeError(f"objective.draws(...) must return (critic_draws, generator_draws), two dicts; got {out!r:.80}")
    for part, lead in zip(out, ("critic", "generator")):
        for name, v in part.items():
            if not isinstance(v, torch.Tensor):
                raise TypeError(f"objective.draws: the {lead} draw {name!r} must be a tensor, got {type(v).__name__}")
            if lead == "critic" and (v.ndim == 0 or v.shape[0] != n_critic):
                raise ValueError(
                    f"objective.draws: the critic draw {name!r} must have a leading n_critic={n_critic} axis, "
                    f"got shape {tuple(v.shape)}"
                )


def real_batches(p: Plan, gen: torch.Generator) -> Callable:
    """real_batch(d, k) -> (x_real, y_real or None): critic step k's batch, by the drawn indices or from the sampler."""
    if p.sampler is not None and p.members is not None:  # K * B samples, a batch for each member
        return lambda d, k: (p.sampler(p.members * p.batch_size, gen).unflatten(0, (p.members, p.batch_size)), None)
    if p.sampler is not None:
        return lambda d, k: (p.sampler(p.batch_size, gen), None)
    if p.labels is None:
        return lambda d, k: (p.x[d["idx"][k]], None)
    return lambda d, k: (p.x[d["idx"][k]], p.labels[d["idx"][k]])  # the labels travel with their images


def snapshot_inputs(p: Plan) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The fixed latents (and, for a conditional G, labels) of every snapshot: the same samples over training."""
    gen = torch.Generator().manual_seed(p.seed + 1)
    z = torch.randn(p.snapshot_n, p.latent_dim, generator=gen, dtype=p.dtype).to(p.device)
    if p.n_classes is None:
        return z, None
    y = torch.arange(p.snapshot_n) * p.n_classes // p.snapshot_n  # 0, 0, ..., 1, 1, ...: one row per class
    return z, y.to(p.device)


def check_sample(G, n, *, z, y, seed, batch_size) -> tuple[torch.Tensor, torch.Tensor | None, torch.device]:
    """sample()'s arguments checked: (the latents, the labels or None, G's device)."""
    if not isinstance(G, nn.Module):
        raise TypeError(f"G must be a torch.nn.Module, got {type(G).__name__}")
    param = _first_parameter(G, "G")
    device = check_device(param.device, "G's device")
    n, _ = check_int(n, "n", 1), check_int(batch_size, "batch_size", 1)
    if z is not None and seed is not None:
        raise ValueError("give z= or seed=, not both: seed only draws the latents when z is not given")
    y = _sample_labels(G, n, y, device)
    if z is None:
        gen = torch.Generator(device=device).manual_seed(check_seed(0 if seed is None else seed))
        return torch.randn(n, _latent_dim(G, None), generator=gen, device=device, dtype=param.dtype), y, device
    if not isinstance(z, torch.Tensor):
        fix = " (torch.from_numpy(z).float())" if type(z).__module__ == "numpy" else ""
        raise TypeError(f"z must be a torch.Tensor (n, latent_dim), got {type(z).__name__}{fix}")
    if len(z) != n:
        raise ValueError(f"z has {len(z)} rows but n={n}")
    if getattr(G, "latent_dim", None) is not None:
        check_batch(z, (G.latent_dim,), "z", "sample()")
    check_dtype(z, param.dtype, "z", "G")
    return z, y, device


def _sample_labels(G, n: int, y, device) -> torch.Tensor | None:
    n_classes = n_classes_of(G)
    if n_classes is None and y is not None:
        raise TypeError(f"y= is for a conditional generator (one with n_classes); {type(G).__name__} has none")
    if n_classes is None:
        return None
    if y is None:
        raise ValueError(f"{type(G).__name__} is conditional: give y=, the {n} labels to generate (or one int)")
    if isinstance(y, int) and not isinstance(y, bool):
        y = torch.full((n,), y)
    return check_labels(y, n_classes, n).to(device)
