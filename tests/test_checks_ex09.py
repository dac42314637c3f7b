"""Every check of assignment 09 passes the reference and rejects known-wrong implementations."""

import numpy as np
import pytest
import scipy.linalg
import torch
from checks_suite import suite

from gancourse import metrics
from gancourse.checks import CheckFailed
from gancourse.checks import ex09 as check

# ---- 9.1 the Fréchet distance


def fd_ok(mu1, s1, mu2, s2):
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


def fd_no_factor_2(mu1, s1, mu2, s2):
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - scipy.linalg.sqrtm(s1 @ s2).real))


def fd_no_square_root(mu1, s1, mu2, s2):
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * s1 @ s2))


def fd_elementwise_sqrt(mu1, s1, mu2, s2):  # np.sqrt of the entries: right only for diagonal covariances
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * np.sqrt(np.abs(s1 * s2))))


def fd_norm_not_squared(mu1, s1, mu2, s2):
    return float(np.linalg.norm(mu1 - mu2) + np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


def fd_no_means(mu1, s1, mu2, s2):
    return float(np.trace(s1 + s2 - 2 * scipy.linalg.sqrtm(s1 @ s2).real))


# ---- 9.2 the classifier score


def score_ok(p):
    p_y = p.mean(0, keepdim=True)
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, p_y)).sum(1).mean().exp().item()


def score_log_p_only(p):  # exp(E sum p log p(y|x)): the marginal forgotten
    return torch.special.xlogy(p, p).sum(1).mean().exp().item()


def score_reversed_kl(p):  # KL(p(y) || p(y|x)): infinite for one-hot rows, wrong elsewhere
    p_y = p.mean(0, keepdim=True).expand_as(p)
    return (torch.special.xlogy(p_y, p_y) - p_y * p.clamp_min(1e-12).log()).sum(1).mean().exp().item()


def score_no_exp(p):
    p_y = p.mean(0, keepdim=True)
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, p_y)).sum(1).mean().item()


def score_nan_on_one_hot(p):  # p * log p is 0 * -inf = nan for one-hot rows
    p_y = p.mean(0, keepdim=True)
    return (p * (p.log() - p_y.log())).sum(1).mean().exp().item()


def score_marginal_of_argmax(p):  # p(y) from hard labels instead of the mean of p(y|x)
    p_y = torch.bincount(p.argmax(1), minlength=p.shape[1]).double()[None] / len(p)
    return (torch.special.xlogy(p, p) - torch.special.xlogy(p, p_y.clamp_min(1e-12))).sum(1).mean().exp().item()


# ---- 9.3 KID's unbiased estimator


def kernel(a, b, degree=3, scaled=True):
    return (a @ b.T / (a.shape[1] if scaled else 1) + 1) ** degree


def mmd_ok(x, y):
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = kernel(x, x), kernel(y, y), kernel(x, y)
    return (
        (k_xx.sum() - k_xx.trace()) / (m * (m - 1)) + (k_yy.sum() - k_yy.trace()) / (n * (n - 1)) - 2 * k_xy.mean()
    ).item()


def mmd_biased(x, y):  # the V-statistic: the diagonals included
    return (kernel(x, x).mean() + kernel(y, y).mean() - 2 * kernel(x, y).mean()).item()


def mmd_diagonal_out_but_divided_by_m_squared(x, y):
    k_xx, k_yy = kernel(x, x), kernel(y, y)
    return (
        (k_xx.sum() - k_xx.trace()) / len(x) ** 2 + (k_yy.sum() - k_yy.trace()) / len(y) ** 2 - 2 * kernel(x, y).mean()
    ).item()


def mmd_unscaled_kernel(x, y):  # (a.b + 1)^3 without the 1/d
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = (kernel(a, b, scaled=False) for a, b in ((x, x), (y, y), (x, y)))
    return (
        (k_xx.sum() - k_xx.trace()) / (m * (m - 1)) + (k_yy.sum() - k_yy.trace()) / (n * (n - 1)) - 2 * k_xy.mean()
    ).item()


def mmd_quadratic(x, y):
    m, n = len(x), len(y)
    k_xx, k_yy, k_xy = (kernel(a, b, degree=2) for a, b in ((x, x), (y, y), (x, y)))
    return (
        (k_xx.sum() - k_xx.trace()) / (m * (m - 1)) + (k_yy.sum() - k_yy.trace()) / (n * (n - 1)) - 2 * k_xy.mean()
    ).item()


def mmd_swapped_normalisers(x, y):  # m (m - 1) and n (n - 1) exchanged: right only when m == n
    m, n = len(x), len(y)
    k_xx, k_yy = kernel(x, x), kernel(y, y)
    return (
        (k_xx.sum() - k_xx.trace()) / (n * (n - 1))
        + (k_yy.sum() - k_yy.trace()) / (m * (m - 1))
        - 2 * kernel(x, y).mean()
    ).item()


# ---- 9.4 precision and recall


def radii(x, k, skip_self=True):
    return torch.cdist(x, x).kthvalue(k + 1 if skip_self else k, dim=1).values


def inside(points, centres, r):
    return (torch.cdist(points, centres) <= r).any(dim=1).double().mean().item()


def pr_ok(fake, real, k):
    return inside(fake, real, radii(real, k)), inside(real, fake, radii(fake, k))


def pr_counting_self(fake, real, k):  # the k-th smallest distance includes the point itself: one neighbour short
    return inside(fake, real, radii(real, k, False)), inside(real, fake, radii(fake, k, False))


def pr_swapped(fake, real, k):
    return pr_ok(fake, real, k)[::-1]


def pr_cross_set_radii(fake, real, k):  # radii to the k-th nearest sample of the OTHER set
    def cross(centres, others):
        return torch.cdist(centres, others).kthvalue(k, dim=1).values

    return inside(fake, real, cross(real, fake)), inside(real, fake, cross(fake, real))


def pr_coverage_not_precision(fake, real, k):  # share of real balls holding a fake sample
    hit = (torch.cdist(real, fake) <= radii(real, k)[:, None]).any(dim=1).double().mean().item()
    return hit, inside(real, fake, radii(fake, k))


# ---- 9.5 the corruption ladder


def ladder_ok(x, ref, stds, seed):
    g = torch.Generator().manual_seed(seed)
    return [
        metrics.classifier_frechet_distance((x + s * torch.randn(x.shape, generator=g)).clamp(-1, 1), ref) for s in stds
    ]


def ladder_one_noise_draw(x, ref, stds, seed):  # also right: one draw, scaled per rung
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(seed))
    return [metrics.classifier_frechet_distance((x + s * noise).clamp(-1, 1), ref) for s in stds]


def ladder_reversed(x, ref, stds, seed):
    return ladder_ok(x, ref, stds, seed)[::-1]


def ladder_same_rung(x, ref, stds, seed):  # every rung with the largest std: not monotone
    return ladder_ok(x, ref, [max(stds)] * len(stds), seed)


def ladder_variance(x, ref, stds, seed):  # std**2 used as the standard deviation
    return ladder_ok(x, ref, [s * s for s in stds], seed)


def ladder_not_clipped(x, ref, stds, seed):
    g = torch.Generator().manual_seed(seed)
    return [metrics.classifier_frechet_distance(x + s * torch.randn(x.shape, generator=g), ref) for s in stds]


def ladder_global_rng(x, ref, stds, seed):  # ignores seed: draws from the global RNG (close to right, by chance)
    return [metrics.classifier_frechet_distance((x + s * torch.randn(x.shape)).clamp(-1, 1), ref) for s in stds]


def ladder_reseeds_global(x, ref, stds, seed):  # uses seed, but by reseeding everyone's global RNG
    torch.manual_seed(seed)
    return ladder_global_rng(x, ref, stds, seed)


def ladder_fixed_seed(x, ref, stds, seed):  # a generator, but always seeded 0
    return ladder_ok(x, ref, stds, 0)


def ladder_against_clean(x, ref, stds, seed):  # distances to the clean digits, not to the reference
    return ladder_ok(x, metrics.feature_stats(x), stds, seed)


CASES = {
    "frechet_distance": (
        (fd_ok,),
        [(fd_no_factor_2,), (fd_no_square_root,), (fd_elementwise_sqrt,), (fd_norm_not_squared,), (fd_no_means,)],
    ),
    "classifier_score": (
        (score_ok,),
        [
            (score_log_p_only,),
            (score_reversed_kl,),
            (score_no_exp,),
            (score_nan_on_one_hot,),
            (score_marginal_of_argmax,),
        ],
    ),
    "mmd2_unbiased": (
        (mmd_ok,),
        [
            (mmd_biased,),
            (mmd_diagonal_out_but_divided_by_m_squared,),
            (mmd_unscaled_kernel,),
            (mmd_quadratic,),
            (mmd_swapped_normalisers,),
        ],
    ),
    "precision_recall": (
        (pr_ok,),
        [(pr_counting_self,), (pr_swapped,), (pr_cross_set_radii,), (pr_coverage_not_precision,)],
    ),
    "noise_ladder": (
        (ladder_ok,),
        [
            (ladder_reversed,),
            (ladder_same_rung,),
            (ladder_variance,),
            (ladder_not_clipped,),
            (ladder_against_clean,),
            (ladder_global_rng,),
            (ladder_reseeds_global,),
            (ladder_fixed_seed,),
        ],
    ),
}


(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(check, CASES, "9")


def test_a_ladder_with_one_noise_draw_passes_too(capsys):
    check.noise_ladder(ladder_one_noise_draw)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, says",
    [
        (ladder_global_rng, "global random generator"),
        (ladder_reseeds_global, "global random generator"),
        (ladder_fixed_seed, "seed` is ignored"),
    ],
)
def test_a_ladder_that_ignores_its_seed_is_told_why(wrong, says):
    with pytest.raises(CheckFailed, match=says):
        check.noise_ladder(wrong)
