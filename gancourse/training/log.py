"""The loop's logbook: losses logged as window means, a run that blows up stopped and named, a progress bar.

The losses of each step stay on the device until a window of ``log_every`` steps is flushed: one host
sync per window, not per step. At each flush the loop stops a run that has blown up, naming the earliest
step and the quantity that went first: a loss or logged scalar that is not finite, a loss beyond the bound
its objective declares (``objective.loss_bound``, else LOSS_BOUND), or parameters of G or D that are not
finite. With ``progress`` a bar shows the run and leaves one line behind: steps, time and final losses.
An ensemble's scalars are one per member: its history holds a list of K values per window (the bar and the
summary show their mean over the members), and a member that blows up stops the run, named.
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
        values = {k: torch.stack(v).double().cpu() for k, v in self.window.items()}  # (steps,) or (steps, K)
        self._stop_if_blown_up(values)
        history = self.run.history
        history["step"].append(self.window_steps[-1])
        for k, v in values.items():
            history.setdefault(k, []).append(v.mean(dim=0).tolist())  # a float, or K floats for an ensemble
        self.window.clear()
        self.window_steps.clear()
        if self.bar is not None:
            self.bar.set_postfix(
                d_loss=f"{_mean(history['d_loss'][-1]):.4f}", g_loss=f"{_mean(history['g_loss'][-1]):.4f}"
            )

    def _stop_if_blown_up(self, values: dict[str, torch.Tensor]) -> None:
        bound = self.plan.loss_bound
        first = None  # (position in the window, name, value) of the earliest bad value; d_loss first at a tie
        for name, v in values.items():
            bad = ~torch.isfinite(v)
            if name in ("d_loss", "g_loss"):
                bad |= v.abs() > bound
            hits = bad.nonzero()  # (i,) or, for an ensemble, (i, member), in order
            if len(hits) and (first is None or int(hits[0][0]) < first[0]):
                where = tuple(hits[0].tolist())
                whose = f"member {where[1]}'s " if len(where) == 2 else ""
                first = (where[0], whose + name, v[where].item())
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
            finite = torch.stack([_finite(p, self.plan.members) for p in net.parameters()]).all(dim=0)  # () or (K,)
            if not bool(finite.all()):
                whose = f"member {int((~finite).nonzero()[0])} of {name}" if finite.ndim else name
                raise NonFiniteLossError(
                    f"training stopped: {whose}'s parameters became non-finite {when}, while the losses were still "
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
        if self.plan.members is not None:
            line += f", {self.plan.members} members"
        if history["d_loss"]:
            of = "" if self.plan.members is None else " (mean of the members)"
            line += f"; final d_loss {_mean(history['d_loss'][-1]):.4f}, g_loss {_mean(history['g_loss'][-1]):.4f}{of}"
        return line


def _mean(value) -> float:
    """A logged value (a float, or an ensemble's list of K floats) as one number."""
    return sum(value) / len(value) if isinstance(value, list) else value


def _finite(p: torch.Tensor, members: int | None) -> torch.Tensor:
    """Whether the parameter p is finite: one bool, or one per member (K,) of an ensemble's stacked parameter."""
    return p.isfinite().all() if members is None else p.isfinite().flatten(1).all(dim=1)
