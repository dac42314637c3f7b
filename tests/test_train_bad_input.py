"""The loop under bad input: runs that blow up stop and say where, resumes that would mislead are refused,
and arguments that PyTorch would reject cryptically get an error that names them."""

import math

import numpy as np
import pytest
import torch
from training_helpers import params

from gancourse import data, losses, nets, techniques
from gancourse.hooks import Hook
from gancourse.train import DivergedError, NonFiniteLossError, load_checkpoint, sample, train

RING = data.sample_ring(4096, seed=0)


def make(seed=0, hidden=32):
    torch.manual_seed(seed)
    return nets.toy_gan(hidden=hidden, depth=2)


def sgd(lr):
    return lambda G, D: dict(opt_G=torch.optim.SGD(G.parameters(), lr=lr), opt_D=torch.optim.SGD(D.parameters(), lr=lr))


class Unbounded(losses.GANObjective):
    loss_bound = math.inf  # only non-finite values stop the run


# --------------------------------------------------------------------------- runs that blow up


@pytest.mark.parametrize(
    "options, match",
    [
        (sgd(1e6), r"step 2: the d_loss is 6\.4\de\+14, beyond 1e\+06 \(the loop's LOSS_BOUND\)"),
        (lambda G, D: dict(lr=1e2), r"step 2: the d_loss is 1\.5\de\+08, beyond 1e\+06"),
        (lambda G, D: dict(lr=1e8), r"step 2: the d_loss is 1\.5\de\+26, beyond 1e\+06"),
        (lambda G, D: dict(lr=1e4, objective=losses.WGANObjective()), r"step 1: the g_loss is -1\.2e\+14, beyond"),
    ],
    ids=["sgd-1e6", "adam-1e2", "adam-1e8", "wgan-1e4"],
)
def test_a_run_that_blows_up_stops_at_the_first_loss_beyond_the_bound(options, match):
    G, D = make()
    with pytest.raises(DivergedError, match=match + ".*lower learning rate"):
        train(G, D, RING, steps=200, batch_size=64, log_every=10, progress=False, **options(G, D))


def test_the_earliest_non_finite_loss_is_named_not_the_first_key():
    """At lr 1e6 the g_loss is inf at step 2 and the d_loss nan at step 3: the message names step 2's g_loss."""
    G, D = make()
    with pytest.raises(NonFiniteLossError, match=r"step 2: the g_loss is inf \(not finite\)"):
        train(G, D, RING, steps=20, batch_size=64, objective=Unbounded(), progress=False, **sgd(1e6)(G, D))


def test_non_finite_parameters_stop_the_run_though_the_losses_are_finite():
    G, D = make(hidden=32)  # at batch 256 G's weights overflow in step 2 while its loss is still 9e35
    with pytest.raises(NonFiniteLossError, match="G's parameters became non-finite at step 2, while the losses"):
        train(
            G, D, RING, steps=20, batch_size=256, log_every=1, objective=Unbounded(), progress=False, **sgd(1e6)(G, D)
        )

    class BreakD(Hook):  # after the last step: no loss ever sees it
        def after_step(self, state):
            if state.step == state.steps:
                with torch.no_grad():
                    next(state.D.parameters())[0].fill_(float("nan"))

    G, D = make()
    with pytest.raises(NonFiniteLossError, match="D's parameters became non-finite between steps 11 and 12"):
        train(G, D, RING, steps=12, batch_size=16, log_every=5, hooks=[BreakD()], progress=False)


def test_an_objective_declares_its_bound():
    class Tight(losses.GANObjective):
        loss_bound = 0.5  # the GAN's d_loss starts near 2 log 2 = 1.39

    G, D = make()
    with pytest.raises(DivergedError, match=r"step 1: the d_loss is 1\.\d+, beyond 0\.5 \(Tight\.loss_bound\)"):
        train(G, D, RING, steps=5, batch_size=16, objective=Tight(), progress=False)
    for bad in (0.0, -1.0, "1e6", float("nan")):
        Tight.loss_bound = bad
        with pytest.raises((TypeError, ValueError), match="objective.loss_bound"):
            train(G, D, RING, steps=1, objective=Tight(), progress=False)


# --------------------------------------------------------------------------- resuming with other settings


def checkpointed(path, steps=6, **kw):
    G, D = make()
    kw.setdefault("batch_size", 16)
    return G, D, train(G, D, kw.pop("data", RING), steps=steps, checkpoint=path, progress=False, **kw)


@pytest.mark.parametrize(
    "changed, listed",
    [
        ({"lr": 1e-3}, r"opt_G lr: 0\.0002 then, 0\.001 now"),
        ({"steps": 4}, "steps: 6 then, 4 now"),
        ({"steps": 10}, "steps: 6 then, 10 now"),
        ({"hooks": [techniques.EMA(0.9)]}, r"hooks: \[\] then, \['EMA'\] now"),
        ({"data": RING[:2048]}, r"data: '\(4096, 2\) float32 #\w+' then, '\(2048, 2\) float32 #\w+' now"),
        ({"data": RING.flip(0)}, r"data: '\(4096, 2\) float32 #\w+' then, '\(4096, 2\) float32 #\w+' now"),
        ({"batch_size": 8, "lr": 1e-3}, r"batch_size: 16 then, 8 now\n.*opt_G lr"),
    ],
)
def test_resuming_with_other_settings_is_refused_with_the_differences_listed(tmp_path, changed, listed):
    checkpointed(tmp_path / "c.pt")
    G, D = make(1)
    before = params(G, D).clone()
    kw = {"steps": 6, "batch_size": 16, **changed}
    with pytest.raises(ValueError, match=rf"(?s)made with other settings.*{listed}.*resume=False.*resume='force'"):
        train(G, D, kw.pop("data", RING), checkpoint=tmp_path / "c.pt", progress=False, **kw)
    assert torch.equal(params(G, D), before)  # nothing was loaded or trained


@pytest.mark.parametrize("saved", [{"G": {}}, [1, 2]], ids=["a saved generator", "a list"])
def test_resuming_from_a_file_train_did_not_write_names_it(tmp_path, saved):
    """A checkpoint path that holds something else (a plain saved G's state) is named, not a KeyError('meta')."""
    path = tmp_path / "dcgan.pt"
    torch.save(saved, path)
    G, D = make(1)
    before = params(G, D).clone()
    with pytest.raises(ValueError, match=r"dcgan.pt is not a checkpoint of train\(\) \(it has no meta.*resume=False"):
        train(G, D, RING, steps=3, batch_size=16, checkpoint=path, progress=False)
    assert torch.equal(params(G, D), before)


def test_force_resumes_with_the_settings_given_now(tmp_path, capsys):
    _, _, first = checkpointed(tmp_path / "c.pt")
    seen = {}

    class Peek(Hook):
        def after_step(self, state):
            seen["lr"] = (state.opt_G.param_groups[0]["lr"], state.opt_D.param_groups[0]["lr"])

    G, D = make(1)
    run = train(G, D, RING, steps=9, batch_size=16, lr=1e-3, hooks=[Peek()], checkpoint=tmp_path / "c.pt",
                resume="force", progress=False)  # fmt: skip
    assert run.resumed_from == 6 and run.steps == 9 and seen["lr"] == (1e-3, 1e-3)
    assert run.history["step"][: len(first.history["step"])] == first.history["step"]
    out = capsys.readouterr().out
    assert "resuming" in out and "steps: 6 then, 9 now" in out and "opt_G lr: 0.0002 then, 0.001 now" in out
    assert load_checkpoint(tmp_path / "c.pt")["meta"]["steps"] == 9  # the new settings are the record now
    with pytest.raises(ValueError, match="resume must be True, False or 'force'"):
        train(G, D, RING, steps=9, checkpoint=tmp_path / "c.pt", resume="yes", progress=False)


def test_a_hook_that_only_watches_does_not_block_a_resume(tmp_path):
    """Lecture 08 simulates a disconnect with a hook, then resumes without it: a watcher steers nothing."""

    class Disconnect(Hook):
        def after_step(self, state):
            if state.step == 5:
                raise ConnectionError

    with pytest.raises(ConnectionError):
        checkpointed(tmp_path / "c.pt", steps=8, checkpoint_every=4, hooks=[Disconnect(), techniques.EMA(0.9)])
    ema = techniques.EMA(0.9)
    G, D = make(2)
    run = train(G, D, RING, steps=8, batch_size=16, checkpoint=tmp_path / "c.pt", hooks=[ema], progress=False)
    assert run.resumed_from == 4 and ema.G is not None
    G_a, D_a = make()
    ema_a = techniques.EMA(0.9)
    train(G_a, D_a, RING, steps=8, batch_size=16, hooks=[ema_a], progress=False)
    torch.testing.assert_close(params(ema.G), params(ema_a.G), rtol=0, atol=0)  # the EMA's state was restored


# --------------------------------------------------------------------------- arguments PyTorch would reject cryptically


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        (
            {"device": "gpu"},
            ValueError,
            r"device='gpu' is not a torch device: use 'cpu', 'cuda' or 'mps': a GPU is 'cuda'",
        ),
        ({"device": "tpu"}, ValueError, r"device='tpu' is not a torch device"),
        ({"device": "meta"}, ValueError, r"device='meta' is not a device the course computes on.*shapes, no data"),
        ({"device": "cuda:7"}, ValueError, r"device='cuda:7'"),
        ({"device": 3.0}, TypeError, "device must be a str or torch.device"),
        ({"seed": 2**70}, ValueError, r"seed must be in \[0, 2\*\*32\), got 1180591620717411303424"),
        ({"seed": -1}, ValueError, r"seed must be in \[0, 2\*\*32\)"),
        ({"seed": 1.5}, TypeError, "seed must be an int"),
        (
            {"data": RING.double()},
            TypeError,
            r"data is torch.float64 but G computes in torch.float32: .*data.float\(\)",
        ),
        (
            {"data": lambda n, g: data.sample_ring(n, generator=g).double()},
            TypeError,
            "sampler's output is torch.float64",
        ),
        ({"fast": "yes"}, TypeError, "fast must be None"),
        ({"checkpoint": 5}, TypeError, "checkpoint must be a path"),
    ],
)
def test_bad_arguments_get_an_error_that_names_them(kwargs, err, match):
    G, D = make()
    before = params(G, D).clone()
    kwargs = {"steps": 2, "progress": False, **kwargs}
    with pytest.raises(err, match=match):
        train(G, D, kwargs.pop("data", RING), **kwargs)
    assert torch.equal(params(G, D), before)


def test_the_run_trains_where_g_is_and_refuses_a_d_elsewhere():
    G, D = make()
    with pytest.raises(ValueError, match=r"G's parameters are on cpu but D's on meta: move D there with D.to\('cpu'\)"):
        train(G, D.to("meta"), RING, steps=1, progress=False)
    G, D = make()
    with pytest.raises(ValueError, match="G's device='meta'"):
        train(G.to("meta"), D.to("meta"), RING, steps=1, progress=False)
    G, D = make()
    with pytest.raises(TypeError, match=r"G computes in torch.float32 but D in torch.float64"):
        train(G, D.double(), RING, steps=1, progress=False)
    G, D = make()
    run = train(G.double(), D.double(), RING.double(), steps=2, batch_size=8, progress=False)  # one dtype: fine
    assert run.steps == 2 and next(G.parameters()).dtype == torch.float64


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_a_model_on_the_gpu_trains_there_and_its_data_moves_once():
    G, D = make()
    run = train(G.cuda(), D.cuda(), RING, steps=3, batch_size=8, progress=False)  # RING stays on the CPU
    assert run.steps == 3 and next(G.parameters()).is_cuda and not RING.is_cuda


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"z": np.zeros((4, 2), dtype=np.float32)}, TypeError, r"z must be a torch.Tensor.*torch.from_numpy"),
        (
            {"z": torch.zeros(4, 2, dtype=torch.float64)},
            TypeError,
            r"z is torch.float64 but G computes in torch.float32",
        ),
        ({"z": torch.zeros(4, 3)}, ValueError, r"sample\(\) expects z of shape \(N, 2\), got \(4, 3\)"),
        ({"seed": -1}, ValueError, r"seed must be in \[0, 2\*\*32\), got -1"),
        ({"seed": 2**70}, ValueError, r"seed must be in \[0, 2\*\*32\)"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
    ],
)
def test_sample_names_its_bad_arguments(kwargs, err, match):
    G, _ = make()
    with pytest.raises(err, match=match):
        sample(G, 4, **kwargs)


def test_sample_refuses_a_generator_on_the_meta_device():
    G, _ = make()
    with pytest.raises(ValueError, match="G's device='meta'"):
        sample(G.to("meta"), 4)


# --------------------------------------------------------------------------- what a run leaves behind


def test_a_progress_bar_leaves_a_one_line_summary(capsys):
    G, D = make()
    train(G, D, RING, steps=12, batch_size=16, log_every=5, desc="toy GAN", progress=True)
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("toy GAN")]
    assert len(lines) == 1
    assert lines[0].startswith("toy GAN: 12 steps in ") and " s; final d_loss " in lines[0] and ", g_loss " in lines[0]
    train(G, D, RING, steps=12, batch_size=16, progress=False)
    assert "final d_loss" not in capsys.readouterr().out  # without a bar, a run prints nothing
