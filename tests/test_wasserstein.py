import numpy as np
import pytest
import torch
from torch import nn

from gancourse import data, defaults, ensemble, losses, nets
from gancourse.train import train
from gancourse.wasserstein import (
    R1Objective,
    WeightClipping,
    WGANGPObjective,
    clip_weights_,
    gradient_penalty,
    interpolate,
    r1_penalty,
)


def conv_critic(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.LeakyReLU(0.2), nn.Flatten(), nn.Linear(4 * 4 * 4, 1), nn.Flatten(0)
    )


def mlp_critic(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1), nn.Flatten(0))


def independent_penalty(critic, x_real, x_fake, alpha):
    """One sample at a time: x_hat_i, its gradient, its Euclidean norm over everything."""
    terms = []
    for i in range(len(x_real)):
        x_hat = (alpha[i] * x_real[i] + (1 - alpha[i]) * x_fake[i]).unsqueeze(0).requires_grad_(True)
        (g,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
        terms.append((torch.linalg.vector_norm(g) - 1) ** 2)
    return torch.stack(terms).mean()


@pytest.mark.parametrize("shape, make", [((12, 2), mlp_critic), ((6, 1, 8, 8), conv_critic)], ids=["2-D", "4-D"])
def test_matches_an_independent_computation(shape, make):
    g = torch.Generator().manual_seed(0)
    x_real, x_fake, alpha = (
        torch.randn(shape, generator=g),
        torch.randn(shape, generator=g),
        torch.rand(shape[0], generator=g),
    )
    critic = make()
    torch.testing.assert_close(
        gradient_penalty(critic, x_real, x_fake, alpha=alpha), independent_penalty(critic, x_real, x_fake, alpha)
    )


def test_differs_from_the_dim1_norm_bug():
    g = torch.Generator().manual_seed(1)
    x_real, x_fake, alpha = (
        torch.randn(5, 1, 8, 8, generator=g),
        torch.randn(5, 1, 8, 8, generator=g),
        torch.rand(5, generator=g),
    )
    critic = conv_critic()
    x_hat = interpolate(x_real, x_fake, alpha).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat)
    buggy = ((grad.norm(2, dim=1) - 1) ** 2).mean()  # a (5, 8, 8) "norm": one per pixel, not per sample
    right = gradient_penalty(critic, x_real, x_fake, alpha=alpha)
    assert abs(buggy.item() - right.item()) > 0.1 * right.item()


def test_exact_value_and_gradient_on_a_linear_critic():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(2 * 3 * 3, 1), nn.Flatten(0))
    w = critic[1].weight
    x_real, x_fake = torch.randn(7, 2, 3, 3), torch.randn(7, 2, 3, 3)
    gp = gradient_penalty(critic, x_real, x_fake, generator=torch.Generator().manual_seed(0))
    norm = w.detach().norm()
    torch.testing.assert_close(gp, (norm - 1) ** 2)  # the gradient of a linear critic is w everywhere
    (dw,) = torch.autograd.grad(gp, w)  # differentiable in the critic's weights (double backward)
    torch.testing.assert_close(dw, 2 * (norm - 1) * w.detach() / norm)


def test_finite_when_the_gradient_is_zero():
    critic = mlp_critic()
    with torch.no_grad():
        critic[2].weight.zero_()  # a constant critic: zero gradient everywhere
    gp = gradient_penalty(critic, torch.randn(4, 2), torch.randn(4, 2))
    torch.testing.assert_close(gp, torch.tensor(1.0), atol=1e-5, rtol=0)
    grads = torch.autograd.grad(gp, list(critic.parameters()), allow_unused=True)
    assert all(torch.isfinite(g).all() for g in grads if g is not None)


def test_seeded_through_a_generator():
    critic, x_real, x_fake = mlp_critic(), torch.randn(32, 2), torch.randn(32, 2)
    a = gradient_penalty(critic, x_real, x_fake, generator=torch.Generator().manual_seed(5))
    b = gradient_penalty(critic, x_real, x_fake, generator=torch.Generator().manual_seed(5))
    c = gradient_penalty(critic, x_real, x_fake, generator=torch.Generator().manual_seed(6))
    assert a.item() == b.item() and a.item() != c.item()


@pytest.mark.parametrize(
    "x_fake, match",
    [
        (torch.randn(4, 3), "same shape"),
        (torch.randn(4, 2, dtype=torch.float64), "same dtype"),
        (torch.empty(4, 2, device="meta"), "same device"),
    ],
)
def test_rejects_mismatched_pairs(x_fake, match):
    with pytest.raises(ValueError, match=match):
        gradient_penalty(mlp_critic(), torch.randn(4, 2), x_fake)
    with pytest.raises(ValueError, match="alpha must have shape"):
        gradient_penalty(mlp_critic(), torch.randn(4, 2), torch.randn(4, 2), alpha=torch.rand(4, 1))


@pytest.mark.parametrize(
    "alpha, error, match",
    [
        (torch.tensor([0.1, 5.0, 0.3, 0.4]), ValueError, r"alpha must lie in \[0, 1\]"),
        (torch.tensor([0.1, -0.2, 0.3, 0.4]), ValueError, r"alpha must lie in \[0, 1\]"),
        (torch.tensor([0.1, float("nan"), 0.3, 0.4]), ValueError, r"alpha must lie in \[0, 1\]"),
        (torch.tensor([0.3]), ValueError, "one alpha for the whole batch"),
        (torch.rand(5), ValueError, r"alpha must have shape \(4,\)"),
        (torch.tensor([0, 1, 1, 0]), ValueError, "floating-point"),
        (torch.empty(4, device="meta"), ValueError, "device"),
        ([0.1, 0.2, 0.3, 0.4], TypeError, "alpha must be a torch.Tensor"),
    ],
    ids=["above-1", "below-0", "nan", "one-for-the-batch", "wrong-length", "integer", "device", "list"],
)
def test_rejects_a_bad_alpha(alpha, error, match):
    x_real, x_fake = torch.randn(4, 2), torch.randn(4, 2)
    with pytest.raises(error, match=match):
        interpolate(x_real, x_fake, alpha)
    with pytest.raises(error, match=match):
        gradient_penalty(mlp_critic(), x_real, x_fake, alpha=alpha)


def test_a_float64_alpha_is_cast_to_the_data_dtype():
    g = torch.Generator().manual_seed(2)
    x_real, x_fake, alpha = torch.randn(6, 2, generator=g), torch.randn(6, 2, generator=g), torch.rand(6, generator=g)
    x_hat = interpolate(x_real, x_fake, alpha.double())
    assert x_hat.dtype == torch.float32
    torch.testing.assert_close(x_hat, interpolate(x_real, x_fake, alpha))
    torch.testing.assert_close(  # no float64 interpolates reach the float32 critic
        gradient_penalty(mlp_critic(), x_real, x_fake, alpha=alpha.double()),
        gradient_penalty(mlp_critic(), x_real, x_fake, alpha=alpha),
    )
    ends = interpolate(x_real, x_fake, torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 0.0]))  # alpha = 1 and 0 are allowed
    torch.testing.assert_close(ends[0::2], x_real[0::2])
    torch.testing.assert_close(ends[1::2], x_fake[1::2])


def test_clipping_reaches_every_parameter_in_place():
    critic = conv_critic()
    with torch.no_grad():
        for p in critic.parameters():
            p.mul_(100)
    ids = [id(p) for p in critic.parameters()]
    clip_weights_(critic, 0.01)
    assert [id(p) for p in critic.parameters()] == ids  # the same tensors, changed in place
    for name, p in critic.named_parameters():  # conv and linear, weights and biases
        assert p.abs().max().item() <= 0.01 + 1e-9, name
    with pytest.raises(ValueError, match="clip"):
        WeightClipping(0)


@pytest.mark.parametrize("clip", [0, 0.0, -0.01, float("nan"), float("inf"), np.float32(-1.0)])
def test_clipping_rejects_a_clip_that_is_not_positive(clip):
    critic = mlp_critic()
    before = [p.detach().clone() for p in critic.parameters()]
    with pytest.raises(ValueError, match="clip must be a positive finite number"):
        clip_weights_(critic, clip)
    with pytest.raises(ValueError, match="clip must be a positive finite number"):
        WeightClipping(clip)
    assert all(torch.equal(p, q) for p, q in zip(critic.parameters(), before))  # nothing was clamped


@pytest.mark.parametrize("clip", [True, "0.01", None, torch.tensor(0.01)])
def test_clipping_rejects_a_clip_that_is_not_a_number(clip):
    with pytest.raises(TypeError, match="clip must be a positive finite number"):
        clip_weights_(mlp_critic(), clip)
    with pytest.raises(TypeError, match="clip must be a positive finite number"):
        WeightClipping(clip)


@pytest.mark.parametrize("clip", [0.05, 1, np.float32(0.05), np.float64(0.05), np.int64(1)])
def test_clipping_accepts_python_and_numpy_numbers(clip):
    critic = mlp_critic()
    clip_weights_(critic, clip)
    assert max(p.abs().max().item() for p in critic.parameters()) <= float(clip) + 1e-7
    assert WeightClipping(clip).clip == float(clip)
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        clip_weights_([torch.zeros(2)], clip)


def test_weight_clipping_is_graph_safe():
    assert WeightClipping.needs_host is False  # an in-place clamp with a fixed c: it may run inside a captured step


def test_wgan_and_wgan_gp_train_through_the_loop():
    ring = data.sample_ring(2048, seed=0)
    torch.manual_seed(0)
    G, D = nets.toy_gan(hidden=32, depth=2)
    opt_D = torch.optim.RMSprop(D.parameters(), lr=defaults.WGAN["lr"])
    opt_G = torch.optim.RMSprop(G.parameters(), lr=defaults.WGAN["lr"])
    from gancourse.losses import WGANObjective

    run = train(
        G,
        D,
        ring,
        steps=5,
        n_critic=5,
        objective=WGANObjective(),
        opt_G=opt_G,
        opt_D=opt_D,
        hooks=[WeightClipping(defaults.WGAN["clip"])],
        batch_size=64,
        progress=False,
        log_every=1,
    )
    assert max(p.abs().max().item() for p in D.parameters()) <= 0.01 + 1e-9
    assert "wasserstein" in run.history

    def gp_run():
        torch.manual_seed(0)
        G, D = nets.toy_gan(hidden=32, depth=2)
        cfg = defaults.WGAN_GP_TOYS
        return train(
            G,
            D,
            ring,
            steps=6,
            n_critic=cfg["n_critic"],
            objective=WGANGPObjective(cfg["gp_weight"]),
            lr=cfg["lr"],
            betas=cfg["betas"],
            batch_size=64,
            progress=False,
            log_every=2,
            seed=3,
        )

    a, b = gp_run(), gp_run()
    assert a.history == b.history and len(a.history["gp"]) == 3
    with pytest.raises(ValueError, match="gp_weight"):
        WGANGPObjective(-1)


def test_defaults_are_the_papers():
    assert defaults.WGAN_GP_IMAGES["betas"] == (0.0, 0.9) and all(
        isinstance(b, float) for b in defaults.WGAN_GP_IMAGES["betas"]
    )
    assert defaults.WGAN_GP_IMAGES["gp_weight"] == 10.0 and defaults.WGAN_GP_TOYS["gp_weight"] == 0.1
    assert (defaults.WGAN["lr"], defaults.WGAN["n_critic"], defaults.WGAN["clip"]) == (5e-5, 5, 0.01)


# ----------------------------------------------------------------------------- R1 and per-member penalty weights


def linear_critic(w, b=0.3):
    critic = nn.Sequential(nn.Flatten(), nn.Linear(w.numel(), 1), nn.Flatten(0))
    with torch.no_grad():
        critic[1].weight.copy_(w.reshape(1, -1))
        critic[1].bias.fill_(b)
    return critic


def test_r1_on_a_linear_critic_is_the_squared_weight_norm_and_its_gradient_2w():
    w = torch.tensor([1.5, -2.0, 0.5, 0.25])
    critic = linear_critic(w)
    x_real = torch.randn(9, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    r1 = r1_penalty(critic, x_real)
    torch.testing.assert_close(r1, w.pow(2).sum())  # grad_x (w.x + b) = w at every x
    (dw,) = torch.autograd.grad(r1, critic[1].weight)  # differentiable in the weights (double backward)
    torch.testing.assert_close(dw, 2 * w.reshape(1, -1))


def test_r1_matches_a_per_sample_computation_and_is_finite_at_zero():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(5, 1, 8, 8, generator=g)
    critic = conv_critic()
    per_sample = []
    for i in range(len(x)):
        xi = x[i : i + 1].clone().requires_grad_(True)
        (gi,) = torch.autograd.grad(critic(xi).sum(), xi)
        per_sample.append(gi.pow(2).sum())
    torch.testing.assert_close(r1_penalty(critic, x), torch.stack(per_sample).mean())
    flat = mlp_critic()
    with torch.no_grad():
        flat[2].weight.zero_()
    r1 = r1_penalty(flat, torch.randn(4, 2))
    assert r1.item() == 0.0
    grads = torch.autograd.grad(r1, list(flat.parameters()), allow_unused=True)
    assert all(torch.isfinite(gr).all() for gr in grads if gr is not None)


def test_r1_of_an_ensemble_is_one_penalty_per_member():
    ws = [torch.tensor([1.0, 2.0]), torch.tensor([-0.5, 0.0]), torch.tensor([3.0, -1.0])]
    critic = ensemble.stack([linear_critic(w) for w in ws])
    x_real = torch.randn(3, 6, 2, generator=torch.Generator().manual_seed(1))  # (K, N, 2)
    torch.testing.assert_close(r1_penalty(critic, x_real), torch.stack([w.pow(2).sum() for w in ws]))


@pytest.mark.parametrize(
    "x_real, error, match",
    [
        ([[0.0, 1.0]], TypeError, "x_real must be a torch.Tensor"),
        (torch.zeros(0, 2), ValueError, r"non-empty batch \(N, ...\)"),
        (torch.zeros(2), ValueError, r"non-empty batch"),
    ],
)
def test_r1_rejects_a_bad_batch(x_real, error, match):
    with pytest.raises(error, match=match):
        r1_penalty(mlp_critic(), x_real)


def test_r1_objective_adds_half_gamma_times_r1_to_the_gan_loss():
    w = torch.tensor([0.8, -0.6])
    critic = linear_critic(w)
    g = torch.Generator().manual_seed(2)
    x_real, x_fake = torch.randn(16, 2, generator=g), torch.randn(16, 2, generator=g)
    loss, logged = R1Objective(gamma=4.0).d_loss(critic, x_real, x_fake)
    gan = losses.d_loss(critic(x_real), critic(x_fake))
    torch.testing.assert_close(loss, gan + 0.5 * 4.0 * w.pow(2).sum())
    torch.testing.assert_close(logged["r1"], w.pow(2).sum())
    assert R1Objective(gamma=0.0).d_loss(critic, x_real, x_fake)[0].item() == pytest.approx(gan.item())
    fake_scores = critic(x_fake)
    torch.testing.assert_close(R1Objective().g_loss(critic, x_fake, x_real), losses.g_loss_nonsaturating(fake_scores))


@pytest.mark.parametrize(
    "make, weights, uses_alpha",
    [(lambda w: WGANGPObjective(w), [0.1, 1.0, 10.0], True), (lambda w: R1Objective(gamma=w), [0.0, 1.0, 10.0], False)],
    ids=["gp_weight", "gamma"],
)
def test_per_member_weights_give_each_member_its_own_objective(make, weights, uses_alpha):
    critics = [mlp_critic(seed) for seed in range(3)]
    D = ensemble.stack(critics)
    g = torch.Generator().manual_seed(4)
    x_real, x_fake, alpha = torch.randn(3, 8, 2, generator=g), torch.randn(3, 8, 2, generator=g), torch.rand(3, 8)
    loss, _ = make(weights).d_loss(D, x_real, x_fake, **({"alpha": alpha} if uses_alpha else {}))
    assert loss.shape == (3,)
    for k, (critic, w) in enumerate(zip(critics, weights)):
        alone, _ = make(w).d_loss(critic, x_real[k], x_fake[k], **({"alpha": alpha[k]} if uses_alpha else {}))
        torch.testing.assert_close(loss[k], alone)


def test_per_member_weights_are_checked():
    with pytest.raises(ValueError, match=r"gp_weight\[1\] must be"):
        WGANGPObjective([0.1, -1.0])
    with pytest.raises(TypeError, match=r"gamma\[0\] must be"):
        R1Objective(gamma=["1"])
    with pytest.raises(ValueError, match="empty list"):
        WGANGPObjective([])
    D = ensemble.stack([mlp_critic(0), mlp_critic(1)])
    x = torch.randn(2, 4, 2)
    with pytest.raises(ValueError, match="gp_weight has 3 values, one per member, but the critic is an ensemble of 2"):
        WGANGPObjective([0.1, 1.0, 10.0]).d_loss(D, x, x)
    with pytest.raises(ValueError, match="gamma has 2 values, one per member, but the critic is one critic"):
        R1Objective(gamma=[1.0, 2.0]).d_loss(mlp_critic(), x[0], x[0])
    assert repr(WGANGPObjective(10)) == "WGANGPObjective(gp_weight=10.0)"  # what checkpoints record
    assert repr(WGANGPObjective([0.1, 10])) == "WGANGPObjective(gp_weight=[0.1, 10.0])"


def test_an_ensemble_with_per_member_weights_trains_through_the_loop():
    ring = data.sample_ring(512, seed=0, normalised=True)
    for objective, n_critic, key in [
        (WGANGPObjective([0.1, 10.0]), 2, "gp"),
        (R1Objective(gamma=[0.1, 10.0]), 1, "r1"),
    ]:
        G, D = ensemble.stack_seeds(lambda: nets.toy_gan(hidden=16, depth=2), [0, 0])  # one start, two weights
        run = train(G, D, ring, steps=4, n_critic=n_critic, objective=objective, batch_size=32, log_every=2,
                    progress=False)  # fmt: skip
        assert len(run.history[key]) == 2 and all(len(v) == 2 for v in run.history[key])
        a, b = ensemble.unstack(D)
        assert not torch.equal(a.head.weight, b.head.weight)  # the same start, other weights: other critics
