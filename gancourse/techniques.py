"""Improved techniques for training GANs, as options (hooks) of the one loop.

Salimans et al. 2016, "Improved Techniques for Training GANs" (historical averaging; feature
matching and one-sided label smoothing live in gancourse.losses.GANObjective); Sønderby et al.
2017 and Arjovsky & Bottou 2017 (instance noise); Karras et al. 2018 (minibatch standard
deviation: gancourse.nets.MinibatchStd); Yazıcı et al. 2019 (an exponential moving average of G).
Compared on the ring in notebooks/05_vanilla_gan.ipynb.
"""

from __future__ import annotations

import copy

import torch

from gancourse.ensemble import members_of, per_member
from gancourse.hooks import Hook, TrainState
from gancourse.validation import check_int, check_number, check_positive


class InstanceNoise(Hook):
    """Add N(0, std_t^2) noise to the real and fake samples D sees, in D's loss and in G's loss alike.

    Sønderby et al. 2017: D and G both play on the noisy distributions, real + noise against G(z) + noise.
    std_t decays linearly from ``std`` at the first step to 0 after ``anneal_steps`` (default: the whole run).
    """

    needs_host = True  # std_t follows the step counter, a Python int

    def __init__(self, std: float = 0.1, anneal_steps: int | None = None):
        self.std = check_positive(std, "std")
        self.anneal_steps = None if anneal_steps is None else check_int(anneal_steps, "anneal_steps", 1)

    def current_std(self, state: TrainState) -> float:
        total = self.anneal_steps or state.steps or 1
        return self.std * max(0.0, 1.0 - state.step / total)

    def d_inputs(self, x_real, x_fake, state: TrainState):
        std = self.current_std(state)
        noise_r = torch.randn(x_real.shape, generator=state.generator, device=x_real.device)
        noise_f = torch.randn(x_fake.shape, generator=state.generator, device=x_fake.device)
        return x_real + std * noise_r, x_fake + std * noise_f

    def g_inputs(self, x_real, x_fake, state: TrainState):
        return self.d_inputs(x_real, x_fake, state)  # fresh noise of the same std_t: G is judged on noisy fakes


class HistoricalAveraging(Hook):
    """Penalise ||theta - mean of past theta||^2 for both nets (Salimans et al. 2016, section 3.3)."""

    needs_host = True  # the running mean's count is a Python int

    def __init__(self, weight: float = 1e-3):
        self.weight = check_positive(weight, "weight")
        self.count = 0
        self.avg_G: list[torch.Tensor] = []
        self.avg_D: list[torch.Tensor] = []

    def setup(self, state: TrainState) -> None:
        if not self.avg_G:
            self.avg_G = [p.detach().clone() for p in state.G.parameters()]
            self.avg_D = [p.detach().clone() for p in state.D.parameters()]
            self.count = 1

    @staticmethod
    def _penalty(net, averages) -> torch.Tensor:  # a scalar, or one per member (K,) of an ensemble
        return sum(per_member((p - a).pow(2), members_of(net)) for p, a in zip(net.parameters(), averages))

    def d_penalty(self, state: TrainState):
        return self.weight * self._penalty(state.D, self.avg_D)

    def g_penalty(self, state: TrainState):
        return self.weight * self._penalty(state.G, self.avg_G)

    @torch.no_grad()
    def after_step(self, state: TrainState) -> None:
        self.count += 1
        for avg, p in zip(self.avg_G + self.avg_D, list(state.G.parameters()) + list(state.D.parameters())):
            avg.add_(p - avg, alpha=1.0 / self.count)  # running mean of all past parameters

    def state_dict(self) -> dict:
        return {"count": self.count, "avg_G": self.avg_G, "avg_D": self.avg_D}

    def load_state_dict(self, state: dict) -> None:
        self.count, self.avg_G, self.avg_D = int(state["count"]), list(state["avg_G"]), list(state["avg_D"])


class EMA(Hook):
    """Keep an exponential moving average of G's weights in ``self.G`` (sample from it, not from G)."""

    needs_host = False  # device tensor work only: it runs inside a captured step

    def __init__(self, decay: float = 0.999):
        self.decay = check_number(decay, "decay", 0, 1, low_open=True, high_open=True)
        self.G: torch.nn.Module | None = None
        self._pending: dict | None = None

    def setup(self, state: TrainState) -> None:
        if self.G is None:
            self.G = copy.deepcopy(state.G).requires_grad_(False)
        if self._pending:
            self.G.load_state_dict(self._pending["G"])
            self._pending = None

    @torch.no_grad()
    def after_step(self, state: TrainState) -> None:
        for e, p in zip(self.G.parameters(), state.G.parameters()):
            e.lerp_(p, 1.0 - self.decay)
        for e, b in zip(self.G.buffers(), state.G.buffers()):
            e.copy_(b)

    def state_dict(self) -> dict:
        return {"G": self.G.state_dict()} if self.G is not None else {}

    def load_state_dict(self, state: dict) -> None:
        self._pending = state or None  # applied in setup(), once the copy of G exists
