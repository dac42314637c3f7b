"""Evaluating GANs: mode coverage on the toys; classifier score, Fréchet distance, KID, precision/recall.

- Mode coverage on the toy mixtures, after VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018): draw
  N_EVAL = 2,500 samples; a sample is high-quality if it lies within 3 std of its nearest mode (Euclidean). Real
  ring or grid data is 1 - exp(-4.5) = 98.9% high-quality (in 2-D, |noise|^2 / std^2 is chi-square with 2 degrees
  of freedom). Those papers count a mode as captured with ONE high-quality sample; that rule rewards blur (samples
  uniform on [-4.5, 4.5]^2 "capture" about 23 of the grid's 25 modes with 2% high quality), so here it is only
  ``modes_one_sample``, for comparison with published tables. The course's count, ``modes_captured``, asks each
  mode for a quarter of its fair share of the samples: at least N / (4 K) high-quality samples (25 of 2,500 on the
  grid, 79 on the ring), where real data puts 0.989 N / K (99 and 309). The quarter is this course's choice: real
  data clears it by more than 7 standard deviations of its binomial count, a mode G draws four times too rarely
  does not, and capturing all K modes needs at least 25% high-quality samples, which no blur reaches. Beside it,
  always, the high-quality share and the balance: the reverse KL of the nearest-mode shares of ALL samples to
  uniform (defined for any sample set; the papers' KL over high-quality samples only is ``reverse_kl_hq``, None
  when there is none). ``coverage_baselines`` gives the rows every coverage table carries: real data, real data
  blurred, a uniform square and one Gaussian. Every toy function takes ``normalised=True`` for the toys as the
  WGAN-GP authors' code scales them (data.toy_mixture: the ring / 1.414, the grid / 2.828): modes and std scale
  together, so the rule, and what it says of a sample set scaled with them, does not change.
- Classifier score: the Inception Score of Salimans et al. (2016), exp(E_x KL(p(y|x) || p(y))),
  with the course's MNIST classifier (gancourse.classifier) in place of Inception: 10 for
  confident, balanced digits, 1 for a single repeated digit.
- Fréchet distance: FID (Heusel et al. 2017) on the classifier's 128-d penultimate features,
  ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)). It is biased upwards at small sample sizes:
  compare models only at equal sample counts, against the real-vs-real floor.
- KID, the kernel inception distance (Bińkowski, Sutherland, Arbel & Gretton 2018, "Demystifying
  MMD GANs"): the unbiased estimator of the squared maximum mean discrepancy with the cubic
  polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over subsets. Unbiased at every sample
  size, so unlike the Fréchet distance it can be compared across sizes and is ~0 (sometimes below)
  for two samples of one distribution. ``kid`` cuts each set into disjoint subsets, so the subsets' estimates
  are independent and std / sqrt(n_subsets) is an honest standard error; ``kid_overlapping`` is KID as
  StyleGAN2-ADA (Karras et al. 2020) reports it: the mean over 100 overlapping random subsets of 1,000.
- Precision and recall (Kynkäänniemi, Karras, Laine, Lehtinen & Aila 2019, "Improved Precision and
  Recall Metric for Assessing Generative Models"): each set's manifold is the union of balls
  around its points reaching their k-th nearest neighbour (k = 3); precision is the share of fake
  samples inside that estimate of the real manifold, recall the share of real samples inside the fake
  one. Precision is not quality: a real outlier's ball reaches its k-th neighbour far away, so a few
  large balls can hold a whole set of noise (lecture 09 shows it). Density and coverage (Naeem, Oh, Uh,
  Choi & Yoo 2020, "Reliable Fidelity and Diversity Metrics for Generative Models", k = 5) count how many
  real balls hold each fake sample, and which real balls hold any, so a few large balls cannot inflate
  them. digit_metrics computes all four on unit-length features of the MNIST classifier: on its raw ReLU
  features a blank page lands inside the real manifold.

Functions on two sets take the fake (generated) set first, as classifier_frechet_distance does.
Used by notebooks/05_vanilla_gan.ipynb (coverage, digit histogram), notebooks/09_evaluating_gans.ipynb
(everything here), and lectures 06, 07 and 10 for their coverage tables. docs/classifier.md has the figures.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gancourse import data
from gancourse.classifier import MnistCNN, check_images, load_classifier, predict_proba
from gancourse.runtime import check_positive

N_EVAL = 2500  # samples per toy-mixture evaluation (the protocol's size)
HQ_STDS = 3.0  # a sample within this many std of its nearest mode is high-quality
CAPTURE_SHARE = 0.25  # a mode is captured with at least this fraction of its fair share N / K of high-quality samples


# --------------------------------------------------------------------------- toy mixtures


def _as_points(x, name: str, dim: int | None = None) -> torch.Tensor:
    """A float64 CPU tensor (N, d) with N >= 1 and finite entries, or a clear error."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    want = "(N, d)" if dim is None else f"(N, {dim})"
    if x.ndim != 2 or (dim is not None and x.shape[1] != dim):
        raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): need at least one point")
    x = x.detach().to("cpu", torch.float64)
    bad = int((~torch.isfinite(x)).any(dim=1).sum())
    if bad:
        raise ValueError(f"{name} has {bad} of {len(x)} points with NaN or inf coordinates")
    return x


def _kl_to_uniform(p: torch.Tensor) -> float:
    """KL(p || uniform) = sum_k p_k log(K p_k) in nats for shares p (K,) summing to 1, with 0 log 0 = 0."""
    return float(torch.special.xlogy(p, p * len(p)).sum().clamp_min(0.0))


def mode_coverage(samples, modes, std: float, *, capture_share: float = CAPTURE_SHARE) -> dict:
    """Coverage of the modes (K, d) of a mixture by samples (N, d): modes captured, high-quality share, balance.

    A sample is high-quality within 3 std of its nearest mode. Returns a dict with
    ``modes_captured``: modes with at least ``min_count`` = capture_share * N / K high-quality samples;
    ``modes_one_sample``: modes with at least one (VEEGAN/PacGAN's rule, which blur passes: for published tables);
    ``n_modes``, ``n``; ``high_quality``: the high-quality fraction of all samples; ``counts``: high-quality
    samples per mode (K ints); ``shares``: the fraction of ALL samples nearest each mode (K floats);
    ``reverse_kl``: KL(shares || uniform) in nats, 0 when the samples are spread evenly over the modes' cells,
    log K when all are nearest one mode (always defined); ``reverse_kl_hq``: the same over the high-quality
    samples only, as the papers compute it, or None when no sample is high-quality.
    """
    modes = _as_points(modes, "modes")
    samples = _as_points(samples, "samples", modes.shape[1])
    if isinstance(std, torch.Tensor) and std.ndim == 0 and std.is_floating_point():
        std = std.item()  # a 0-d tensor, e.g. data.RING_STD moved to a tensor
    std = check_positive(std, "std")
    capture_share = check_positive(capture_share, "capture_share")
    n, k = len(samples), len(modes)
    nearest_dist, nearest = torch.cdist(samples, modes).min(dim=1)  # (N,), (N,)
    hq = nearest_dist <= HQ_STDS * std  # (N,)
    counts = torch.bincount(nearest[hq], minlength=k)  # (K,) high-quality samples per mode
    shares = torch.bincount(nearest, minlength=k).double() / n  # (K,) all samples per mode
    n_hq, min_count = int(counts.sum()), capture_share * n / k
    return {
        "modes_captured": int((counts >= min_count).sum()),
        "modes_one_sample": int((counts > 0).sum()),
        "n_modes": k,
        "n": n,
        "min_count": min_count,
        "high_quality": n_hq / n,
        "reverse_kl": _kl_to_uniform(shares),
        "reverse_kl_hq": _kl_to_uniform(counts.double() / n_hq) if n_hq else None,
        "counts": counts.tolist(),
        "shares": shares.tolist(),
    }


def ring_coverage(samples, *, normalised: bool = False) -> dict:
    """mode_coverage on the 8-Gaussian ring (radius 2, std 0.02; ``normalised``: both / 1.414, data.toy_mixture)
    for samples (N, 2); use N_EVAL = 2,500."""
    return mode_coverage(_as_points(samples, "samples", 2), *data.toy_mixture("ring", normalised=normalised))


def grid_coverage(samples, *, normalised: bool = False) -> dict:
    """mode_coverage on the 25-Gaussian grid ({-4,...,4}^2, std 0.05; ``normalised``: both / 2.828,
    data.toy_mixture) for samples (N, 2); use N_EVAL = 2,500."""
    return mode_coverage(_as_points(samples, "samples", 2), *data.toy_mixture("grid", normalised=normalised))


BLUR = 10.0  # the blurred baseline: real data with each mode's std times this (4.4% high quality)


def baseline_samples(
    target: str, n: int = N_EVAL, *, seed: int = 0, normalised: bool = False
) -> dict[str, torch.Tensor]:
    """The samplers every coverage table of ``target`` ('ring' or 'grid') sets a model against: name -> (n, 2).

    real data; real data blurred (each mode's std times BLUR); uniform on the modes' bounding square widened by
    an eighth ([-4.5, 4.5]^2 for the grid, [-2.25, 2.25]^2 for the ring); one Gaussian with the mixture's mean
    and covariance (the best single-Gaussian fit by maximum likelihood). ``normalised``: the toys as the WGAN-GP
    authors' code scales them (data.toy_mixture); every sampler scales with the modes.
    """
    modes, std = data.toy_mixture(target, normalised=normalised)
    n = _count(n, "n", 1)
    gen = torch.Generator().manual_seed(_count(seed, "seed", 0))
    half = 1.125 * modes.abs().max()
    spread = modes - modes.mean(0)  # (K, 2)
    cov = spread.T @ spread / len(modes) + std**2 * torch.eye(2)  # (2, 2): the mixture's covariance
    return {
        "real data": data.sample_mixture(n, modes, std, generator=gen),
        f"blurred (std x {BLUR:g})": data.sample_mixture(n, modes, BLUR * std, generator=gen),
        "uniform square": (2 * torch.rand(n, 2, generator=gen) - 1) * half,
        "one Gaussian": modes.mean(0) + torch.randn(n, 2, generator=gen) @ torch.linalg.cholesky(cov).T,
    }


def coverage_baselines(target: str, n: int = N_EVAL, *, seed: int = 0, normalised: bool = False) -> dict[str, dict]:
    """mode_coverage of each of baseline_samples(target, n, seed=seed, normalised=normalised): name -> coverage."""
    modes, std = data.toy_mixture(target, normalised=normalised)
    samples = baseline_samples(target, n, seed=seed, normalised=normalised)
    return {name: mode_coverage(x, modes, std) for name, x in samples.items()}


def coverage_table(rows: dict) -> str:
    """A coverage table as text: one row per name, each a coverage dict or a list of them (seeds: their means)."""
    lines = [f"{'':<26}{'modes':>8}{'one-sample':>11}{'% HQ':>7}{'reverse KL':>11}{'(HQ only)':>10}"]
    for name, covs in rows.items():
        covs = [covs] if isinstance(covs, dict) else list(covs)
        k = covs[0]["n_modes"]
        hq_kls = [c["reverse_kl_hq"] for c in covs if c["reverse_kl_hq"] is not None]
        hq_kl = f"{np.mean(hq_kls):.3f}" if len(hq_kls) == len(covs) else "n/a"  # n/a: a run without HQ samples
        lines.append(
            f"{name:<26}{np.mean([c['modes_captured'] for c in covs]):>5.1f}/{k:<2}"
            f"{np.mean([c['modes_one_sample'] for c in covs]):>8.1f}/{k:<2}"
            f"{100 * np.mean([c['high_quality'] for c in covs]):>7.1f}"
            f"{np.mean([c['reverse_kl'] for c in covs]):>11.3f}{hq_kl:>10}"
        )
    return "\n".join(lines)


# --------------------------------------------------------------------------- MNIST: classifier-based


def _model(x: torch.Tensor, classifier: MnistCNN | None) -> MnistCNN:
    return load_classifier(x.device) if classifier is None else classifier


def digit_histogram(x: torch.Tensor, *, classifier: MnistCNN | None = None, batch_size: int = 500) -> torch.Tensor:
    """How many of the images x (N, 1, 28, 28) in [-1, 1] the classifier calls each digit: int64 (10,), sums to N."""
    x = check_images(x)
    pred = predict_proba(x, _model(x, classifier), batch_size).argmax(dim=1)  # (N,)
    return torch.bincount(pred, minlength=10)  # (10,)


def classifier_score(x: torch.Tensor, *, classifier: MnistCNN | None = None, batch_size: int = 500) -> float:
    """exp(E_x KL(p(y|x) || p(y))) over all of x (N, 1, 28, 28), in float64: 1 (one digit) to 10 (all, confidently).

    One score over the whole set (Salimans et al. averaged 10 splits, which lowers it for small
    splits): compare models at equal N.
    """
    x = check_images(x)
    return _score(predict_proba(x, _model(x, classifier), batch_size))


def _score(p: torch.Tensor) -> float:
    """exp(E_x KL(p(y|x) || p(y))) from class probabilities p (N, 10), float64."""
    p_y = p.mean(dim=0, keepdim=True)  # (1, 10): the marginal p(y)
    kl = (torch.special.xlogy(p, p) - torch.special.xlogy(p, p_y)).sum(dim=1)  # (N,)
    return math.exp(kl.mean().item())


@torch.no_grad()
def classifier_features(x: torch.Tensor, *, classifier: MnistCNN | None = None, batch_size: int = 500) -> torch.Tensor:
    """The classifier's penultimate activations for x (N, 1, 28, 28): float32 (N, 128) on the CPU."""
    x = check_images(x)
    batch_size = _count(batch_size, "batch_size", 1)
    model = _model(x, classifier)
    device = next(model.parameters()).device
    return torch.cat([model.features(x[i : i + batch_size].to(device)).cpu() for i in range(0, len(x), batch_size)])


def feature_stats(
    x: torch.Tensor, *, classifier: MnistCNN | None = None, batch_size: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Mean (128,) and covariance (128, 128) of the classifier features of x (N >= 2), float64 NumPy."""
    if isinstance(x, torch.Tensor) and x.ndim >= 1 and len(x) < 2:
        raise ValueError(f"feature_stats needs at least 2 images for a covariance, got {len(x)}")
    f = classifier_features(x, classifier=classifier, batch_size=batch_size).double().numpy()  # (N, 128)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _as_f64(a, name: str, ndim: int) -> np.ndarray:
    if isinstance(a, torch.Tensor):
        a = a.detach().cpu().numpy()
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {'a vector (d,)' if ndim == 1 else 'a matrix (d, d)'}, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} has {int((~np.isfinite(a)).sum())} NaN or inf entries")
    return a


def _symmetry_tol(a) -> float:
    """How far from symmetric, relative to its largest entry, rounding in a's dtype leaves a covariance.

    A[i, j] and A[j, i] may be summed in different orders (blocked or GPU matrix products): allow a thousand
    roundings of the input's own dtype (float32: 1.2e-4), at least 1e-9 (float64) and at most 1e-2 (float16).
    """
    if isinstance(a, torch.Tensor) and a.is_floating_point():
        eps = torch.finfo(a.dtype).eps
    elif isinstance(a, np.ndarray) and a.dtype.kind == "f":
        eps = float(np.finfo(a.dtype).eps)
    else:
        eps = float(np.finfo(np.float64).eps)
    return min(max(1e-9, 1000 * eps), 1e-2)


def _check_symmetric(a: np.ndarray, name: str, tol: float = 1e-9) -> np.ndarray:
    """a (d, d), float64, symmetrised, if |A - A^T| <= tol * max |A| (rounding), else a ValueError."""
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be square, got shape {a.shape}")
    gap, scale = np.abs(a - a.T).max(initial=0.0), np.abs(a).max(initial=0.0)
    if gap > tol * scale:
        raise ValueError(
            f"{name} must be symmetric (a covariance); max |A - A^T| = {gap:.3g}, {gap / scale:.3g} of its largest "
            f"entry, where its dtype's rounding allows {tol:g} (pass a float32 covariance as float32, not float64)"
        )
    return (a + a.T) / 2


PSD_TOL = 1e-5  # eigenvalues down to -PSD_TOL * max |eigenvalue| are rounding (float32 covariances reach ~1e-8)


def _check_psd(w: np.ndarray, name: str) -> np.ndarray:
    """The eigenvalues w of the symmetric matrix ``name`` with rounding-level negatives clipped to 0, or a ValueError."""
    scale = np.abs(w).max(initial=0.0)
    if w.size and w.min() < -PSD_TOL * scale:
        raise ValueError(
            f"{name} must be positive semi-definite (a covariance), but its smallest eigenvalue is {w.min():.3g} "
            f"(largest |eigenvalue| {scale:.3g}; rounding allows down to -{PSD_TOL:g} times that): compute it with "
            "np.cov(features, rowvar=False) in float64, and check the arguments' order (mu1, sigma1, mu2, sigma2)"
        )
    return np.clip(w, 0.0, None)


def _psd_root(a: np.ndarray, name: str) -> np.ndarray:
    w, v = np.linalg.eigh(a)  # a = v diag(w) v^T
    return (v * np.sqrt(_check_psd(w, name))) @ v.T  # (d, d)


def sqrtm_psd(a) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (d, d) by eigh, float64; rounding-level negative eigenvalues clipped."""
    return _psd_root(_check_symmetric(_as_f64(a, "a", 2), "a", _symmetry_tol(a)), "a")


def trace_sqrt_product(sigma1, sigma2) -> float:
    """tr((S1 S2)^(1/2)) for PSD S1, S2, via the symmetric form sqrt(S1) S2 sqrt(S1), which has the same eigenvalues."""
    s1 = _check_symmetric(_as_f64(sigma1, "sigma1", 2), "sigma1", _symmetry_tol(sigma1))
    s2 = _check_symmetric(_as_f64(sigma2, "sigma2", 2), "sigma2", _symmetry_tol(sigma2))
    if s1.shape != s2.shape:
        raise ValueError(f"sigma1 and sigma2 must have the same shape, got {s1.shape} and {s2.shape}")
    root1 = _psd_root(s1, "sigma1")
    _check_psd(np.linalg.eigvalsh(s2), "sigma2")
    m = root1 @ s2 @ root1  # (d, d), symmetric PSD
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2): ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), float64.

    sigma1 and sigma2 must be covariances: symmetric and positive semi-definite up to rounding
    (a ValueError names the one that is not).
    """
    mu1, mu2 = _as_f64(mu1, "mu1", 1), _as_f64(mu2, "mu2", 1)
    s1, s2 = _as_f64(sigma1, "sigma1", 2), _as_f64(sigma2, "sigma2", 2)
    d = len(mu1)
    for name, shape, want in [("mu2", mu2.shape, (d,)), ("sigma1", s1.shape, (d, d)), ("sigma2", s2.shape, (d, d))]:
        if shape != want:
            raise ValueError(f"{name} must have shape {want} to match mu1 {mu1.shape}, got {shape}")
    s1 = _check_symmetric(s1, "sigma1", _symmetry_tol(sigma1))  # checked at the input dtype's rounding
    s2 = _check_symmetric(s2, "sigma2", _symmetry_tol(sigma2))
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2 * trace_sqrt_product(s1, s2)
    return max(float(value), 0.0)  # rounding can leave a tiny negative for identical inputs


def classifier_frechet_distance(
    x_fake: torch.Tensor, x_real, *, classifier: MnistCNN | None = None, batch_size: int = 500
) -> float:
    """Fréchet distance between the classifier features of x_fake and x_real (images, or its (mu, sigma) from feature_stats)."""
    mu1, s1 = feature_stats(x_fake, classifier=classifier, batch_size=batch_size)
    if isinstance(x_real, tuple):
        if len(x_real) != 2:
            raise ValueError(f"x_real as a tuple must be (mu, sigma) from feature_stats, got {len(x_real)} items")
        mu2, s2 = x_real
    else:
        mu2, s2 = feature_stats(x_real, classifier=classifier, batch_size=batch_size)
    return frechet_distance(mu1, s1, mu2, s2)


# --------------------------------------------------------------------------- feature sets: KID, precision/recall

KID_SUBSETS = 10  # disjoint subsets per KID estimate: the standard error needs at least 2
PR_K = 3  # Kynkäänniemi et al.'s neighbourhood size for precision and recall
DC_K = 5  # Naeem et al.'s neighbourhood size for density and coverage
_CHUNK = 1024  # rows of a distance matrix computed at once (1024 x N float64)


def _count(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} ({value!r})")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _feature_pair(a, b, names: tuple[str, str], minimum: int, what: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Two feature sets as float64 CPU tensors (N, d) with one d and at least ``minimum`` rows each, or a clear error."""
    a, b = _as_points(a, names[0]), _as_points(b, names[1])
    if a.shape[1] != b.shape[1]:
        raise ValueError(
            f"{names[0]} and {names[1]} must have the same number of features, got {names[0]} {tuple(a.shape)} "
            f"and {names[1]} {tuple(b.shape)} (features of one network, e.g. both from classifier_features)"
        )
    for name, x in zip(names, (a, b)):
        if len(x) < minimum:
            raise ValueError(f"{what} needs at least {minimum} samples in each set, got {len(x)} in {name}")
    return a, b


def polynomial_kernel(x, y) -> torch.Tensor:
    """KID's kernel k(a, b) = (a.b / d + 1)^3 between the rows of x (m, d) and y (n, d): float64 (m, n)."""
    x, y = _feature_pair(x, y, ("x", "y"), 1, "polynomial_kernel")
    return (x @ y.T / x.shape[1] + 1.0) ** 3  # (m, n)


def mmd2_unbiased(x, y) -> float:
    """Unbiased MMD^2 between feature sets x (m, d) and y (n, d), m, n >= 2, with the cubic polynomial kernel.

    mean of k(x_i, x_j) over i != j, plus the same for y, minus twice the mean of k(x_i, y_j): the
    diagonals k(x_i, x_i) are left out, which removes the estimator's bias (its expectation is the
    true MMD^2, 0 for one distribution, so single estimates can be negative).
    """
    x, y = _feature_pair(x, y, ("x", "y"), 2, "mmd2_unbiased")
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)  # (m,m) (n,n) (m,n)
    xx = (k_xx.sum() - k_xx.diagonal().sum()) / (m * (m - 1))
    yy = (k_yy.sum() - k_yy.diagonal().sum()) / (n * (n - 1))
    return float(xx + yy - 2 * k_xy.mean())


def kid(fake, real, *, n_subsets: int = KID_SUBSETS, subset_size: int | None = None, seed: int | None = 0):
    """KID between feature sets fake (m, d) and real (n, d): (mean, standard error) of mmd2_unbiased over subsets.

    Each set is shuffled (``seed``; ``None`` keeps the given order) and cut into ``n_subsets`` disjoint
    subsets of ``subset_size`` rows (default: as many as fit, m // n_subsets and n // n_subsets); subset i
    of fake is compared with subset i of real. The subsets' estimates are independent, so the standard
    error is their std (ddof 1) / sqrt(n_subsets).
    """
    n_subsets = _count(n_subsets, "n_subsets", 2)
    if subset_size is not None:
        subset_size = _count(subset_size, "subset_size", 2)
    fake, real = _feature_pair(fake, real, ("fake", "real"), 1, "kid")
    sizes = []
    for name, x in (("fake", fake), ("real", real)):
        size = len(x) // n_subsets if subset_size is None else subset_size
        if size < 2 or size * n_subsets > len(x):
            need = n_subsets * (2 if subset_size is None else subset_size)
            raise ValueError(
                f"kid with n_subsets={n_subsets} and subset_size={subset_size} needs at least {need} samples in "
                f"each set (disjoint subsets of >= 2), got {len(x)} in {name}"
            )
        sizes.append(size)
    if seed is None:
        orders = [torch.arange(len(fake)), torch.arange(len(real))]
    else:
        gen = torch.Generator().manual_seed(_count(seed, "seed", 0))
        orders = [torch.randperm(len(fake), generator=gen), torch.randperm(len(real), generator=gen)]
    (sf, sr), (of, o_r) = sizes, orders
    values = np.array(
        [mmd2_unbiased(fake[of[i * sf : (i + 1) * sf]], real[o_r[i * sr : (i + 1) * sr]]) for i in range(n_subsets)]
    )
    return float(values.mean()), float(values.std(ddof=1) / math.sqrt(n_subsets))


def kid_overlapping(fake, real, *, n_subsets: int = 100, max_subset_size: int = 1000, seed: int = 0) -> float:
    """KID as StyleGAN2-ADA's metric code (and torch-fidelity) computes it: the mean of mmd2_unbiased over subsets.

    Each of ``n_subsets`` subsets draws m = min(len(fake), len(real), max_subset_size) rows of fake, then m of
    real, without replacement within the subset but independently across subsets (they overlap), from
    ``np.random.RandomState(seed)``: with the same seed, torch-fidelity's ``kid_features_to_metric`` gives the
    same subsets. Only the mean is reported: the overlapping subsets' spread is not a standard error (``kid``'s
    disjoint subsets give one).
    """
    n_subsets = _count(n_subsets, "n_subsets", 1)
    max_subset_size = _count(max_subset_size, "max_subset_size", 2)
    fake, real = _feature_pair(fake, real, ("fake", "real"), 2, "kid_overlapping")
    m = min(len(fake), len(real), max_subset_size)
    rng = np.random.RandomState(_count(seed, "seed", 0))
    values = []
    for _ in range(n_subsets):
        i, j = rng.choice(len(fake), m, replace=False), rng.choice(len(real), m, replace=False)
        values.append(mmd2_unbiased(fake[torch.from_numpy(i)], real[torch.from_numpy(j)]))
    return float(np.mean(values))


def _dists(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances (len(a), len(b)), float64, each from the coordinate differences of its own pair.

    Not the |a|^2 + |b|^2 - 2 a.b expansion: that one is not symmetric to the last bit, loses the small
    distances of shifted features to cancellation, and rounds a pair differently depending on which
    block of the matrix it falls in, so whether a k-th neighbour sits inside its own ball would be
    decided by the machine's BLAS. Here d(a, b) is a function of the two rows alone: d(a, b) == d(b, a).
    """
    return torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist")


def _knn_radii(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row of x (N, d) to its k-th nearest other row: (N,)."""
    out = [_dists(x[i : i + _CHUNK], x).kthvalue(k + 1, dim=1).values for i in range(0, len(x), _CHUNK)]
    return torch.cat(out)  # the (k+1)-th smallest counts the row itself, at distance 0


def _balls_containing(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each point (N, d), how many of the balls (centres (M, d), radii (M,)) contain it: int64 (N,)."""
    out = [(_dists(points[i : i + _CHUNK], centres) <= radii).sum(1) for i in range(0, len(points), _CHUNK)]
    return torch.cat(out)


def precision_recall(fake, real, *, k: int = PR_K) -> tuple[float, float]:
    """Improved precision and recall (Kynkäänniemi et al. 2019) of feature sets fake (m, d) against real (n, d).

    precision: share of fake samples inside some real ball; recall: share of real samples inside some
    fake ball; a ball is centred on a sample and reaches its k-th nearest neighbour in its own set.
    Both are 1 for identical sets; a collapsed fake set keeps its precision and loses recall.
    """
    k = _count(k, "k", 1)
    fake, real = _feature_pair(fake, real, ("fake", "real"), k + 1, f"precision_recall with k={k}")
    precision = (_balls_containing(fake, real, _knn_radii(real, k)) > 0).double().mean()
    recall = (_balls_containing(real, fake, _knn_radii(fake, k)) > 0).double().mean()
    return float(precision), float(recall)


def knn_radii(x, *, k: int = PR_K) -> torch.Tensor:
    """The radius of each sample's ball in precision and recall: the distance from each row of x (N, d) to its k-th
    nearest other row, float64 (N,)."""
    k = _count(k, "k", 1)
    x = _as_points(x, "x")
    if len(x) < k + 1:
        raise ValueError(f"knn_radii with k={k} needs at least {k + 1} samples, got {len(x)}")
    return _knn_radii(x, k)


def ball_counts(fake, real, *, k: int = PR_K) -> torch.Tensor:
    """How many fake samples (m, d) each real sample's k-NN ball holds: int64 (n,). Precision counts a fake
    sample once however many balls hold it; these counts show which balls make up the precision."""
    k = _count(k, "k", 1)
    fake, real = _feature_pair(fake, real, ("fake", "real"), k + 1, f"ball_counts with k={k}")
    radii = _knn_radii(real, k)  # (n,)
    out = [
        (_dists(real[i : i + _CHUNK], fake) <= radii[i : i + _CHUNK, None]).sum(1) for i in range(0, len(real), _CHUNK)
    ]
    return torch.cat(out)  # d(a, b) == d(b, a) to the bit, so these agree with precision_recall's test


def density_coverage(fake, real, *, k: int = DC_K) -> tuple[float, float]:
    """Density and coverage (Naeem et al. 2020) of feature sets fake (m, d) against real (n, d), with real balls only.

    density: the number of (fake sample, real ball containing it) pairs over k m, about 1 when fake
    and real come from one distribution; coverage: share of real balls holding at least one fake sample.
    """
    k = _count(k, "k", 1)
    fake, real = _feature_pair(fake, real, ("fake", "real"), k + 1, f"density_coverage with k={k}")
    radii = _knn_radii(real, k)  # (n,)
    density = _balls_containing(fake, real, radii).double().sum() / (k * len(fake))
    nearest = torch.cat([_dists(real[i : i + _CHUNK], fake).min(1).values for i in range(0, len(real), _CHUNK)])
    coverage = (nearest <= radii).double().mean()
    return float(density), float(coverage)


def unit_rows(x) -> torch.Tensor:
    """Each row of x (N, d) scaled to unit Euclidean length (all-zero rows stay 0): float64 (N, d)."""
    x = _as_points(x, "x")
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def digit_metrics(
    x_fake: torch.Tensor,
    x_real,
    *,
    k: int = PR_K,
    n_subsets: int = KID_SUBSETS,
    seed: int | None = 0,
    unit_features: bool = True,
    classifier: MnistCNN | None = None,
    batch_size: int = 500,
) -> dict:
    """Every MNIST score of lecture 09 for images x_fake against real digits x_real (images, or their features (N, 128)).

    Returns ``n``, ``classifier_score``, ``confidence`` (mean of max_y p(y|x)), ``frechet``, ``kid``,
    ``kid_se``, ``precision``, ``recall``, ``density``, ``coverage`` (Naeem et al., k = 5) and ``digits``
    (the digit histogram, a list of 10 ints). Precision, recall, density and coverage use unit-length
    features (``unit_features``, cosine geometry): the raw ReLU features of a blank or washed-out image lie
    near the origin, which the real samples' k-NN balls in 128-d reach, so on raw features a blank page
    scores precision ~1 (lecture 09, section 5).
    """
    x_fake = check_images(x_fake, "x_fake")
    if isinstance(x_real, torch.Tensor) and x_real.ndim == 2:
        f_real = x_real.detach().cpu().double()
    else:
        f_real = classifier_features(check_images(x_real, "x_real"), classifier=classifier, batch_size=batch_size)
    f_fake = classifier_features(x_fake, classifier=classifier, batch_size=batch_size).double()  # (N, 128)
    f_fake, f_real = _feature_pair(f_fake, f_real, ("x_fake's features", "x_real's features"), 2, "digit_metrics")
    p = predict_proba(x_fake, _model(x_fake, classifier), batch_size)  # (N, 10)
    kid_mean, kid_se = kid(f_fake, f_real, n_subsets=n_subsets, seed=seed)
    pr_fake, pr_real = (unit_rows(f_fake), unit_rows(f_real)) if unit_features else (f_fake, f_real)
    precision, recall = precision_recall(pr_fake, pr_real, k=k)
    density, coverage = density_coverage(pr_fake, pr_real)
    mu1, s1 = f_fake.mean(0).numpy(), np.cov(f_fake.numpy(), rowvar=False)
    mu2, s2 = f_real.mean(0).numpy(), np.cov(f_real.numpy(), rowvar=False)
    return {
        "n": len(x_fake),
        "classifier_score": _score(p),
        "confidence": float(p.max(dim=1).values.mean()),
        "frechet": frechet_distance(mu1, s1, mu2, s2),
        "kid": kid_mean,
        "kid_se": kid_se,
        "precision": precision,
        "recall": recall,
        "density": density,
        "coverage": coverage,
        "digits": torch.bincount(p.argmax(dim=1), minlength=10).tolist(),
    }


# --------------------------------------------------------------------------- conditional models (lecture 10)


@torch.no_grad()
def conditional_accuracy(
    G: torch.nn.Module,
    n: int = 10_000,
    *,
    classifier: MnistCNN | None = None,
    seed: int = 0,
    batch_size: int = 500,
) -> dict:
    """The fraction of n samples G(z, y) that the course's classifier calls the asked-for digit y.

    The labels are balanced (n / 10 of each digit; n must be a multiple of 10). Returns
    ``accuracy`` (float), ``per_digit`` (10 floats, digit d's fraction) and ``n``.
    """
    from gancourse.train import sample  # train imports the conditional nets; import here to keep metrics light

    n = _count(n, "n", 10)
    batch_size = _count(batch_size, "batch_size", 1)
    if n % 10:
        raise ValueError(f"n must be a multiple of 10 (the same number of each digit), got {n}")
    if getattr(G, "n_classes", None) != 10:
        raise TypeError(f"G must be a conditional generator G(z, y) with n_classes=10, got {type(G).__name__}")
    y = torch.arange(n) % 10  # (n,): 0, 1, ..., 9, 0, 1, ...
    x = sample(G, n, y=y, seed=seed, batch_size=batch_size)  # (n, 1, 28, 28) on the CPU
    pred = predict_proba(x, _model(x, classifier), batch_size).argmax(dim=1)  # (n,)
    correct = (pred == y).double()  # (n,)
    per_digit = correct.view(-1, 10).mean(dim=0)  # (10,): column d holds digit d
    return {"accuracy": float(correct.mean()), "per_digit": per_digit.tolist(), "n": n}


LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])  # the 4-neighbour Laplacian


def laplacian_variance(x: torch.Tensor) -> float:
    """Sharpness: the variance of the Laplacian of each image (N, 1, 28, 28) over its 26 x 26 interior, mean over images.

    Blur removes high frequencies, which is what the Laplacian keeps: a blurred copy scores lower
    (Pech-Pacheco et al. 2000's focus measure). Compare images on the same scale ([-1, 1] here).
    """
    x = check_images(x)
    lap = torch.nn.functional.conv2d(x.double(), LAPLACIAN.double()[None, None])  # (N, 1, 26, 26), no padding
    return float(lap.flatten(1).var(dim=1, unbiased=False).mean())
