"""What a checkpoint of a training run holds, and continuing from one.

A checkpoint holds everything the next step depends on: both nets, both optimisers, the loop's generator
(whose draws come in a fixed order, gancourse.train.draws) and torch's global one (dropout), the state of
every hook that steers the run, the history and the snapshots. So a run resumed from it continues exactly
like one that never stopped (on the CPU; a GPU's kernels are not bit-deterministic). It also holds a
record of the settings that shape the run (sizes, seed, objective, optimisers, steering hooks, a
fingerprint of the data), and a run given other settings refuses to resume from it, listing the
differences, unless it is told ``resume="force"``: then it continues with the settings given now.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from gancourse.checkpoints import load_checkpoint, save_checkpoint
from gancourse.hooks import steers
from gancourse.training.fastpath import say_once

HYPERPARAMETERS = ("lr", "betas", "momentum", "alpha", "eps", "weight_decay", "dampening", "nesterov", "amsgrad")


def fingerprint(x: torch.Tensor) -> str:
    """Shape, dtype and a hash of at most ~65,000 evenly spread values: the same on every device."""
    flat = x.detach().reshape(-1)
    picked = flat[:: max(1, flat.numel() // 65536)].contiguous().cpu()
    digest = hashlib.sha256(picked.view(torch.uint8).numpy().tobytes()).hexdigest()[:16]
    return f"{tuple(x.shape)} {str(x.dtype).removeprefix('torch.')} #{digest}"


def _hyperparameters(opt: torch.optim.Optimizer, name: str) -> dict:
    out = {name: type(opt).__name__}
    for key in HYPERPARAMETERS:
        values = [list(g[key]) if isinstance(g[key], tuple) else g[key] for g in opt.param_groups if key in g]
        if values:
            out[f"{name} {key}"] = values[0] if len(values) == 1 else values
    return out


def record(plan) -> dict:
    """The settings that shape a run: a checkpoint made with other settings is not resumed silently."""
    meta = {"batch_size": plan.batch_size, "n_critic": plan.n_critic, "seed": plan.seed}
    meta["objective"] = repr(plan.objective)
    if plan.n_classes is not None:
        meta["n_classes"] = plan.n_classes
    if plan.members is not None:
        meta["members"] = plan.members
    meta["steps"] = plan.steps
    meta |= _hyperparameters(plan.opt_G, "opt_G") | _hyperparameters(plan.opt_D, "opt_D")
    meta["hooks"] = [type(h).__name__ for h in plan.hooks if steers(h)]
    if plan.x is not None:
        meta["data"] = fingerprint(plan.x)
    else:
        meta["data"] = f"sampler {plan.sampler.__module__}.{getattr(plan.sampler, '__qualname__', '?')}"
    if plan.labels is not None:
        meta["labels"] = fingerprint(plan.labels)
    return meta


def differences(saved: dict, now: dict) -> list[str]:
    """What differs between a checkpoint's record and this run's (keys an older checkpoint lacks are not compared)."""
    return [
        f"{key}: {saved[key]!r} then, {value!r} now"
        for key, value in now.items()
        if key in saved and saved[key] != value
    ]


def save(path: Path, state, run, hooks, meta: dict) -> None:
    """Write the run's checkpoint to ``path`` (atomically: save_checkpoint)."""
    snaps = torch.stack([s for _, s in run.snapshots]) if run.snapshots else torch.zeros(0)
    payload = {
        "step": state.step,
        "G": state.G.state_dict(),
        "D": state.D.state_dict(),
        "opt_G": state.opt_G.state_dict(),
        "opt_D": state.opt_D.state_dict(),
        "rng": state.generator.get_state(),
        "torch_rng": torch.get_rng_state(),  # the global CPU stream: dropout draws from it
        "hooks": [h.state_dict() for h in hooks if steers(h)],
        "history": run.history,
        "snapshot_steps": [s for s, _ in run.snapshots],
        "snapshots": snaps,
        "meta": meta,
    }
    save_checkpoint(path, payload)


def restore(path: Path, state, run, hooks, meta: dict, *, force: bool = False) -> None:
    """Load the checkpoint at ``path`` into the nets, optimisers, generators, hooks and run; refuse other settings."""
    ckpt = load_checkpoint(path, map_location=state.device)
    entries = ckpt if isinstance(ckpt, dict) else {}
    missing = [k for k in ("meta", "G", "D", "opt_G", "opt_D", "rng", "step") if k not in entries]
    if missing:
        raise ValueError(
            f"{path} is not a checkpoint of train() (it has no {', '.join(missing)}): "
            "give train() another checkpoint path, or pass resume=False to train from scratch and overwrite it"
        )
    changed = differences(ckpt["meta"], meta)
    if changed and not force:
        raise ValueError(
            f"checkpoint {path} was made with other settings than this run's:\n  " + "\n  ".join(changed) + "\n"
            "pass resume=False to start over, or resume='force' to continue from it with the settings given now"
        )
    if changed:
        say_once(f"gancourse.train: resuming {path} with the settings given now: " + "; ".join(changed))
    state.G.load_state_dict(ckpt["G"])
    state.D.load_state_dict(ckpt["D"])
    for opt, key in ((state.opt_G, "opt_G"), (state.opt_D, "opt_D")):
        given = [{k: g[k] for k in HYPERPARAMETERS if k in g} for g in opt.param_groups]
        opt.load_state_dict(ckpt[key])
        for group, settings in zip(opt.param_groups, given):
            group.update(settings)  # the same values unless forced: then the ones given now
    state.generator.set_state(ckpt["rng"].cpu())
    torch.set_rng_state(ckpt["torch_rng"].cpu())  # so layers that use it (dropout) continue identically
    steering = [h for h in hooks if steers(h)] if "hooks" in ckpt["meta"] else list(hooks)  # older: every hook
    if "hooks" not in ckpt["meta"] or ckpt["meta"]["hooks"] == [type(h).__name__ for h in steering]:
        for h, s in zip(steering, ckpt["hooks"]):
            h.load_state_dict(s)
    run.history = {k: list(v) for k, v in ckpt["history"].items()}
    run.snapshots = list(zip(ckpt["snapshot_steps"], ckpt["snapshots"].cpu())) if ckpt["snapshot_steps"] else []
    state.step = run.resumed_from = int(ckpt["step"])
