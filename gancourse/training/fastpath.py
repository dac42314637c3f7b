"""The fast path: on CUDA, the whole training step captured once as a CUDA graph and replayed.

A replayed graph launches every kernel of a step (critic steps, penalty, generator step, graph-safe hooks)
at once, without Python: on the course's small nets the launches, not the arithmetic, are what takes the
time (docs/benchmarks.md). It computes the function the plain step computes because everything random is
drawn before the step (gancourse.train.draws) and copied into the graph's input buffers; the optimisers
are "capturable" (their step counters live on the device) in both paths, so both do the same arithmetic.
The first WARMUP_STEPS steps run eagerly on a side stream (lazy optimiser state, cuBLAS workspaces), as
PyTorch's CUDA-graph notes ask. Off CUDA, or with a data sampler or a hook that needs the host, the plain
step runs; on a CPU, small nets train on one thread.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

import torch

SMALL_MODEL = 1_000_000  # parameters: below this, one CPU thread trains faster than several
WARMUP_STEPS = 3  # eager steps on a side stream before the capture
_said: set[str] = set()


def say_once(line: str) -> None:
    """Print ``line`` the first time only, in this process."""
    if line not in _said:
        _said.add(line)
        print(line)


def plain(step: Callable, draw: Callable, hooks, state) -> Callable:
    """One step at a time, the plain way: draw, step, count the step, then the hooks' after_step."""

    def run_step():
        out = step(draw())
        state.step += 1
        for h in hooks:
            h.after_step(state)
        return out

    return run_step


def why_not(fast, device: torch.device, host_data: bool, hooks, steps_left: int) -> str | None:
    """None if the captured step can run; else why not, in a few words ('' when nobody need be told)."""
    if fast is False:
        return ""
    if device.type != "cuda":
        if torch.cuda.is_available():
            return f"training on {device.type}, the plain way: one step after another"
        return "this machine has no GPU, so it trains the plain way: one step after another"
    if host_data:
        return "a data sampler runs Python every step, so this run trains the plain way (give a data tensor)"
    if any(h.needs_host for h in hooks):
        names = ", ".join(type(h).__name__ for h in hooks if h.needs_host)
        return f"{names} needs the host every step, so this run trains the plain way"
    return "" if steps_left <= WARMUP_STEPS else None


def wrap(step: Callable, draw: Callable, hooks, state, *, fast, host_data: bool) -> Callable:
    """The step runner the loop calls: the captured step on CUDA when it can run, else the plain one.

    ``fast``: None (automatic), True (ask for it) or False (always plain).
    """
    device = state.device
    capturable = device.type == "cuda"  # eager or captured on CUDA: the same optimiser arithmetic
    for opt in (state.opt_G, state.opt_D):
        _set_capturable(opt, capturable, device)
    why = why_not(fast, device, host_data, hooks, state.steps - state.step)
    if why:
        say_once(f"gancourse.train: {why}")
    if why is not None:
        return plain(step, draw, hooks, state)
    return CapturedStep(step, draw, hooks, state)


def _set_capturable(opt: torch.optim.Optimizer, on: bool, device: torch.device) -> None:
    """On CUDA, capturable before the first step (the step counters then live on the device, as a capture needs);
    elsewhere off (a checkpoint of a CUDA run has it on, and a capturable Adam refuses CPU parameters)."""
    for group in opt.param_groups:
        if "capturable" in group and (on or group["capturable"]):
            group["capturable"] = on
    if on:
        for st in opt.state.values():  # state from an earlier call or a checkpoint
            if isinstance(st.get("step"), torch.Tensor) and st["step"].device != device:
                st["step"] = st["step"].to(device)


class CapturedStep:
    """The step on CUDA: WARMUP_STEPS eager steps on a side stream, then one capture, then replays."""

    def __init__(self, step: Callable, draw: Callable, hooks, state):
        self.step, self.draw, self.hooks, self.state = step, draw, hooks, state
        self.device = state.device
        self.side = torch.cuda.Stream(self.device)  # the warm-up runs on a side stream (CUDA graphs docs)
        self.warm = 0
        self.graph = None

    def __call__(self):
        if self.graph is None and self.warm < WARMUP_STEPS:
            self.warm += 1
            return self._warm_up()
        if self.graph is None:
            torch.cuda.current_stream(self.device).wait_stream(self.side)
            self._capture()
        for k, v in self.draw().items():
            self.static["draws"][k].copy_(v)
        self.graph.replay()
        self.state.step += 1  # the graph ran the hooks' after_step: graph-safe hooks do not read state.step
        return (
            self.static["loss_d"].clone(),
            self.static["loss_g"].clone(),
            {k: v.clone() for k, v in self.static["logged"].items()},
        )

    def _warm_up(self):
        main = torch.cuda.current_stream(self.device)
        self.side.wait_stream(main)
        with torch.cuda.stream(self.side):
            out = self.step(self.draw())
        main.wait_stream(self.side)
        self.state.step += 1
        for h in self.hooks:
            h.after_step(self.state)
        return out

    def _capture(self) -> None:
        """Capture one whole training step (critic steps, penalty, generator step, hooks) as a CUDA graph."""
        gen = self.state.generator
        rng = gen.get_state()
        static_draws = self.draw()  # buffers of the right shapes; the draws themselves are given back below
        gen.set_state(rng)
        self.graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(self.graph):
            loss_d, loss_g, logged = self.step(static_draws)
            for h in self.hooks:  # graph-safe hooks (EMA, clipping) do not read state.step
                h.after_step(self.state)
        self.static = {"draws": static_draws, "loss_d": loss_d, "loss_g": loss_g, "logged": logged}


@contextlib.contextmanager
def cpu_threads(device: torch.device, *nets: torch.nn.Module):
    """Train small nets on one CPU thread: OpenMP's fork/join costs more than their tiny matmuls,
    and on a busy machine its spinning threads made each step 20-70x slower (docs/benchmarks.md)."""
    n_params = sum(p.numel() for net in nets for p in net.parameters())
    if device.type != "cpu" or n_params >= SMALL_MODEL or torch.get_num_threads() == 1:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
