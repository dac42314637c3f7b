"""The one training loop of the course: alternating D/G updates, used by every training notebook.

Goodfellow et al. 2014 (alternating updates), Arjovsky et al. 2017 (n_critic critic steps per
generator step). Taught in notebooks/05_vanilla_gan.ipynb; WGAN (06), WGAN-GP (07), DCGAN (08)
and the evaluation lecture (09) train through it. Batches are drawn by index from a data set
resident on the device, and all randomness comes from one seeded generator that checkpoints
save, so a resumed run continues exactly like an uninterrupted one (on CPU).
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from gancourse.conditional import balanced_labels, check_labels, labels_checked
from gancourse.losses import GANObjective
from gancourse.runtime import check_int


class NonFiniteLossError(RuntimeError):
    """A loss became NaN or infinite; the message names the step."""


class Hook:
    """A per-step option of the loop (instance noise, historical averaging, clipping, EMA, ...).

    Override what you need; every method gets the TrainState. ``needs_host`` (True unless a hook
    says otherwise) means the hook runs Python on the host every step, which rules out a captured
    (CUDA-graph) step: a replayed graph runs no Python, so such a hook would be called during the
    warm-up and capture only. Set ``needs_host = False`` only when every method does device tensor
    work alone: no Python counters, no reading ``state.step``, no ``.item()`` (as EMA and
    WeightClipping do).
    """

    needs_host = True

    def setup(self, state: TrainState) -> None:
        """Called once before the first step (after a resume too)."""

    def d_inputs(self, x_real, x_fake, state: TrainState):
        """Transform what D sees in its own step (e.g. instance noise)."""
        return x_real, x_fake

    def d_penalty(self, state: TrainState) -> torch.Tensor | None:
        """A term added to D's loss."""
        return None

    def g_penalty(self, state: TrainState) -> torch.Tensor | None:
        """A term added to G's loss."""
        return None

    def after_d_step(self, state: TrainState) -> None:
        """After each optimiser step of D (e.g. weight clipping)."""

    def after_step(self, state: TrainState) -> None:
        """After each generator step (e.g. running averages)."""

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


@dataclass
class TrainState:
    """What hooks can see: the nets, optimisers, the step and the loop's random generator."""

    G: nn.Module
    D: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    generator: torch.Generator
    device: torch.device
    step: int = 0
    steps: int = 0


@dataclass
class Run:
    """The result of train(): logged scalars, sample snapshots and timing."""

    history: dict[str, list[float]] = field(default_factory=dict)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    steps: int = 0
    seconds: float = 0.0
    resumed_from: int | None = None

    def last(self, key: str) -> float:
        return self.history[key][-1]


def _positive_int(value, name: str, minimum: int = 1) -> int:
    return check_int(value, name, minimum)


def check_lr(lr, name: str = "lr") -> float:
    """Raise unless lr is a positive finite number."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError(f"{name} must be a positive finite number, got {lr!r}")
    return float(lr)


def check_betas(betas, name: str = "betas") -> tuple[float, float]:
    """Raise unless betas is a pair of floats in [0, 1)."""
    if not isinstance(betas, (tuple, list)) or len(betas) != 2:
        raise ValueError(f"{name} must be a pair (beta1, beta2), got {betas!r}")
    for b in betas:
        if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0.0 <= b < 1.0:
            raise ValueError(f"{name} must lie in [0, 1), got {betas!r}")
    return (float(betas[0]), float(betas[1]))  # floats: torch 2.14 rejects betas=(0, 0.9)


def adam(params, lr: float = 2e-4, betas=(0.5, 0.999), **kwargs) -> torch.optim.Adam:
    """Adam with checked lr and betas (floats, as torch 2.14 requires)."""
    return torch.optim.Adam(params, lr=check_lr(lr), betas=check_betas(betas), **kwargs)


def _check_optimizer(opt, model: nn.Module, name: str) -> None:
    if not isinstance(opt, torch.optim.Optimizer):
        raise TypeError(f"{name} must be a torch.optim.Optimizer, got {type(opt).__name__}")
    owned = {id(p) for group in opt.param_groups for p in group["params"]}
    if not any(id(p) in owned for p in model.parameters()):
        raise ValueError(f"{name} does not optimise the parameters of the network it is paired with")
    for group in opt.param_groups:
        check_lr(group["lr"], f"{name}'s lr")
        if "betas" in group:
            check_betas(group["betas"], f"{name}'s betas")


def _latent_dim(G: nn.Module, latent_dim) -> int:
    latent_dim = getattr(G, "latent_dim", None) if latent_dim is None else latent_dim
    if latent_dim is None:
        raise ValueError("latent_dim is needed: give latent_dim= or a generator with a latent_dim attribute")
    return _positive_int(latent_dim, "latent_dim")


def _check_data(data, device) -> tuple[torch.Tensor | None, Callable | None, tuple[int, ...]]:
    if callable(data) and not isinstance(data, torch.Tensor):
        probe = data(2, torch.Generator(device=device).manual_seed(0))
        if not isinstance(probe, torch.Tensor) or probe.shape[0] != 2:
            raise ValueError("a data sampler must return a tensor of n samples when called as sampler(n, generator)")
        sample_shape = tuple(probe.shape[1:])
        _check_range(probe, "the sampler's output")
        return None, data, sample_shape
    if not isinstance(data, torch.Tensor):
        raise TypeError(f"data must be a tensor (N, ...) or a sampler(n, generator), got {type(data).__name__}")
    if data.ndim < 2 or len(data) == 0:
        raise ValueError(f"data must be a non-empty batch (N, ...), got shape {tuple(data.shape)}")
    if not data.is_floating_point():
        raise TypeError(f"data must be floating point, got {data.dtype}")
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


def save_checkpoint(path: str | os.PathLike, payload: dict) -> None:
    """torch.save to a temp file in the same folder, flushed to disk, then os.replace: never a half-written
    checkpoint, even when the machine stops right after (a Colab VM, a mounted Drive folder)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_checkpoint(path: str | os.PathLike, map_location=None) -> dict:
    """Load a checkpoint written by train() (weights_only=True: tensors and plain containers only)."""
    return torch.load(Path(path), map_location=map_location, weights_only=True)


def _n_classes(G: nn.Module) -> int | None:
    """G's number of classes if it is a conditional generator G(z, y), else None."""
    n_classes = getattr(G, "n_classes", None)
    return None if n_classes is None else _positive_int(n_classes, "G.n_classes")


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
    """
    device = next(G.parameters()).device
    n = _positive_int(n, "n")
    batch_size = _positive_int(batch_size, "batch_size")
    if z is not None and seed is not None:
        raise ValueError("give z= or seed=, not both: seed only draws the latents when z is not given")
    n_classes = _n_classes(G)
    if n_classes is None and y is not None:
        raise TypeError(f"y= is for a conditional generator (one with n_classes); {type(G).__name__} has none")
    if n_classes is not None:
        if y is None:
            raise ValueError(f"{type(G).__name__} is conditional: give y=, the {n} labels to generate (or one int)")
        if isinstance(y, int) and not isinstance(y, bool):
            y = torch.full((n,), y)
        y = check_labels(y, n_classes, n).to(device)
    if z is None:
        gen = torch.Generator(device=device).manual_seed(0 if seed is None else seed)
        z = torch.randn(n, G.latent_dim, generator=gen, device=device)
    elif len(z) != n:
        raise ValueError(f"z has {len(z)} rows but n={n}")
    was_training = G.training
    G.eval()
    try:
        parts = []
        for i in range(0, n, batch_size):
            zi = z[i : i + batch_size].to(device)
            parts.append(G(zi) if y is None else G(zi, y[i : i + batch_size]))
        out = torch.cat(parts)
    finally:
        G.train(was_training)
    return out.cpu()


SMALL_MODEL = 1_000_000  # parameters: below this, one CPU thread trains faster than several
WARMUP_STEPS = 3  # eager steps on a side stream before capture (lazy optimiser state, cuBLAS workspaces)
_said: set[str] = set()


def _say_once(line: str) -> None:
    if line not in _said:
        _said.add(line)
        print(line)


@contextlib.contextmanager
def _cpu_threads(device: torch.device, n_params: int):
    """Train small nets on one CPU thread: OpenMP's fork/join costs more than their tiny matmuls,
    and on a busy machine its spinning threads made each step 20-70x slower (docs/benchmarks.md)."""
    if device.type != "cpu" or n_params >= SMALL_MODEL or torch.get_num_threads() == 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _fast_path(fast, device: torch.device, dataset, hooks, steps_left: int) -> tuple[bool, str]:
    """Whether the captured step can run, and if not (when it matters) why, in a few words."""
    if fast is False:
        return False, ""
    reason = ""
    if device.type != "cuda":
        reason = f"CUDA-graph capture needs CUDA (device is {device.type})"
    elif dataset is None:
        reason = "a data sampler runs Python every step (give a data tensor for the captured step)"
    elif any(h.needs_host for h in hooks):
        names = ", ".join(type(h).__name__ for h in hooks if h.needs_host)
        reason = f"{names} needs the host every step"
    elif steps_left <= WARMUP_STEPS:
        return False, ""
    if reason and fast is None and device.type == "cpu":
        return False, reason  # printed once per process: the eager loop is the CPU's normal path
    return (not reason), reason


def _match_capturable(optimizers, device: torch.device) -> None:
    """Off the GPU, turn ``capturable`` off: an optimiser state saved by a CUDA run (a checkpoint from a Colab
    GPU session) has it on, and a capturable Adam refuses CPU parameters."""
    for opt in optimizers:
        for group in opt.param_groups:
            if group.get("capturable"):
                group["capturable"] = False


def _make_capturable(optimizers, device: torch.device) -> None:
    """Switch optimisers to capturable before their first step: their step counters then live on the device
    (an eager step with capturable=False would create them on the host, which a captured step refuses)."""
    for opt in optimizers:
        for group in opt.param_groups:
            if "capturable" in group:
                group["capturable"] = True
        for st in opt.state.values():  # state from an earlier call or a checkpoint
            if isinstance(st.get("step"), torch.Tensor) and st["step"].device != device:
                st["step"] = st["step"].to(device)


def _check_objective_draws(draws, batch_size: int, n_critic: int, latent_dim: int, device) -> None:
    """Raise unless objective.draws(...) gives (critic_draws, generator_draws): dicts of tensors, critic's (n_critic, ...)."""
    out = draws(batch_size, n_critic, latent_dim, torch.Generator(device=device).manual_seed(0), device)
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


def _plus_penalties(loss: torch.Tensor, penalties) -> torch.Tensor:
    """loss plus every hook's penalty term that is not None."""
    for p in penalties:
        if p is not None:
            loss = loss + p
    return loss


def _capture(step, draw, gen: torch.Generator):
    """Capture one whole training step (critic steps, penalty, generator step, hooks) as a CUDA graph."""
    rng = gen.get_state()
    static_draws = draw()  # buffers of the right shapes; the draws themselves are given back below
    gen.set_state(rng)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        loss_d, loss_g, extras = step(static_draws)
    return graph, {"draws": static_draws, "loss_d": loss_d, "loss_g": loss_g, "extras": extras}


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
    resume: bool = True,
    progress: bool = True,
    desc: str | None = None,
    fast: bool | None = None,
    amp: bool = False,
    channels_last: bool = False,
) -> Run:
    """Train G against D for ``steps`` generator steps; each step makes ``n_critic`` D steps first.

    ``data`` is a tensor (N, ...) kept on the device (batches drawn by index) or a sampler
    ``f(n, generator)``. ``objective`` defaults to the GAN with the non-saturating generator loss;
    its ``d_loss(D, x_real, x_fake, generator=)`` may return ``(loss, {name: scalar})`` to log more
    (``g_loss`` too, with other names).

    Conditional training: ``labels`` (N,) integer class labels aligned with a data tensor, a
    conditional G(z, y) with ``n_classes``, and an objective with ``conditional = True``
    (gancourse.conditional, gancourse.cvae). Each critic step's real labels are gathered with
    its batch indices, the fake labels are drawn uniformly, and the objective gets them as
    ``d_loss(D, x_real, x_fake, y_real=, y_fake=, generator=)`` and
    ``g_loss(D, x_fake, x_real, y_real=, y_fake=)``. An objective may also ask for more:
    ``needs_G = True`` passes ``G=G`` to both losses, and ``draws(batch_size, n_critic,
    latent_dim, generator, device) -> (critic_draws, generator_draws)`` declares extra per-step
    randomness (dicts of tensors, the critic's with a leading n_critic axis), drawn with
    everything else and passed as keyword arguments (the critic's k-th slice to step k).
    ``needs_alpha = True`` (WGAN-GP) is the older form of one such draw.
    Without ``opt_G``/``opt_D`` both nets get Adam(lr, betas); ``lr_d`` gives D its own learning
    rate (TTUR, Heusel et al. 2017). Logged scalars are window means of
    ``log_every`` steps; ``checkpoint`` names a file written atomically every ``checkpoint_every``
    steps and at the end, from which a later call with ``resume=True`` continues.

    On CUDA (``fast=None`` or ``True``) the whole step is captured once as a CUDA graph and
    replayed; the randomness of each step (batch indices, noise, interpolation alpha) is drawn
    into static buffers first, exactly as the eager step draws it, so both compute the same
    function. Elsewhere, or with a hook that needs the host, the eager loop runs and one line
    says so. ``amp`` turns on bf16 autocast (CUDA), ``channels_last`` that memory format.
    """
    # ---- validate everything before the first step
    steps = _positive_int(steps, "steps", minimum=0)
    batch_size = _positive_int(batch_size, "batch_size")
    n_critic = _positive_int(n_critic, "n_critic")
    log_every = _positive_int(log_every, "log_every")
    snapshot_n = _positive_int(snapshot_n, "snapshot_n")
    if snapshot_every is not None:
        snapshot_every = _positive_int(snapshot_every, "snapshot_every")
    if checkpoint_every is not None:
        checkpoint_every = _positive_int(checkpoint_every, "checkpoint_every")
        if checkpoint is None:
            raise ValueError("checkpoint_every needs checkpoint=PATH")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    if not isinstance(G, nn.Module) or not isinstance(D, nn.Module):
        raise TypeError("G and D must be torch.nn.Module instances")
    latent_dim = _latent_dim(G, latent_dim)
    device = torch.device(device) if device is not None else next(G.parameters()).device
    G.to(device)
    D.to(device)
    objective = GANObjective() if objective is None else objective
    for name in ("d_loss", "g_loss"):
        if not callable(getattr(objective, name, None)):
            raise TypeError(f"objective must have a {name}(D, ...) method, got {objective!r}")
    hooks = list(hooks)
    for h in hooks:
        if not isinstance(h, Hook):
            raise TypeError(f"hooks must be gancourse.train.Hook instances, got {type(h).__name__}")
    if opt_G is None:
        opt_G = adam(G.parameters(), lr, betas)
    if lr_d is not None and opt_D is not None:
        raise ValueError("give lr_d or opt_D, not both: lr_d sets the learning rate of the default Adam for D")
    if opt_D is None:
        opt_D = adam(D.parameters(), lr if lr_d is None else check_lr(lr_d, "lr_d"), betas)
    _check_optimizer(opt_G, G, "opt_G")
    _check_optimizer(opt_D, D, "opt_D")
    dataset, sampler, sample_shape = _check_data(data, device)
    conditional = bool(getattr(objective, "conditional", False))
    n_classes = _n_classes(G)
    if labels is not None and not conditional:
        raise TypeError(f"labels= needs a conditional objective (CGANObjective, ACGANObjective...), got {objective!r}")
    if conditional:
        if labels is None:
            raise ValueError(f"{objective!r} is conditional: give labels=, the data's class labels (N,)")
        if dataset is None:
            raise ValueError("labels= needs data as a tensor (N, ...), aligned with the labels, not a sampler")
        if n_classes is None:
            raise TypeError(f"conditional training needs a conditional G(z, y) with n_classes; got {type(G).__name__}")
        labels = check_labels(labels, n_classes, len(dataset), name="labels").to(device)
    if channels_last:
        G.to(memory_format=torch.channels_last)
        D.to(memory_format=torch.channels_last)
        if dataset is not None and dataset.ndim == 4:
            dataset = dataset.contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        z0 = torch.zeros(2, latent_dim, device=device)
        probe = G(z0, torch.zeros(2, dtype=torch.long, device=device)) if conditional else G(z0)
    if tuple(probe.shape[1:]) != sample_shape:
        raise ValueError(f"G makes samples of shape {tuple(probe.shape[1:])} but the data has shape {sample_shape}")

    gen = torch.Generator(device=device).manual_seed(seed)
    state = TrainState(G, D, opt_G, opt_D, gen, device, 0, steps)
    run = Run(history={"step": [], "d_loss": [], "g_loss": []})
    meta = {"batch_size": batch_size, "n_critic": n_critic, "seed": seed, "objective": repr(objective)}
    if conditional:
        meta["n_classes"] = n_classes

    # ---- resume
    if checkpoint is not None and resume and Path(checkpoint).exists():
        ckpt = load_checkpoint(checkpoint, map_location=device)
        for key, value in meta.items():
            if ckpt["meta"].get(key) != value:
                raise ValueError(
                    f"checkpoint {checkpoint} was made with {key}={ckpt['meta'].get(key)!r}, not {value!r}; "
                    "pass resume=False to start over"
                )
        G.load_state_dict(ckpt["G"])
        D.load_state_dict(ckpt["D"])
        opt_G.load_state_dict(ckpt["opt_G"])
        opt_D.load_state_dict(ckpt["opt_D"])
        gen.set_state(ckpt["rng"].cpu())
        torch.set_rng_state(ckpt["torch_rng"].cpu())  # so layers that use it (dropout) continue identically
        for h, s in zip(hooks, ckpt["hooks"]):
            h.load_state_dict(s)
        run.history = {k: list(v) for k, v in ckpt["history"].items()}
        run.snapshots = list(zip(ckpt["snapshot_steps"], ckpt["snapshots"].cpu())) if ckpt["snapshot_steps"] else []
        state.step = run.resumed_from = int(ckpt["step"])

    snapshot_z = torch.randn(snapshot_n, latent_dim, generator=torch.Generator().manual_seed(seed + 1)).to(device)
    snapshot_y = balanced_labels(snapshot_n, n_classes).to(device) if conditional else None  # rows of digits

    needs_alpha = bool(getattr(objective, "needs_alpha", False))
    needs_G = bool(getattr(objective, "needs_G", False))
    objective_draws = getattr(objective, "draws", None)
    if objective_draws is not None:
        _check_objective_draws(objective_draws, batch_size, n_critic, latent_dim, device)

    def draw() -> dict[str, torch.Tensor]:
        """All of one step's randomness, in a fixed order, from the loop's generator."""
        d = {}
        if dataset is not None:
            d["idx"] = torch.randint(len(dataset), (n_critic, batch_size), generator=gen, device=device)
        d["z_d"] = torch.randn(n_critic, batch_size, latent_dim, generator=gen, device=device)
        d["z_g"] = torch.randn(batch_size, latent_dim, generator=gen, device=device)
        if needs_alpha:
            d["alpha"] = torch.rand(n_critic, batch_size, generator=gen, device=device)
        if conditional:  # after the unconditional draws, so those runs draw exactly what they drew before
            d["y_d"] = torch.randint(n_classes, (n_critic, batch_size), generator=gen, device=device)
            d["y_g"] = torch.randint(n_classes, (batch_size,), generator=gen, device=device)
        if objective_draws is not None:
            critic_draws, generator_draws = objective_draws(batch_size, n_critic, latent_dim, gen, device)
            d.update({f"d:{k}": v for k, v in critic_draws.items()})
            d.update({f"g:{k}": v for k, v in generator_draws.items()})
        return d

    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp and device.type == "cuda")

    def step(d: dict[str, torch.Tensor]):
        """One generator step after n_critic critic steps; returns detached (loss_d, loss_g, extras)."""
        extras: dict[str, torch.Tensor] = {}
        common = {"G": G} if needs_G else {}
        for k in range(n_critic):
            x_real = dataset[d["idx"][k]] if dataset is not None else sampler(batch_size, gen)  # (B, *shape)
            if conditional:
                y_real = labels[d["idx"][k]]  # (B,) the same indices as the batch
                cond = {"y_real": y_real, "y_fake": d["y_d"][k]}
            with torch.no_grad(), autocast:
                x_fake = G(d["z_d"][k], d["y_d"][k]) if conditional else G(d["z_d"][k])
            d_real, d_fake = x_real, x_fake.to(x_real.dtype)
            for h in hooks:
                d_real, d_fake = h.d_inputs(d_real, d_fake, state)
            with autocast:
                kwargs = {"alpha": d["alpha"][k]} if needs_alpha else {}
                if conditional:
                    kwargs.update(cond)
                kwargs.update({name[2:]: v[k] for name, v in d.items() if name.startswith("d:")}, **common)
                out = objective.d_loss(D, d_real, d_fake, generator=gen, **kwargs)
            loss_d, extras = out if isinstance(out, tuple) else (out, {})
            loss_d = _plus_penalties(loss_d, (h.d_penalty(state) for h in hooks))
            opt_D.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_D.step()
            for h in hooks:
                h.after_d_step(state)
        with autocast:
            kwargs = {name[2:]: v for name, v in d.items() if name.startswith("g:")} | common
            if conditional:
                kwargs.update(y_real=y_real, y_fake=d["y_g"])
            x_fake = G(d["z_g"], d["y_g"]) if conditional else G(d["z_g"])
            out = objective.g_loss(D, x_fake, x_real, **kwargs)
        loss_g, g_extras = out if isinstance(out, tuple) else (out, {})
        extras = {**extras, **g_extras}
        loss_g = _plus_penalties(loss_g, (h.g_penalty(state) for h in hooks))
        opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_G.step()
        return loss_d.detach().float(), loss_g.detach().float(), {k: v.detach().float() for k, v in extras.items()}

    def save() -> None:
        snaps = torch.stack([s for _, s in run.snapshots]) if run.snapshots else torch.zeros(0)
        payload = {
            "step": state.step,
            "G": G.state_dict(),
            "D": D.state_dict(),
            "opt_G": opt_G.state_dict(),
            "opt_D": opt_D.state_dict(),
            "rng": gen.get_state(),
            "torch_rng": torch.get_rng_state(),  # global CPU stream: dropout draws from it
            "hooks": [h.state_dict() for h in hooks],
            "history": run.history,
            "snapshot_steps": [s for s, _ in run.snapshots],
            "snapshots": snaps,
            "meta": meta,
        }
        save_checkpoint(checkpoint, payload)

    for h in hooks:
        h.setup(state)
    window: dict[str, list[torch.Tensor]] = {}
    window_steps: list[int] = []

    def flush() -> None:
        """Move the window's scalars to the host (one sync), check them, log their means."""
        if not window_steps:
            return
        values = {k: torch.stack(v).double().cpu() for k, v in window.items()}
        for k, v in values.items():
            bad = (~torch.isfinite(v)).nonzero()
            if len(bad):
                at = window_steps[int(bad[0])]
                raise NonFiniteLossError(
                    f"training stopped at step {at}: the {k} is {v[int(bad[0])].item()} (not finite). "
                    "Try a lower learning rate, a smaller gp_weight or clip value, or check the data for NaNs."
                )
        run.history["step"].append(window_steps[-1])
        for k, v in values.items():
            run.history.setdefault(k, []).append(v.mean().item())
        window.clear()
        window_steps.clear()

    use_graph, why = _fast_path(fast, device, dataset, hooks, steps - state.step)
    if why:
        _say_once(f"gancourse.train: {why}; using the eager loop")
    if device.type == "cuda":  # eager or captured: the same optimiser arithmetic, so both compute one function
        _make_capturable((opt_G, opt_D), device)
    else:
        _match_capturable((opt_G, opt_D), device)
    graph, first_step = None, state.step
    side = torch.cuda.Stream(device) if use_graph else None  # warm-up runs on a side stream (CUDA graphs docs)

    def captured_step(d):
        out = step(d)
        for h in hooks:  # capturable hooks (EMA, clipping) do not read state.step
            h.after_step(state)
        return out

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, initial=min(state.step, steps), desc=desc or "training", leave=False)
    start = time.perf_counter()
    G.train()
    D.train()
    n_params = sum(p.numel() for m in (G, D) for p in m.parameters())
    context = contextlib.ExitStack()
    context.enter_context(_cpu_threads(device, n_params))
    if conditional:
        context.enter_context(labels_checked())  # checked once above; a per-step range check would sync
    try:
        while state.step < steps:
            if use_graph and graph is None and state.step >= first_step + WARMUP_STEPS:
                torch.cuda.current_stream(device).wait_stream(side)
                graph, static = _capture(captured_step, draw, gen)
            if graph is not None:
                for k, v in draw().items():
                    static["draws"][k].copy_(v)
                graph.replay()
                loss_d, loss_g = static["loss_d"].clone(), static["loss_g"].clone()
                extras = {k: v.clone() for k, v in static["extras"].items()}
            elif side is not None:
                side.wait_stream(torch.cuda.current_stream(device))
                with torch.cuda.stream(side):
                    loss_d, loss_g, extras = step(draw())
                torch.cuda.current_stream(device).wait_stream(side)
            else:
                loss_d, loss_g, extras = step(draw())
            state.step += 1
            if graph is None:  # a captured step has its hooks' after_step inside the graph
                for h in hooks:
                    h.after_step(state)
            # ---- bookkeeping: scalars stay on the device until the window is flushed
            window.setdefault("d_loss", []).append(loss_d)
            window.setdefault("g_loss", []).append(loss_g)
            for k, v in extras.items():
                window.setdefault(k, []).append(v)
            window_steps.append(state.step)
            if state.step % log_every == 0 or state.step == steps:
                flush()
                if bar is not None:
                    bar.set_postfix(
                        d_loss=f"{run.history['d_loss'][-1]:.4f}", g_loss=f"{run.history['g_loss'][-1]:.4f}"
                    )
            if snapshot_every and (state.step % snapshot_every == 0 or state.step == steps):
                run.snapshots.append((state.step, sample(G, snapshot_n, z=snapshot_z, y=snapshot_y)))
            if checkpoint_every and state.step % checkpoint_every == 0:
                flush()
                save()
            if bar is not None:
                bar.update(1)
        flush()
    finally:
        context.close()
        if bar is not None:
            bar.close()
    run.steps = state.step
    run.seconds = time.perf_counter() - start
    if checkpoint is not None:
        save()
    return run
