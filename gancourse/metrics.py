"""Evaluating GANs: mode coverage on the toy mixtures; classifier score and Fréchet distance on MNIST.

- Mode coverage follows the protocol of VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al.
  2018), fixed in CONVENTIONS.md: draw N_EVAL = 2,500 samples; a sample is high-quality if it
  lies within 3 std of its nearest mode (Euclidean); a mode is captured if it has at least one
  high-quality sample. Real ring or grid data scores every mode and 1 - exp(-4.5) = 98.9%
  high-quality (in 2-D, |noise|^2 / std^2 is chi-square with 2 degrees of freedom).
- Classifier score: the Inception Score of Salimans et al. (2016), exp(E_x KL(p(y|x) || p(y))),
  with the course's MNIST classifier (gancourse.classifier) in place of Inception: 10 for
  confident, balanced digits, 1 for a single repeated digit.
- Fréchet distance: FID (Heusel et al. 2017) on the classifier's 128-d penultimate features,
  ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)). It is biased upwards at small sample sizes:
  compare models only at equal sample counts, against the real-vs-real floor.

Used by notebooks/05_vanilla_gan.ipynb (coverage, digit histogram), lecture 09, evaluating GANs
(everything here), and lectures 06-08 for their coverage tables. docs/classifier.md has the figures.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from gancourse import data
from gancourse.classifier import MnistCNN, check_images, load_classifier, predict_proba

N_EVAL = 2500  # samples per toy-mixture evaluation (the protocol's size)
HQ_STDS = 3.0  # a sample within this many std of its nearest mode is high-quality


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


def mode_coverage(samples, modes, std: float) -> dict:
    """Modes captured, high-quality fraction and reverse KL of the mode histogram for samples (N, d) of a mixture.

    Returns a dict with ``modes_captured`` (int), ``n_modes`` (int), ``high_quality`` (fraction of
    samples within 3 std of their nearest mode), ``reverse_kl`` and ``counts`` (high-quality
    samples per mode, a list of K ints). ``reverse_kl`` is KL(p_hist || uniform) in nats, where
    p_hist is the histogram of the high-quality samples over their nearest modes:
    sum_k p_k log(K p_k), with 0 log 0 = 0. It is 0 for a perfectly balanced histogram and
    log K when every high-quality sample sits on one mode; NaN when no sample is high-quality.
    """
    modes = _as_points(modes, "modes")
    samples = _as_points(samples, "samples", modes.shape[1])
    if isinstance(std, bool) or not isinstance(std, (int, float)) or not (std > 0 and math.isfinite(std)):
        raise ValueError(f"std must be a positive finite number, got {std!r}")
    dist = torch.cdist(samples, modes)  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)  # (N,), (N,)
    hq = nearest_dist <= HQ_STDS * std  # (N,)
    counts = torch.bincount(nearest[hq], minlength=len(modes))  # (K,)
    n_hq = int(counts.sum())
    if n_hq:
        p = counts.double() / n_hq  # (K,)
        reverse_kl = float(torch.special.xlogy(p, p * len(modes)).sum().clamp_min(0.0))
    else:
        reverse_kl = math.nan
    return {
        "modes_captured": int((counts > 0).sum()),
        "n_modes": len(modes),
        "high_quality": n_hq / len(samples),
        "reverse_kl": reverse_kl,
        "counts": counts.tolist(),
    }


def ring_coverage(samples) -> dict:
    """mode_coverage on the 8-Gaussian ring (radius 2, std 0.02) for samples (N, 2); use N_EVAL = 2,500."""
    return mode_coverage(_as_points(samples, "samples", 2), data.ring_modes(), data.RING_STD)


def grid_coverage(samples) -> dict:
    """mode_coverage on the 25-Gaussian grid ({-4,...,4}^2, std 0.05) for samples (N, 2); use N_EVAL = 2,500."""
    return mode_coverage(_as_points(samples, "samples", 2), data.grid_modes(), data.GRID_STD)


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
    p = predict_proba(x, _model(x, classifier), batch_size)  # (N, 10) float64
    p_y = p.mean(dim=0, keepdim=True)  # (1, 10): the marginal p(y)
    kl = (torch.special.xlogy(p, p) - torch.special.xlogy(p, p_y)).sum(dim=1)  # (N,)
    return math.exp(kl.mean().item())


@torch.no_grad()
def classifier_features(x: torch.Tensor, *, classifier: MnistCNN | None = None, batch_size: int = 500) -> torch.Tensor:
    """The classifier's penultimate activations for x (N, 1, 28, 28): float32 (N, 128) on the CPU."""
    x = check_images(x)
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


def _check_symmetric(a: np.ndarray, name: str) -> np.ndarray:
    if a.shape[0] != a.shape[1]:
        raise ValueError(f"{name} must be square, got shape {a.shape}")
    if not np.allclose(a, a.T, rtol=1e-6, atol=1e-9 * (1.0 + np.abs(a).max(initial=0.0))):
        raise ValueError(f"{name} must be symmetric (a covariance); max |A - A^T| = {np.abs(a - a.T).max():.3g}")
    return (a + a.T) / 2


def sqrtm_psd(a) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (d, d) by eigh, float64; tiny negative eigenvalues clipped."""
    a = _check_symmetric(_as_f64(a, "a", 2), "a")
    w, v = np.linalg.eigh(a)  # a = v diag(w) v^T
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T  # (d, d)


def trace_sqrt_product(sigma1, sigma2) -> float:
    """tr((S1 S2)^(1/2)) for PSD S1, S2, via the symmetric form sqrt(S1) S2 sqrt(S1), which has the same eigenvalues."""
    s1 = _check_symmetric(_as_f64(sigma1, "sigma1", 2), "sigma1")
    s2 = _check_symmetric(_as_f64(sigma2, "sigma2", 2), "sigma2")
    root1 = sqrtm_psd(s1)
    m = root1 @ s2 @ root1  # (d, d), symmetric PSD
    return float(np.sqrt(np.clip(np.linalg.eigvalsh((m + m.T) / 2), 0.0, None)).sum())


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2): ||mu1 - mu2||^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2)), float64."""
    mu1, mu2 = _as_f64(mu1, "mu1", 1), _as_f64(mu2, "mu2", 1)
    s1, s2 = _as_f64(sigma1, "sigma1", 2), _as_f64(sigma2, "sigma2", 2)
    d = len(mu1)
    for name, shape, want in [("mu2", mu2.shape, (d,)), ("sigma1", s1.shape, (d, d)), ("sigma2", s2.shape, (d, d))]:
        if shape != want:
            raise ValueError(f"{name} must have shape {want} to match mu1 {mu1.shape}, got {shape}")
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
