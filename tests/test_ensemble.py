"""Ensembles (gancourse.ensemble): K runs held as one module compute what K separate runs compute.

The ensemble trains through the course's loop (train()); each separate run is the course's own step
(make_step, the plain runner) on an ordinary pair of nets, fed member k's slice of every draw the ensemble
made. Tolerance: on a CPU a batched matrix product (baddbmm) and a plain one (addmm) may round differently
in the last bit (float32's 6e-8 relative: seen at batch 5-16 with 2 input features, not at batch 32-256),
and 20 steps of training carry those bits forward. Measured on the development machine (torch 2.14.1, one
thread), the largest differences over the recipes below were 2.4e-7 in a loss and 7.2e-7 in a parameter
(LSGAN); most recipes agree to 1e-7 or exactly. So losses and parameters must agree to rtol 1e-5, atol 1e-6:
ten times float32's rounding of values near 1; a member fed another member's draws misses it by far (tested).
"""

import copy
import dataclasses
from collections.abc import Callable

import pytest
import torch
from training_helpers import assert_captured_matches_eager

from gancourse import data, ensemble, losses, nets, techniques
from gancourse import train as train_module
from gancourse.hooks import Hook, TrainState
from gancourse.train import make_step, sample, train
from gancourse.training import fastpath
from gancourse.wasserstein import WeightClipping, WGANGPObjective, gradient_penalty

K, STEPS, B, SEED = 3, 20, 16, 5
X = data.sample_ring(1024, seed=0)
TOL = dict(rtol=1e-5, atol=1e-6)
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="the captured step needs CUDA")


def pairs(k=K, **d_kwargs):
    """k pairs (G, D) of small toy nets, member i's built after torch.manual_seed(i)."""
    out = []
    for i in range(k):
        torch.manual_seed(i)
        out.append(nets.toy_gan(hidden=16, depth=2, **d_kwargs))
    return out


def adam(G, D):
    return torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999)), torch.optim.Adam(D.parameters(), lr=1e-3)


def rmsprop(G, D):
    return torch.optim.RMSprop(G.parameters(), lr=5e-4), torch.optim.RMSprop(D.parameters(), lr=5e-4)


@dataclasses.dataclass
class Recipe:
    objective: Callable = losses.GANObjective
    hooks: Callable = list
    optimisers: Callable = adam
    n_critic: int = 1
    d_kwargs: dict = dataclasses.field(default_factory=dict)


RECIPES = {
    "gan": Recipe(),
    "saturating": Recipe(lambda: losses.GANObjective("saturating")),
    "wgan (clipping)": Recipe(losses.WGANObjective, lambda: [WeightClipping(0.05)], rmsprop, n_critic=2),
    "wgan-gp": Recipe(lambda: WGANGPObjective(0.1), n_critic=2),
    "lsgan": Recipe(losses.LSGANObjective),
    "label smoothing": Recipe(lambda: losses.GANObjective(real_label=0.9)),
    "feature matching": Recipe(lambda: losses.GANObjective("feature-matching")),
    "minibatch std": Recipe(d_kwargs={"minibatch_std": True}),
    "minibatch std + wgan-gp": Recipe(lambda: WGANGPObjective(1.0), n_critic=2, d_kwargs={"minibatch_std": True}),
    "historical averaging": Recipe(hooks=lambda: [techniques.HistoricalAveraging(1e-2)]),
    "ema": Recipe(hooks=lambda: [techniques.EMA(0.9)]),
}


def member_draws(d: dict, k: int) -> dict:
    """Member k's slice of one step's draws: the critic's have the member axis second, the generator's first."""
    critic = lambda name: name in ("idx", "z_d", "y_d") or name.startswith("d:")  # noqa: E731
    return {name: v[:, k] if critic(name) else v[k] for name, v in d.items()}


def train_ensemble(recipe: Recipe, monkeypatch, hooks=None):
    """Train the stack of pairs() with train(); return (the nets, the run, its hooks, every step's draws)."""
    recorded = []
    course_draws = train_module.draws

    def recording_draws(*args, **kwargs):
        draw = course_draws(*args, **kwargs)

        def again():
            d = draw()
            recorded.append({name: v.clone() for name, v in d.items()})
            return d

        return again

    monkeypatch.setattr(train_module, "draws", recording_draws)
    G, D = ensemble.stack_pairs(pairs(**recipe.d_kwargs))
    opt_G, opt_D = recipe.optimisers(G, D)
    hooks = recipe.hooks() if hooks is None else hooks
    run = train(G, D, X, steps=STEPS, batch_size=B, n_critic=recipe.n_critic, objective=recipe.objective(),
                opt_G=opt_G, opt_D=opt_D, hooks=hooks, seed=SEED, log_every=1, progress=False)  # fmt: skip
    monkeypatch.setattr(train_module, "draws", course_draws)
    return G, D, run, hooks, recorded


def separate_run(recipe: Recipe, k: int, recorded: list, hooks=None):
    """Member k's run alone: the course's step on pairs()[k], fed member k's slice of every recorded draw."""
    G, D = pairs(**recipe.d_kwargs)[k]
    opt_G, opt_D = recipe.optimisers(G, D)
    hooks = recipe.hooks() if hooks is None else hooks
    state = TrainState(G, D, opt_G, opt_D, torch.Generator().manual_seed(SEED), torch.device("cpu"), 0, STEPS)
    real = lambda d, j: (X[d["idx"][j]], None)  # noqa: E731
    step = make_step(state, recipe.objective(), real, hooks, n_critic=recipe.n_critic)
    slices = iter([member_draws(d, k) for d in recorded])
    run_step = fastpath.plain(step, lambda: next(slices), hooks, state)
    for h in hooks:
        h.setup(state)
    logged = [run_step() for _ in recorded]
    return G, D, hooks, [(loss_d.item(), loss_g.item()) for loss_d, loss_g, _ in logged]


def assert_members_match(G_ens, D_ens, run, separate, extra=()):
    """Every member's losses at every step, and its final parameters, equal its separate run's (TOL)."""
    for k, (G, D, hooks, logged) in enumerate(separate):
        ens_losses = [(d[k], g[k]) for d, g in zip(run.history["d_loss"], run.history["g_loss"])]
        torch.testing.assert_close(torch.tensor(ens_losses), torch.tensor(logged), **TOL)
        for ens_net, net in ((G_ens, G), (D_ens, D), *((e(k), s(hooks)) for e, s in extra)):
            mine = ensemble.member(ens_net, k)
            for (name, a), b in zip(mine.named_parameters(), net.parameters()):
                torch.testing.assert_close(a, b, **TOL, msg=f"member {k}: {name}")


@pytest.mark.parametrize("name", list(RECIPES))
def test_members_compute_what_separate_runs_compute(name, monkeypatch):
    recipe = RECIPES[name]
    G, D, run, hooks, recorded = train_ensemble(recipe, monkeypatch)
    assert len(recorded) == STEPS and recorded[0]["z_g"].shape == (K, B, 2)
    assert recorded[0]["idx"].shape == (recipe.n_critic, K, B)
    separate = [separate_run(recipe, k, recorded) for k in range(K)]
    extra = []
    if name == "ema":  # the average of G's weights, member by member
        extra = [(lambda k: hooks[0].G, lambda member_hooks: member_hooks[0].G)]
    assert_members_match(G, D, run, separate, extra)
    if "wgan" in name:  # the logged scalars are per member too
        assert all(len(v) == K for v in run.history["wasserstein"])
    if name == "gan":  # the comparison can fail: member 0's run fed member 1's draws does not match member 0
        shifted = [
            {key: torch.roll(v, -1, dims=1 if key in ("idx", "z_d") else 0) for key, v in d.items()} for d in recorded
        ]
        wrong = separate_run(recipe, 0, shifted)
        with pytest.raises(AssertionError):
            assert_members_match(G, D, run, [wrong])


class RecordedNoise(techniques.InstanceNoise):
    """Instance noise that also keeps the noise it added (drawn again from the same generator state), in D's
    loss and in G's loss alike."""

    def __init__(self, std):
        super().__init__(std)
        self.noise = []

    def d_inputs(self, x_real, x_fake, state):
        before = state.generator.get_state()
        out = super().d_inputs(x_real, x_fake, state)
        after = state.generator.get_state()
        state.generator.set_state(before)
        self.noise.append(
            (torch.randn(x_real.shape, generator=state.generator), torch.randn(x_fake.shape, generator=state.generator))
        )
        state.generator.set_state(after)
        return out


class GivenNoise(techniques.InstanceNoise):
    """Instance noise with the schedule of InstanceNoise, adding member k's slice of recorded noise."""

    def __init__(self, std, noise, k):
        super().__init__(std)
        self.given = iter([(r[k], f[k]) for r, f in noise])

    def d_inputs(self, x_real, x_fake, state):
        noise_r, noise_f = next(self.given)
        std = self.current_std(state)
        return x_real + std * noise_r, x_fake + std * noise_f


def test_instance_noise_in_an_ensemble_is_each_members_own(monkeypatch):
    recipe = Recipe()
    noise = RecordedNoise(0.3)
    G, D, run, _, recorded = train_ensemble(recipe, monkeypatch, hooks=[noise])
    assert noise.noise[0][0].shape == (K, B, 2)  # one draw per member and sample
    assert len(noise.noise) == 2 * STEPS  # every step: D's loss, then G's loss (g_inputs calls d_inputs)
    separate = [separate_run(recipe, k, recorded, hooks=[GivenNoise(0.3, noise.noise, k)]) for k in range(K)]
    assert_members_match(G, D, run, separate)


def test_an_ensemble_of_one_reproduces_the_ordinary_run():
    """The draws of K = 1 are the ordinary run's numbers with a member axis of length 1."""
    runs = []
    for as_ensemble in (False, True):
        ((G, D),) = pairs(1)
        if as_ensemble:
            G, D = ensemble.stack([G]), ensemble.stack([D])
        run = train(G, D, X, steps=STEPS, batch_size=B, n_critic=2, objective=WGANGPObjective(0.1), seed=SEED,
                    log_every=1, progress=False)  # fmt: skip
        if as_ensemble:
            G, D = ensemble.member(G, 0), ensemble.member(D, 0)
            run.history = {
                key: [v[0] if isinstance(v, list) else v for v in values] for key, values in run.history.items()
            }
        runs.append((run.history, [p.detach() for p in (*G.parameters(), *D.parameters())]))
    (plain, plain_params), (one, one_params) = runs
    for key in ("d_loss", "g_loss", "wasserstein", "gp"):
        torch.testing.assert_close(torch.tensor(one[key]), torch.tensor(plain[key]), **TOL)
    for a, b in zip(one_params, plain_params):
        torch.testing.assert_close(a, b, **TOL)


def test_stack_and_member_round_trip():
    members = pairs(minibatch_std=True)
    G, D = ensemble.stack_pairs(members)
    assert ensemble.members_of(G) == ensemble.members_of(D) == K and ensemble.members_of(members[0][0]) is None
    x = torch.randn(K, 7, 2)
    before = torch.get_rng_state()
    ensemble.unstack(G)
    assert torch.equal(torch.get_rng_state(), before)  # reading the members draws nothing
    for k, (G_k, D_k) in enumerate(members):
        for net, original in ((ensemble.member(G, k), G_k), (ensemble.member(D, k), D_k)):
            assert type(net) is type(original) and ensemble.members_of(net) is None
            for (name, a), b in zip(net.state_dict().items(), original.state_dict().values()):
                assert torch.equal(a, b), name  # copies of the member's weights, bit for bit
        torch.testing.assert_close(G(x)[k], G_k(x[k]), **TOL)  # member k of the ensemble computes what G_k does
        torch.testing.assert_close(D(x)[k], D_k(x[k]), **TOL)
        torch.testing.assert_close(sample(G, 50, seed=3)[k], sample(G_k, 50, seed=3), **TOL)  # the same latents
    again = ensemble.stack([ensemble.member(D, k) for k in range(K)])
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), D.state_dict().values()))
    assert sample(G, 50).shape == (K, 50, 2) and D(x).shape == (K, 7)
    with torch.no_grad():  # member() copies: training the ensemble later leaves it alone
        copy_0 = ensemble.member(G, 0)
        G.net[0].weight.add_(1.0)
        assert torch.equal(copy_0.net[0].weight, members[0][0].net[0].weight)


def test_stack_seeds_builds_each_member_as_its_seed_would():
    torch.manual_seed(123)
    before = torch.get_rng_state()
    G, D = ensemble.stack_seeds(lambda: nets.toy_gan(hidden=16, depth=2), range(K))
    assert torch.equal(torch.get_rng_state(), before)  # the global generator is left alone
    for (G_k, D_k), G_m, D_m in zip(pairs(), ensemble.unstack(G), ensemble.unstack(D)):
        for a, b in zip((*G_m.parameters(), *D_m.parameters()), (*G_k.parameters(), *D_k.parameters())):
            assert torch.equal(a, b)
    with pytest.raises(ValueError, match="non-empty list of seeds"):
        ensemble.stack_seeds(nets.toy_gan, [])
    with pytest.raises(ValueError, match=r"seeds\[1\] must be in \[0, 2\*\*32\)"):
        ensemble.stack_seeds(nets.toy_gan, [0, -1])
    with pytest.raises(TypeError, match="unstack"):
        ensemble.unstack(G_k)


def test_gradient_penalty_of_an_ensemble_is_each_members_own():
    _, D = ensemble.stack_pairs(pairs())
    x_real, x_fake, alpha = torch.randn(K, 8, 2), torch.randn(K, 8, 2), torch.rand(K, 8)
    gp = gradient_penalty(D, x_real, x_fake, alpha=alpha)
    assert gp.shape == (K,)
    for k in range(K):
        D_k = ensemble.member(D, k)
        torch.testing.assert_close(gp[k], gradient_penalty(D_k, x_real[k], x_fake[k], alpha=alpha[k]), **TOL)
    with pytest.raises(ValueError, match=r"alpha must have shape \(3, 8\)"):
        gradient_penalty(D, x_real, x_fake, alpha=torch.rand(8))


def test_a_member_that_blows_up_is_named():
    G, D = ensemble.stack_pairs(pairs())
    with torch.no_grad():
        D.head.weight[1] = float("nan")
    with pytest.raises(train_module.NonFiniteLossError, match="step 1: the member 1's d_loss is nan"):
        train(G, D, X, steps=4, batch_size=B, log_every=1, progress=False)


def test_an_ensemble_resumes_where_it_stopped(tmp_path, interrupt):
    def fresh():
        return ensemble.stack_pairs(pairs())

    kw = dict(
        steps=12, batch_size=B, n_critic=2, objective=WGANGPObjective(0.1), seed=SEED, log_every=1, progress=False
    )
    G, D = fresh()
    whole = train(G, D, X, **kw)
    path = tmp_path / "ens.pt"
    G2, D2 = fresh()
    with pytest.raises(KeyboardInterrupt):
        train(G2, D2, X, checkpoint=path, checkpoint_every=1, hooks=[interrupt(5)], **kw)
    G3, D3 = fresh()
    resumed = train(G3, D3, X, checkpoint=path, **kw)
    assert resumed.resumed_from == 4 and resumed.history == whole.history
    for a, b in zip(G3.state_dict().values(), G.state_dict().values()):
        assert torch.equal(a, b)


def test_a_sampler_gives_each_member_its_own_batch():
    seen = []

    class Spy(losses.GANObjective):
        def d_loss(self, D, x_real, x_fake, generator=None):
            seen.append(x_real.clone())
            return super().d_loss(D, x_real, x_fake)

    G, D = ensemble.stack_pairs(pairs())
    train(G, D, lambda n, g: data.sample_ring(n, generator=g), steps=1, batch_size=B, objective=Spy(), progress=False)
    assert seen[0].shape == (K, B, 2) and not torch.equal(seen[0][0], seen[0][1])


# ---- bad inputs


def test_stack_refuses_what_it_cannot_stack():
    G16, D16 = nets.toy_gan(hidden=16, depth=2)
    G32, _ = nets.toy_gan(hidden=32, depth=2)
    cases = [
        (lambda: ensemble.stack([]), ValueError, r"at least one network \(K >= 1\)"),
        (lambda: ensemble.stack(G16), TypeError, "a list of networks"),
        (lambda: ensemble.stack([G16, G32]), ValueError, "network 1 .* differs from network 0"),
        (lambda: ensemble.stack([G16, D16]), ValueError, "one architecture"),
        (lambda: ensemble.stack([G16, "G"]), TypeError, "got str at position 1"),
        (lambda: ensemble.stack([G16, copy.deepcopy(G16).double()]), ValueError, "device or dtype"),
        (lambda: ensemble.stack([ensemble.stack([G16])]), ValueError, "already an ensemble"),
        (lambda: ensemble.stack([torch.nn.Conv2d(1, 1, 3)]), TypeError, "stack takes MLPs"),
        (lambda: ensemble.stack([torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.BatchNorm1d(2))]), TypeError,
         "does not know how to stack BatchNorm1d"),
        (lambda: ensemble.stack_pairs([G16, D16]), TypeError, r"list of \(G, D\) pairs"),
    ]  # fmt: skip
    for make, error, match in cases:
        with pytest.raises(error, match=match):
            make()


def test_member_refuses_bad_indices():
    G = ensemble.stack([nets.toy_gan(hidden=8, depth=1)[0] for _ in range(2)])
    with pytest.raises(ValueError, match=r"0 to 1, got 2"):
        ensemble.member(G, 2)
    with pytest.raises(ValueError, match="k must be >= 0"):
        ensemble.member(G, -1)
    with pytest.raises(TypeError, match="k must be an int"):
        ensemble.member(G, 1.0)
    with pytest.raises(TypeError, match="takes an ensemble"):
        ensemble.member(nets.toy_gan()[0], 0)


def test_an_ensembles_inputs_need_the_member_axis():
    G, D = ensemble.stack_pairs(pairs())
    with pytest.raises(ValueError, match=r"z of shape \(3, N, 2\) \(an ensemble of 3: one batch per member\)"):
        G(torch.randn(5, 2))
    with pytest.raises(ValueError, match=r"x of shape \(3, N, 2\)"):
        D(torch.randn(2, 5, 2))


def test_train_refuses_mismatched_ensembles():
    G3, D3 = ensemble.stack_pairs(pairs())
    G2, D2 = ensemble.stack_pairs(pairs(2))
    _, D = nets.toy_gan(hidden=16, depth=2)
    with pytest.raises(ValueError, match="G is an ensemble of 3 but D is an ordinary network"):
        train(G3, D, X, steps=1, progress=False)
    with pytest.raises(ValueError, match="G is an ensemble of 3 but D is an ensemble of 2"):
        train(G3, D2, X, steps=1, progress=False)
    with pytest.raises(ValueError, match="G is an ordinary network but D is an ensemble of 3"):
        train(nets.toy_gan(hidden=16, depth=2)[0], D3, X, steps=1, progress=False)


def test_an_ensembles_losses_must_be_one_per_member():
    class Pooled(losses.GANObjective):  # a run's objective that averages over the members too
        def d_loss(self, D, x_real, x_fake, generator=None):
            return super().d_loss(D, x_real, x_fake).mean()

    class ScalarPenalty(Hook):
        def d_penalty(self, state):
            return sum(p.pow(2).sum() for p in state.D.parameters())

    G, D = ensemble.stack_pairs(pairs())
    with pytest.raises(
        ValueError, match=r"objective.d_loss must give one loss per member of the ensemble, shape \(3,\)"
    ):
        train(G, D, X, steps=1, objective=Pooled(), progress=False)
    with pytest.raises(ValueError, match="a hook's d_penalty must give one loss per member"):
        train(G, D, X, steps=1, hooks=[ScalarPenalty()], progress=False)
    G, D = nets.toy_gan(hidden=8, depth=1)

    class PerSample(losses.GANObjective):
        def g_loss(self, D, x_fake, x_real):
            return torch.nn.functional.softplus(-D(x_fake))  # (B,): the mean is missing

    with pytest.raises(ValueError, match=r"objective.g_loss must give a scalar, got shape \(16,\)"):
        train(G, D, X, steps=1, batch_size=16, objective=PerSample(), progress=False)


@cuda
@pytest.mark.parametrize("name", ["gan", "wgan (clipping)", "wgan-gp", "ema"])
def test_captured_ensemble_step_matches_the_eager_step(name, deterministic_cuda):
    recipe = RECIPES[name]

    def make():
        G, D = ensemble.stack_pairs(pairs(12, **recipe.d_kwargs))
        G, D = G.cuda(), D.cuda()
        opt_G, opt_D = recipe.optimisers(G, D)
        kw = dict(
            objective=recipe.objective(), n_critic=recipe.n_critic, hooks=recipe.hooks(), opt_G=opt_G, opt_D=opt_D
        )
        return G, D, X, kw

    largest = assert_captured_matches_eager(make, batch_size=B)
    print(f"ensemble of 12, {name}: largest parameter difference captured vs eager {largest:.1e}")
