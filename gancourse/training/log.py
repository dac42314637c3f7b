"""The loop's logbook: losses logged as window means, a run that blows up stopped and named, a progress bar.

The losses of each step stay on the device until a window of ``log_every`` steps is flushed: one host
sync per window, not per step. At each flush the loop stops a run that has blown up, naming the earliest
step and the quantity that went first: a loss or logged scalar that is not finite, a loss beyond the bound
its objective declares (``objective.loss_bound``, else LOSS_BOUND), or parameters of G or D that are not
finite. With ``progress`` a bar shows the run and leaves one line behind: steps, time and final losses.
"""

from __future__ import annotations

import math
import time

import torch

# the largest |loss| a run that has not blown up reaches, for objectives that declare none: the course's
# losses stay within about 1e2 while training works, and runs that blow up pass 1e6 within a few steps
LOSS_BOUND = 1e6
ADVICE = "Try a lower learning rate, a smaller gp_weight or clip value, or check the data for NaNs."


class DivergedError(RuntimeError):
    """Training blew up; the message names the earliest step and the loss (or net) that went first."""


class NonFiniteLossError(DivergedError):
    """A loss, a logged scalar or a parameter became NaN or infinite."""


class Log:
    """Collects each step's scalars, flushes window means into ``run.history``, and shows a progress bar."""

    def __init__(self, run, state, plan):
        self.run, self.state, self.plan = run, state, plan
        self.window: dict[str, list[torch.Tensor]] = {}
        self.window_steps: list[int] = []
        self.bar = None
        self.seconds = 0.0

    def __enter__(self) -> Log:
        self.first, self.start = self.state.step, time.perf_counter()
        if self.plan.progress:
            from tqdm.auto import tqdm

            initial = min(self.state.step, self.plan.steps)
            self.bar = tqdm(total=self.plan.steps, initial=initial, desc=self.plan.desc or "training", leave=False)
        return self

    def add(self, step: int, loss_d: torch.Tensor, loss_g: torch.Tensor, logged: dict[str, torch.Tensor]) -> None:
        """Keep one step's scalars (on the device) for the next flush."""
        for key, value in {"d_loss": loss_d, "g_loss": loss_g, **logged}.items():
            self.window.setdefault(key, []).append(value)
        self.window_steps.append(step)
        if self.bar is not None:
            self.bar.update(1)

    def flush(self) -> None:
        """Move the window's scalars to the host (one sync), stop a run that blew up, log the window means."""
        if not self.window_steps:
            return
        values = {k: torch.stack(v).double().cpu() for k, v in self.window.items()}
        self._stop_if_blown_up(values)
        history = self.run.history
        history["step"].append(self.window_steps[-1])
        for k, v in values.items():
            history.setdefault(k, []).append(v.mean().item())
        self.window.clear()
        self.window_steps.clear()
        if self.bar is not None:
            self.bar.set_postfix(d_loss=f"{history['d_loss'][-1]:.4f}", g_loss=f"{history['g_loss'][-1]:.4f}")

    def _stop_if_blown_up(self, values: dict[str, torch.Tensor]) -> None:
        bound = self.plan.loss_bound
        first = None  # (position in the window, name, value) of the earliest bad value; d_loss first at a tie
        for name, v in values.items():
            bad = ~torch.isfinite(v)
            if name in ("d_loss", "g_loss"):
                bad |= v.abs() > bound
            hits = bad.nonzero()
            if len(hits) and (first is None or int(hits[0]) < first[0]):
                first = (int(hits[0]), name, v[int(hits[0])].item())
        if first is not None:
            i, name, value = first
            at = self.window_steps[i]
            if not math.isfinite(value):
                raise NonFiniteLossError(f"training stopped at step {at}: the {name} is {value} (not finite). {ADVICE}")
            objective = type(self.plan.objective).__name__
            whose = f"{objective}.loss_bound" if hasattr(self.plan.objective, "loss_bound") else "the loop's LOSS_BOUND"
            raise DivergedError(
                f"training stopped at step {at}: the {name} is {value:.3g}, beyond {bound:g} ({whose}), "
                f"which a run that has not blown up stays within. {ADVICE}"
            )
        start, end = self.window_steps[0], self.window_steps[-1]
        when = f"at step {end}" if start == end else f"between steps {start} and {end}"
        for name, net in (("G", self.state.G), ("D", self.state.D)):
            if not bool(torch.stack([p.isfinite().all() for p in net.parameters()]).all()):
                raise NonFiniteLossError(
                    f"training stopped: {name}'s parameters became non-finite {when}, while the losses were still "
                    f"finite. {ADVICE}"
                )

    def __exit__(self, kind, error, traceback) -> None:
        self.seconds = time.perf_counter() - self.start
        if self.bar is None:
            return
        self.bar.close()
        if error is None:
            print(self.summary())

    def summary(self) -> str:
        """One line: how many steps, how long, and the final window's losses."""
        done, history = self.state.step - self.first, self.run.history
        where = f"steps {self.first:,} to {self.state.step:,} (resumed)" if self.first else f"{done:,} steps"
        line = f"{self.plan.desc or 'training'}: {where} in {self.seconds:.1f} s"
        if history["d_loss"]:
            line += f"; final d_loss {history['d_loss'][-1]:.4f}, g_loss {history['g_loss'][-1]:.4f}"
        return line
