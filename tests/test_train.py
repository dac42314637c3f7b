"""The one loop: reproducible, resumable exactly, atomic checkpoints, loud failures, checked inputs."""

import math

import pytest
import torch
from training_helpers import params

from gancourse import data, losses, nets, techniques
from gancourse.train import Hook, NonFiniteLossError, Run, adam, load_checkpoint, sample, train

RING = data.sample_ring(4096, seed=0)


def make(seed=0, **kw):
    torch.manual_seed(seed)
    return nets.toy_gan(hidden=32, depth=2, dropout=0.2, **kw)  # dropout: the global RNG must resume too


def run_toy(steps=30, seed=0, init_seed=0, **kwargs):
    G, D = make(init_seed)
    kwargs.setdefault("batch_size", 64)
    kwargs.setdefault("log_every", 5)
    run = train(G, D, RING, steps=steps, seed=seed, progress=False, **kwargs)
    return G, D, run


def test_same_seed_same_losses_and_weights():
    G1, D1, r1 = run_toy()
    G2, D2, r2 = run_toy()
    assert r1.history == r2.history
    torch.testing.assert_close(params(G1, D1), params(G2, D2), rtol=0, atol=0)
    _, _, r3 = run_toy(seed=1)
    assert r3.history["d_loss"] != r1.history["d_loss"]


def test_history_holds_plain_floats_and_window_means():
    _, _, run = run_toy(steps=23)
    assert isinstance(run, Run) and run.steps == 23
    assert run.history["step"] == [5, 10, 15, 20, 23]
    for key in ("d_loss", "g_loss"):
        assert len(run.history[key]) == 5 and all(type(v) is float for v in run.history[key])


@pytest.mark.parametrize("with_hooks", [False, True], ids=["plain", "with-hooks"])
def test_an_interrupted_and_resumed_run_equals_an_uninterrupted_one(tmp_path, with_hooks, interrupt):
    def hooks():
        return (
            [techniques.InstanceNoise(0.1), techniques.HistoricalAveraging(1e-3), techniques.EMA(0.9)]
            if with_hooks
            else []
        )

    full_hooks = hooks()
    G_a, D_a, run_a = run_toy(steps=40, hooks=full_hooks, snapshot_every=10, snapshot_n=8)

    ckpt = tmp_path / "run.pt"
    G_b, D_b = make(0)
    with pytest.raises(KeyboardInterrupt):
        train(
            G_b,
            D_b,
            RING,
            steps=40,
            batch_size=64,
            log_every=5,
            progress=False,
            hooks=hooks() + [interrupt(27)],
            checkpoint=ckpt,
            checkpoint_every=10,
            snapshot_every=10,
            snapshot_n=8,
        )
    assert load_checkpoint(ckpt)["step"] == 20

    resumed_hooks = hooks()
    G_c, D_c = make(123)  # a fresh process: other initial weights, all replaced by the checkpoint
    run_c = train(
        G_c,
        D_c,
        RING,
        steps=40,
        batch_size=64,
        log_every=5,
        progress=False,
        hooks=resumed_hooks,
        checkpoint=ckpt,
        checkpoint_every=10,
        snapshot_every=10,
        snapshot_n=8,
    )
    assert run_c.resumed_from == 20 and run_c.steps == 40
    assert run_c.history == run_a.history
    torch.testing.assert_close(params(G_c, D_c), params(G_a, D_a), rtol=0, atol=0)
    assert [s for s, _ in run_c.snapshots] == [10, 20, 30, 40]
    for (_, a), (_, c) in zip(run_a.snapshots, run_c.snapshots):
        torch.testing.assert_close(a, c, rtol=0, atol=0)
    if with_hooks:
        torch.testing.assert_close(params(resumed_hooks[2].G), params(full_hooks[2].G), rtol=0, atol=0)


def test_checkpoints_load_with_weights_only_and_are_atomic(tmp_path, monkeypatch):
    ckpt = tmp_path / "c.pt"
    G, D, _ = run_toy(steps=10, checkpoint=ckpt)
    payload = torch.load(ckpt, weights_only=True)
    assert payload["step"] == 10 and set(payload["G"]) == set(G.state_dict())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]
    before = ckpt.read_bytes()

    def broken_save(obj, f, *args, **kwargs):
        f.write(b"half a checkpoint")  # save_checkpoint hands torch.save an open file
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        run_toy(steps=12, checkpoint=ckpt, resume=False)
    assert ckpt.read_bytes() == before  # the old checkpoint is intact
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]  # no temp file left


def test_resume_refuses_a_checkpoint_of_another_run(tmp_path):
    ckpt = tmp_path / "c.pt"
    run_toy(steps=5, checkpoint=ckpt)
    with pytest.raises(ValueError, match="batch_size"):
        run_toy(steps=10, checkpoint=ckpt, batch_size=32)


class PoisonD(Hook):
    def after_step(self, state):
        if state.step == 7:
            with torch.no_grad():
                next(state.D.parameters()).fill_(float("nan"))


def test_a_non_finite_loss_stops_training_and_names_the_step():
    with pytest.raises(NonFiniteLossError, match=r"step 8: the d_loss is nan"):
        run_toy(steps=30, hooks=[PoisonD()], log_every=10)


def test_n_critic_counts_critic_steps():
    G, D = make()
    opt_D = torch.optim.SGD(D.parameters(), lr=0.01)
    calls = []

    class Count(Hook):
        def after_d_step(self, state):
            calls.append(state.step)

    train(G, D, RING, steps=4, n_critic=3, opt_D=opt_D, hooks=[Count()], batch_size=16, progress=False)
    assert calls == [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]


def test_a_sampler_works_as_data():
    G, D = make()
    run = train(G, D, lambda n, g: data.sample_ring(n, generator=g), steps=5, batch_size=16, progress=False)
    assert run.steps == 5 and all(math.isfinite(v) for v in run.history["d_loss"])


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"lr": 0.0}, ValueError, "lr must be a positive finite"),
        ({"lr": float("nan")}, ValueError, "lr must be a positive finite"),
        ({"lr": -1e-4}, ValueError, "lr"),
        ({"betas": (1.0, 0.9)}, ValueError, r"betas must be a number in \[0, 1\)"),
        ({"betas": (0.5,)}, ValueError, "betas must be a pair"),
        ({"n_critic": 0}, ValueError, "n_critic must be >= 1"),
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": 2.0}, TypeError, "batch_size must be an int"),
        ({"steps": -1}, ValueError, "steps"),
        ({"latent_dim": 0}, ValueError, "latent_dim must be >= 1"),
        ({"checkpoint_every": 5}, ValueError, "checkpoint_every needs checkpoint"),
        ({"hooks": [object()]}, TypeError, "hooks"),
        ({"objective": object()}, TypeError, "objective"),
    ],
)
def test_bad_hyperparameters_fail_before_training(kwargs, err, match):
    G, D = make()
    before = params(G, D).clone()
    with pytest.raises(err, match=match):
        train(G, D, RING, **{"steps": 3, "progress": False, **kwargs})
    torch.testing.assert_close(params(G, D), before)  # nothing was trained


def test_bad_optimisers_and_data_fail_before_training():
    G, D = make()
    with pytest.raises(ValueError, match="opt_G's lr"):
        train(G, D, RING, steps=1, opt_G=torch.optim.SGD(G.parameters(), lr=0.0), progress=False)
    with pytest.raises(ValueError, match="opt_D does not optimise"):
        train(G, D, RING, steps=1, opt_D=torch.optim.SGD(G.parameters(), lr=0.1), progress=False)
    with pytest.raises(ValueError, match=r"G makes samples of shape \(2,\) but the data has shape \(3,\)"):
        train(G, D, torch.randn(10, 3), steps=1, progress=False)
    with pytest.raises(ValueError, match="non-finite"):
        train(G, D, torch.tensor([[0.0, float("nan")]] * 4), steps=1, progress=False)
    Gm, Dm = nets.mnist_mlp_gan(hidden=16, depth=1, latent_dim=4)
    with pytest.raises(ValueError, match=r"images must be scaled to \[-1, 1\]"):
        train(Gm, Dm, torch.rand(8, 1, 28, 28) * 255, steps=1, progress=False)
    with pytest.raises(
        ValueError, match=r"G makes samples of shape \(1, 28, 28\) but the data has shape \(1, 32, 32\)"
    ):
        train(Gm, Dm, torch.rand(8, 1, 32, 32) * 2 - 1, steps=1, progress=False)
    with pytest.raises(ValueError, match="betas"):
        adam(G.parameters(), betas=(0.5, 1.0))


def test_objectives_and_techniques_train():
    for objective, hooks, dkw in [
        (losses.GANObjective("saturating"), [], {}),
        (losses.GANObjective("feature-matching", real_label=0.9), [], {}),
        (losses.GANObjective(), [techniques.InstanceNoise(0.2, anneal_steps=5)], {"minibatch_std": True}),
        (losses.WGANObjective(), [techniques.HistoricalAveraging()], {}),
    ]:
        G, D = make(minibatch_std=dkw.get("minibatch_std", False)) if dkw else make()
        run = train(G, D, RING, steps=6, objective=objective, hooks=hooks, batch_size=32, progress=False, log_every=3)
        assert all(math.isfinite(v) for v in run.history["d_loss"] + run.history["g_loss"])


def test_sample_is_deterministic_and_leaves_mode_alone():
    G, _ = make()
    G.train()
    a, b = sample(G, 10, seed=3), sample(G, 10, seed=3)
    torch.testing.assert_close(a, b)
    assert G.training and a.shape == (10, 2) and not a.requires_grad
    torch.testing.assert_close(sample(G, 10, seed=3, batch_size=3), a)  # batches of 3, 3, 3, 1


@pytest.mark.parametrize(
    "kwargs, err, match",
    [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": 2.5}, TypeError, "batch_size must be an int"),
        ({"z": torch.zeros(10, 2), "seed": 1}, ValueError, "not both"),
    ],
)
def test_sample_rejects_bad_arguments(kwargs, err, match):
    G, _ = make()
    with pytest.raises(err, match=match):
        sample(G, 10, **kwargs)


def test_a_checkpoint_of_a_gpu_run_resumes_on_the_cpu(tmp_path):
    """A CUDA run saves its Adam groups with capturable=True; a CPU runtime (a Colab session that lost its GPU)
    must still resume from it, and continue exactly as a run that never stopped."""
    ckpt = tmp_path / "c.pt"
    run_toy(steps=10, checkpoint=ckpt)
    payload = torch.load(ckpt, weights_only=True)
    for opt in ("opt_G", "opt_D"):
        for group in payload[opt]["param_groups"]:
            group["capturable"] = True  # as train() leaves them on CUDA
    torch.save(payload, ckpt)
    G, _, run = run_toy(steps=20, checkpoint=ckpt, resume="force")  # 20 steps, not 10: more, so "force"
    G_ref, _, _ = run_toy(steps=20)
    assert run.resumed_from == 10
    torch.testing.assert_close(params(G), params(G_ref))


def test_ttur_gives_d_its_own_learning_rate():
    G, D = make()
    seen = {}

    class Peek(Hook):
        def setup(self, state):
            seen["G"], seen["D"] = state.opt_G.param_groups[0]["lr"], state.opt_D.param_groups[0]["lr"]

    train(
        G,
        D,
        RING,
        steps=2,
        lr=1e-4,
        lr_d=4e-4,
        hooks=[Peek()],
        batch_size=16,
        progress=False,
        objective=losses.LSGANObjective(),
    )
    assert seen == {"G": 1e-4, "D": 4e-4}
    with pytest.raises(ValueError, match="lr_d must be a positive"):
        train(G, D, RING, steps=1, lr_d=0.0, progress=False)
    with pytest.raises(ValueError, match="lr_d or opt_D"):
        train(G, D, RING, steps=1, lr_d=1e-3, opt_D=torch.optim.SGD(D.parameters(), lr=0.1), progress=False)


def test_small_nets_train_on_one_cpu_thread_and_the_setting_is_restored():
    before = torch.get_num_threads()
    seen = []

    class Threads(Hook):
        def after_step(self, state):
            seen.append(torch.get_num_threads())

    run_toy(steps=3, hooks=[Threads()])
    assert seen == [1, 1, 1] and torch.get_num_threads() == before


def test_an_unconditional_objective_gets_g_and_its_own_draws_in_both_losses():
    """needs_G and draws() are not only for conditional objectives: d_loss and g_loss both receive them."""
    seen = {"d": [], "g": []}

    class Extra(losses.GANObjective):
        needs_G = True

        def draws(self, batch_size, n_critic, latent_dim, generator, device):
            return {"u": torch.rand(n_critic, 3, generator=generator)}, {"u": torch.rand(3, generator=generator)}

        def d_loss(self, D, x_real, x_fake, generator=None, G=None, u=None):
            seen["d"].append((G is not None, tuple(u.shape)))
            return super().d_loss(D, x_real, x_fake)

        def g_loss(self, D, x_fake, x_real, G=None, u=None):
            seen["g"].append((G is not None, tuple(u.shape)))
            return super().g_loss(D, x_fake, x_real)

    run_toy(steps=2, objective=Extra(), n_critic=2)
    assert seen["d"] == [(True, (3,))] * 4 and seen["g"] == [(True, (3,))] * 2
