"""Every check of assignment 10 passes the reference and rejects known-wrong implementations."""

import math
from functools import partial

import pytest
import torch
import torch.nn.functional as F
from checks_suite import suite

from gancourse import losses
from gancourse.checks import CheckFailed
from gancourse.checks import ex10 as check

bce = F.binary_cross_entropy_with_logits

# ---- 10.1 conditioning by concatenation


def concat_ok(x, y, n_classes):
    return torch.cat([x, F.one_hot(y, n_classes).to(x.dtype)], dim=1)


def concat_float_idiom(x, y, n_classes):  # .float() and torch.cat's type promotion: right for float64 x too
    return torch.cat([x, F.one_hot(y, n_classes).float()], dim=1)


def concat_eye(x, y, n_classes):  # rows of the identity are one-hot vectors
    return torch.cat([x, torch.eye(n_classes, dtype=x.dtype)[y]], dim=1)


def concat_dim0(x, y, n_classes):  # joined along the batch dimension
    return torch.cat([x, F.one_hot(y, n_classes).to(x.dtype)], dim=0)


def concat_transposed(x, y, n_classes):  # one-hot built along dim 0, (n_classes, N), then transposed
    return torch.cat([x, F.one_hot(y, n_classes).to(x.dtype).T], dim=1)


def concat_scatter_dim0(x, y, n_classes):  # scatter along the wrong dimension: a 1 in row y[i] of column 0
    one_hot = torch.zeros(len(y), n_classes, dtype=x.dtype).scatter_(0, y[:, None], 1.0)
    return torch.cat([x, one_hot], dim=1)


def concat_no_num_classes(x, y, n_classes):  # as wide as the largest label in the batch
    return torch.cat([x, F.one_hot(y).to(x.dtype)], dim=1)


def concat_double(x, y, n_classes):  # float64 one-hot: the result is float64 for float32 x
    return torch.cat([x, F.one_hot(y, n_classes).double()], dim=1)


def concat_x_long(x, y, n_classes):  # casts the features to integers
    return torch.cat([x.long(), F.one_hot(y, n_classes)], dim=1)


def concat_label_column(x, y, n_classes):  # the label as a number, not one-hot
    return torch.cat([x, y[:, None].to(x.dtype)], dim=1)


def concat_label_repeated(x, y, n_classes):  # n_classes columns, but every one holds the label
    return torch.cat([x, y[:, None].expand(-1, n_classes).to(x.dtype)], dim=1)


def concat_one_hot_first(x, y, n_classes):
    return torch.cat([F.one_hot(y, n_classes).to(x.dtype), x], dim=1)


def concat_detached(x, y, n_classes):
    return torch.cat([x.detach(), F.one_hot(y, n_classes).to(x.dtype)], dim=1)


# ---- 10.2 the AC-GAN losses


def bce_of_sigmoid(logits, target):  # probabilities, not logits: wrong for a confident D (log(0) clamped at -100)
    return F.binary_cross_entropy(logits.sigmoid(), target)


def ce_of_softmax(class_logits, y):  # softmax, then cross_entropy's own log_softmax: softmax twice
    return F.cross_entropy(class_logits.softmax(1), y)


def nll_of_probabilities(class_logits, y):  # nll_loss expects log-probabilities
    return F.nll_loss(class_logits.softmax(1), y)


def acd(r, f, rc, fc, yr, yf, *, targets=(1.0, 0.0), adversarial=bce, ce=F.cross_entropy, fake_class=True, item=False):
    loss = adversarial(r, torch.full_like(r, targets[0])) + adversarial(f, torch.full_like(f, targets[1]))
    loss = loss + ce(rc, yr) + (ce(fc, yf) if fake_class else 0.0)
    return loss.item() if item else loss  # .item(): a number, cannot be trained with


def acd_course_losses(r, f, rc, fc, yr, yf):  # the course's d_loss and log_softmax + nll_loss: also right
    return losses.d_loss(r, f) + F.nll_loss(F.log_softmax(rc, 1), yr) + F.nll_loss(F.log_softmax(fc, 1), yf)


def acg(f, fc, yf, *, target=1.0, saturating=False, adversarial=bce, ce=F.cross_entropy, class_sign=1.0):
    adv = -adversarial(f, torch.zeros_like(f)) if saturating else adversarial(f, torch.full_like(f, target))
    return adv + class_sign * ce(fc, yf)  # saturating: minimises log(1 - D(G(z)))


def acg_softplus(f, fc, yf):  # -log sigmoid(l) = softplus(-l): also right
    return F.softplus(-f).mean() + F.cross_entropy(fc, yf)


# ---- 10.3 the reparameterisation trick


def rep_ok(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * eps


def rep_power_half(mu, logvar, eps):  # the same thing, written with ** 0.5: right
    return mu + torch.exp(logvar) ** 0.5 * eps


def rep_exp_logvar(mu, logvar, eps):  # the published bug: exp(log sigma^2) = sigma^2 used as sigma
    return mu + torch.exp(logvar) * eps


def rep_power_one_half(mu, logvar, eps):  # ** 1/2 is (** 1) / 2
    return mu + torch.exp(logvar) ** 1 / 2 * eps


def rep_no_mu(mu, logvar, eps):
    return torch.exp(0.5 * logvar) * eps


def rep_sqrt_logvar(mu, logvar, eps):  # NaN wherever logvar < 0
    return mu + torch.sqrt(logvar) * eps


def rep_own_noise(mu, logvar, eps):  # ignores eps and draws from the global RNG
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def rep_detached_logvar(mu, logvar, eps):  # right values, no gradient to logvar
    return mu + torch.exp(0.5 * logvar.detach()) * eps


def rep_no_grad(mu, logvar, eps):
    with torch.no_grad():
        return mu + torch.exp(0.5 * logvar) * eps


# ---- 10.4 the Gaussian KL


def _kl_terms(mu, logvar):
    return 1 + logvar - mu.pow(2) - logvar.exp()  # (N, d)


def kl_ok(mu, logvar):
    return (-0.5 * _kl_terms(mu, logvar).sum(dim=1)).mean()


def kl_distributions(mu, logvar):  # torch.distributions' closed form: right
    q = torch.distributions.Normal(mu, torch.exp(0.5 * logvar))
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return torch.distributions.kl_divergence(q, p).sum(dim=1).mean()


def kl_wrong_sign(mu, logvar):
    return (0.5 * _kl_terms(mu, logvar).sum(dim=1)).mean()


def kl_no_half(mu, logvar):
    return (-_kl_terms(mu, logvar).sum(dim=1)).mean()


def kl_sum_over_batch(mu, logvar):
    return -0.5 * _kl_terms(mu, logvar).sum()


def kl_mean_over_dims(mu, logvar):
    return -0.5 * _kl_terms(mu, logvar).mean()


def kl_per_sample(mu, logvar):
    return -0.5 * _kl_terms(mu, logvar).sum(dim=1)


def kl_std_as_variance(mu, logvar):  # exp(logvar / 2) used where the variance exp(logvar) belongs
    return (-0.5 * (1 + logvar - mu.pow(2) - torch.exp(0.5 * logvar)).sum(dim=1)).mean()


def kl_item(mu, logvar):
    return kl_ok(mu, logvar).item()


# ---- 10.5 the LSGAN losses


def lsd_ok(real, fake):
    return 0.5 * (real - 1).pow(2).mean() + 0.5 * fake.pow(2).mean()


def lsd_mse(real, fake):  # F.mse_loss: right
    return 0.5 * F.mse_loss(real, torch.ones_like(real)) + 0.5 * F.mse_loss(fake, torch.zeros_like(fake))


def lsd_no_half(real, fake):
    return (real - 1).pow(2).mean() + fake.pow(2).mean()


def lsd_swapped(real, fake):
    return 0.5 * real.pow(2).mean() + 0.5 * (fake - 1).pow(2).mean()


def lsd_abs(real, fake):
    return 0.5 * (real - 1).abs().mean() + 0.5 * fake.abs().mean()


def lsd_sigmoid(real, fake):
    return 0.5 * (real.sigmoid() - 1).pow(2).mean() + 0.5 * fake.sigmoid().pow(2).mean()


def lsg_ok(fake):
    return 0.5 * (fake - 1).pow(2).mean()


def lsg_no_half(fake):
    return (fake - 1).pow(2).mean()


def lsg_target_zero(fake):
    return 0.5 * fake.pow(2).mean()


def lsg_abs(fake):
    return 0.5 * (fake - 1).abs().mean()


def lsg_sigmoid(fake):
    return 0.5 * (fake.sigmoid() - 1).pow(2).mean()


CASES = {
    "concat_condition": (
        (concat_ok,),
        [
            (concat_dim0,),
            (concat_transposed,),
            (concat_scatter_dim0,),
            (concat_no_num_classes,),
            (concat_double,),
            (concat_x_long,),
            (concat_label_column,),
            (concat_label_repeated,),
            (concat_one_hot_first,),
            (concat_detached,),
        ],
    ),
    "acgan_losses": (
        (acd, acg),
        [
            (partial(acd, fake_class=False), acg),
            (partial(acd, targets=(0.0, 1.0)), acg),
            (partial(acd, ce=ce_of_softmax), acg),
            (partial(acd, ce=nll_of_probabilities), acg),
            (partial(acd, adversarial=bce_of_sigmoid), acg),
            (partial(acd, item=True), acg),
            (acd, partial(acg, saturating=True)),
            (acd, partial(acg, class_sign=0.0)),
            (acd, partial(acg, target=0.0)),
            (acd, partial(acg, class_sign=-1.0)),
            (acd, partial(acg, ce=ce_of_softmax)),
            (acd, partial(acg, adversarial=bce_of_sigmoid)),
        ],
    ),
    "reparameterize": (
        (rep_ok,),
        [
            (rep_exp_logvar,),
            (rep_power_one_half,),
            (rep_no_mu,),
            (rep_sqrt_logvar,),
            (rep_own_noise,),
            (rep_detached_logvar,),
            (rep_no_grad,),
        ],
    ),
    "gaussian_kl": (
        (kl_ok,),
        [
            (kl_wrong_sign,),
            (kl_no_half,),
            (kl_sum_over_batch,),
            (kl_mean_over_dims,),
            (kl_per_sample,),
            (kl_std_as_variance,),
            (kl_item,),
        ],
    ),
    "lsgan_losses": (
        (lsd_ok, lsg_ok),
        [
            (lsd_no_half, lsg_ok),
            (lsd_swapped, lsg_ok),
            (lsd_abs, lsg_ok),
            (lsd_sigmoid, lsg_ok),
            (lsd_ok, lsg_no_half),
            (lsd_ok, lsg_target_zero),
            (lsd_ok, lsg_abs),
            (lsd_ok, lsg_sigmoid),
        ],
    ),
}


(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(check, CASES, "10")


@pytest.mark.parametrize(
    "name, fns",
    [
        ("concat_condition", (concat_float_idiom,)),
        ("concat_condition", (concat_eye,)),
        ("concat_condition", (check.reference_concat_condition,)),
        ("acgan_losses", (acd_course_losses, acg_softplus)),
        ("acgan_losses", (check.reference_acgan_d_loss, check.reference_acgan_g_loss)),
        ("reparameterize", (rep_power_half,)),
        ("reparameterize", (check.reference_reparameterize,)),
        ("gaussian_kl", (kl_distributions,)),
        ("gaussian_kl", (check.reference_gaussian_kl,)),
        ("lsgan_losses", (lsd_mse, lsg_ok)),
        ("lsgan_losses", (losses.lsgan_d_loss, losses.lsgan_g_loss)),
    ],
)
def test_other_right_answers_pass(name, fns, capsys):
    getattr(check, name)(*fns)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "name, fns, words",
    [
        ("concat_condition", (concat_no_num_classes,), "pass num_classes=n_classes"),
        ("concat_condition", (concat_double,), "keep x's dtype torch.float32"),
        ("concat_condition", (concat_transposed,), "should be one-hot"),
        ("concat_condition", (concat_one_hot_first,), "the one-hot comes first"),
        ("acgan_losses", (partial(acd, fake_class=False), acg), "class loss on the FAKE samples is missing"),
        ("acgan_losses", (partial(acd, targets=(0.0, 1.0)), acg), "targets are swapped"),
        ("acgan_losses", (partial(acd, ce=ce_of_softmax), acg), "softmax is applied twice"),
        ("acgan_losses", (partial(acd, ce=nll_of_probabilities), acg), "F.nll_loss expects log-probabilities"),
        ("acgan_losses", (partial(acd, adversarial=bce_of_sigmoid), acg), "sigmoid, then BCE on probabilities"),
        ("acgan_losses", (acd, partial(acg, adversarial=bce_of_sigmoid)), "sigmoid, then BCE on probabilities"),
        ("acgan_losses", (acd, partial(acg, saturating=True)), "saturating loss"),
        ("acgan_losses", (acd, partial(acg, class_sign=0.0)), "the class loss is missing"),
        ("acgan_losses", (acd, partial(acg, target=0.0)), "target 0 for G's samples is D's goal"),
        ("acgan_losses", (acd, partial(acg, class_sign=-1.0)), "wrong sign"),
        ("reparameterize", (rep_exp_logvar,), "is the variance"),
        ("reparameterize", (rep_power_one_half,), r"\*\* 1/2"),
        ("reparameterize", (rep_no_mu,), "mu is missing"),
        ("reparameterize", (rep_sqrt_logvar,), "NaN"),
        ("reparameterize", (rep_own_noise,), "use the eps you are given"),
        ("reparameterize", (rep_detached_logvar,), "no gradient reaches logvar"),
        ("gaussian_kl", (kl_wrong_sign,), "sign is wrong"),
        ("gaussian_kl", (kl_no_half,), "½ is missing"),
        ("gaussian_kl", (kl_sum_over_batch,), "sum over the batch"),
        ("gaussian_kl", (kl_mean_over_dims,), "averages over the latent dimensions"),
        ("gaussian_kl", (kl_per_sample,), "one per sample"),
        ("gaussian_kl", (kl_std_as_variance,), "needs the variance"),
        ("concat_condition", (concat_label_column,), "appends the label as one number"),
        ("lsgan_losses", (lsd_no_half, lsg_ok), "½ is missing"),
        ("lsgan_losses", (lsd_swapped, lsg_ok), "targets are swapped"),
        ("lsgan_losses", (lsd_abs, lsg_ok), "absolute error"),
        ("lsgan_losses", (lsd_sigmoid, lsg_ok), "no sigmoid"),
        ("lsgan_losses", (lsd_ok, lsg_target_zero), "pulls its scores to c = 1"),
    ],
)
def test_the_mistake_is_named(name, fns, words):
    with pytest.raises(CheckFailed, match=words):
        getattr(check, name)(*fns)


def test_a_check_that_draws_from_the_global_rng_puts_its_state_back():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    with pytest.raises(CheckFailed):
        check.reparameterize(rep_own_noise)  # draws from the global RNG; the check puts its state back
    torch.testing.assert_close(torch.rand(3), expected)


# ---- the references themselves, against independent computations


def test_reparameterize_reference_has_the_right_mean_and_std():
    g = torch.Generator().manual_seed(0)
    mu = torch.tensor([0.5, -2.0, 1.0], dtype=torch.float64)
    logvar = torch.tensor([-2.0, 0.0, 1.5], dtype=torch.float64)  # sigma = 0.37, 1, 2.12
    eps = torch.randn(200_000, 3, generator=g, dtype=torch.float64)
    z = check.reference_reparameterize(mu, logvar, eps)  # (200000, 3)
    se = logvar.mul(0.5).exp() / math.sqrt(len(z))
    assert (z.mean(dim=0) - mu).abs().max() < 5 * se.max()
    torch.testing.assert_close(z.std(dim=0), logvar.mul(0.5).exp(), rtol=0.01, atol=0)
    wrong = rep_exp_logvar(mu, logvar, eps).std(dim=0)  # the exp(logvar) bug: std sigma^2
    assert not torch.allclose(wrong, logvar.mul(0.5).exp(), rtol=0.05)


def test_gaussian_kl_reference_matches_torch_and_a_monte_carlo_estimate():
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(4, 3, generator=g, dtype=torch.float64)
    logvar = torch.rand(4, 3, generator=g, dtype=torch.float64) * 3 - 2
    closed = check.reference_gaussian_kl(mu, logvar)
    torch.testing.assert_close(closed, kl_distributions(mu, logvar))
    q = torch.distributions.Normal(mu, logvar.mul(0.5).exp())
    p = torch.distributions.Normal(torch.zeros_like(mu), torch.ones_like(mu))
    z = mu + logvar.mul(0.5).exp() * torch.randn(100_000, 4, 3, generator=g, dtype=torch.float64)  # (S, N, d)
    per_draw = (q.log_prob(z) - p.log_prob(z)).sum(dim=2).mean(dim=1)  # (S,): log q - log p, batch mean
    se = per_draw.std() / math.sqrt(len(per_draw))
    assert abs(per_draw.mean() - closed) < 4 * se
    assert 4 * se < 0.05 * closed  # the estimate is sharp enough to tell the mutants (factors 2, N, 1/d) apart


def test_acgan_and_lsgan_references_agree_with_the_course_losses():
    g = torch.Generator().manual_seed(2)
    r, f = torch.randn(8, generator=g) * 3, torch.randn(8, generator=g) * 3
    rc, fc = torch.randn(8, 5, generator=g), torch.randn(8, 5, generator=g)
    yr, yf = torch.randint(0, 5, (8,), generator=g), torch.randint(0, 5, (8,), generator=g)
    ce = -(F.log_softmax(rc, 1)[torch.arange(8), yr].mean() + F.log_softmax(fc, 1)[torch.arange(8), yf].mean())
    torch.testing.assert_close(check.reference_acgan_d_loss(r, f, rc, fc, yr, yf), losses.d_loss(r, f) + ce)
    torch.testing.assert_close(
        check.reference_acgan_g_loss(f, fc, yf),
        losses.g_loss_nonsaturating(f) - F.log_softmax(fc, 1)[torch.arange(8), yf].mean(),
    )
    torch.testing.assert_close(check.reference_lsgan_d_loss(r, f), lsd_ok(r, f))
    torch.testing.assert_close(check.reference_lsgan_g_loss(f), lsg_ok(f))
    with torch.no_grad():
        one_hot = check.reference_concat_condition(torch.zeros(3, 1), torch.tensor([2, 0, 1]), 3)
    torch.testing.assert_close(one_hot, torch.tensor([[0.0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]]))


def test_the_package_versions_pass_the_checks(capsys):
    """The lecture's package code (gancourse.conditional, gancourse.cvae) and the checks agree on each formula."""
    conditional = pytest.importorskip("gancourse.conditional")
    cvae = pytest.importorskip("gancourse.cvae")
    check.concat_condition(lambda x, y, n: torch.cat([x, conditional.one_hot(y, n).to(x.dtype)], dim=1))
    check.acgan_losses(conditional.acgan_d_loss, conditional.acgan_g_loss)
    check.reparameterize(cvae.reparameterize)
    check.gaussian_kl(cvae.gaussian_kl)
    assert capsys.readouterr().out.count("passed") == 4
