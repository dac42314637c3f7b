"""The checks of assignment 02 pass the reference solutions and reject known-wrong implementations."""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from checks_suite import suite
from scipy import integrate

from gancourse.checks import CheckFailed, ex02

# ----------------------------------------------------------------------------- reference solutions


def optimal_d_ref(p_real, p_fake):
    return p_real / (p_real + p_fake)


def gan_value_ref(d_real, d_fake):
    return torch.log(d_real).mean() + torch.log1p(-d_fake).mean()


def _quad_value(p_real, p_fake, lo, hi, terms):
    def integrand(x):
        a, b = float(p_real(x)), float(p_fake(x))
        return terms(a, b)

    return integrate.quad(integrand, lo, hi, limit=200)[0]


def _v_star_terms(a, b):
    real = a * math.log(a / (a + b)) if a > 0 else 0.0
    fake = b * math.log(b / (a + b)) if b > 0 else 0.0
    return real + fake


def value_at_optimum_ref(p_real, p_fake, lo, hi):
    return _quad_value(p_real, p_fake, lo, hi, _v_star_terms)


def saturating_grad_norm_ref(G, D, z, *, non_saturating=False, reduce=torch.mean, of="G", squared=False):
    loss = -reduce(F.logsigmoid(D(G(z)))) if non_saturating else reduce(F.logsigmoid(-D(G(z))))
    params = {"G": list(G.parameters()), "D": list(D.parameters()), "G's first layer": [next(G.parameters())]}[of]
    grads = torch.autograd.grad(loss, params)
    norm = torch.sqrt(sum((g**2).sum() for g in grads)).item()
    return norm**2 if squared else norm


# ----------------------------------------------------------------------------- mutants


def optimal_d_swapped(p_real, p_fake):
    return p_fake / (p_real + p_fake)


def optimal_d_ratio(p_real, p_fake):
    return p_real / p_fake


def optimal_d_scalar_only(p_real, p_fake):
    return float(np.mean(p_real)) / float(np.mean(p_real) + np.mean(p_fake))  # loses the shape


def gan_value_log_d_fake(d_real, d_fake):
    return torch.log(d_real).mean() + torch.log(d_fake).mean()


def gan_value_sum(d_real, d_fake):
    return torch.log(d_real).sum() + torch.log1p(-d_fake).sum()


def gan_value_loss_sign(d_real, d_fake):
    return -gan_value_ref(d_real, d_fake)  # the discriminator's loss, not V


def gan_value_numpy(d_real, d_fake):
    d_real, d_fake = d_real.detach().numpy(), d_fake.detach().numpy()
    return float(np.log(d_real).mean() + np.log1p(-d_fake).mean())  # right number, no gradient


def value_d_half(p_real, p_fake, lo, hi):
    return _quad_value(p_real, p_fake, lo, hi, lambda a, b: (a + b) * math.log(0.5))  # D = ½ everywhere


def value_no_fake_term(p_real, p_fake, lo, hi):
    return _quad_value(p_real, p_fake, lo, hi, lambda a, b: a * math.log(a / (a + b)) if a > 0 else 0.0)


def value_is_js(p_real, p_fake, lo, hi):
    return (value_at_optimum_ref(p_real, p_fake, lo, hi) + 2 * math.log(2)) / 2  # JS itself


def value_log2(p_real, p_fake, lo, hi):
    return value_at_optimum_ref(p_real, p_fake, lo, hi) / math.log(2)


def value_ignores_the_interval(p_real, p_fake, lo, hi):  # over all the mass, whatever [lo, hi] it is given
    return value_at_optimum_ref(p_real, p_fake, -20, 20)


def grad_norm_accumulates(G, D, z):
    loss = F.logsigmoid(-D(G(z))).mean()
    loss.backward()  # .grad is never zeroed: the second call reports twice the gradient
    return torch.sqrt(sum((p.grad**2).sum() for p in G.parameters())).item()


def grad_norm_leaves_d_grads(G, D, z):
    G.zero_grad()  # G's .grad is fresh at every call, but backward() fills D's as well and nothing clears them
    loss = F.logsigmoid(-D(G(z))).mean()
    loss.backward()
    norm = torch.sqrt(sum((p.grad**2).sum() for p in G.parameters())).item()
    G.zero_grad()
    return norm


def grad_norm_leaves_g_grads(G, D, z):
    G.zero_grad()  # right at every call, but the last call's gradients stay in G's .grad
    loss = F.logsigmoid(-D(G(z))).mean()
    grads = torch.autograd.grad(loss, list(G.parameters()))
    for p, g in zip(G.parameters(), grads):
        p.grad = g.clone()
    return torch.sqrt(sum((g**2).sum() for g in grads)).item()


def gradient_ratio_ref(d):
    return (1 - d) / d


def ratio_copied(d):  # the number the assignment's cell prints at d = 0.01
    return 99.0


def ratio_inverted(d):
    return d / (1 - d)


def ratio_signed(d):  # the two gradients themselves are both negative: their ratio is positive
    return -(1 - d) / d


def ratio_one_over_d(d):  # the small-d approximation
    return 1 / d


def grad_norm_steps(G, D, z):
    value = saturating_grad_norm_ref(G, D, z)
    with torch.no_grad():
        for p in G.parameters():
            p.sub_(1e-3)  # a stray optimiser step
    return value


# ----------------------------------------------------------------------------- tests

CASES = {
    "optimal_d": ((optimal_d_ref,), [(optimal_d_swapped,), (optimal_d_ratio,), (optimal_d_scalar_only,)]),
    "gan_value": (
        (gan_value_ref,),
        [(gan_value_log_d_fake,), (gan_value_sum,), (gan_value_loss_sign,), (gan_value_numpy,)],
    ),
    "value_at_optimum": (
        (value_at_optimum_ref,),
        [
            (value_d_half,),
            (value_no_fake_term,),
            (value_is_js,),
            (value_log2,),
            (value_ignores_the_interval,),
        ],
    ),
    "saturating_grad_norm": (
        (saturating_grad_norm_ref,),
        [
            (partial(saturating_grad_norm_ref, non_saturating=True),),
            (partial(saturating_grad_norm_ref, reduce=torch.sum),),
            (partial(saturating_grad_norm_ref, squared=True),),
            (partial(saturating_grad_norm_ref, of="G's first layer"),),
            (grad_norm_accumulates,),
            (grad_norm_steps,),
            (partial(saturating_grad_norm_ref, of="D"),),  # D's parameters, not G's
            (grad_norm_leaves_d_grads,),
            (grad_norm_leaves_g_grads,),
        ],
    ),
    "gradient_ratio": ((gradient_ratio_ref,), [(ratio_copied,), (ratio_inverted,), (ratio_one_over_d,)]),
}

(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(ex02, CASES, "2")


def test_package_functions_pass():
    from gancourse import discriminator

    ex02.optimal_d(discriminator.optimal_discriminator)
    ex02.value_at_optimum(discriminator.optimal_value)


def test_accumulation_message():
    with pytest.raises(CheckFailed, match="accumulate"):
        ex02.saturating_grad_norm(grad_norm_accumulates)


def test_messages_name_the_mistake():
    with pytest.raises(CheckFailed, match=r"left gradients in the .grad of D[\s\S]*accumulates"):
        ex02.saturating_grad_norm(grad_norm_leaves_d_grads)
    with pytest.raises(CheckFailed, match=r"moved right by 50, on \[30, 70\][\s\S]*the interval you are given"):
        ex02.value_at_optimum(value_ignores_the_interval)
    with pytest.raises(CheckFailed, match=r"gradient_ratio\(0.3\)"):  # the printed value alone passes nothing
        ex02.gradient_ratio(lambda d: 99.0 if d == 0.01 else 0.0)


def test_gradient_ratio_rejects_a_signed_ratio():
    with pytest.raises(CheckFailed, match="Exercise 2.5"):
        ex02.gradient_ratio(ratio_signed)


def test_other_right_answers_pass():
    """A stabilising epsilon in D*'s denominator, float32 arithmetic, and autograd for the ratio are right too."""
    ex02.optimal_d(lambda p_real, p_fake: p_real / (p_real + p_fake + 1e-8))
    ex02.optimal_d(lambda p_real, p_fake: torch.as_tensor(p_real).float() / torch.as_tensor(p_real + p_fake).float())
    ex02.gan_value(lambda d_real, d_fake: gan_value_ref(d_real.float(), d_fake.float()))

    def ratio_by_autograd(d):
        logit = torch.logit(torch.tensor(d, dtype=torch.float64)).requires_grad_(True)
        (saturating,) = torch.autograd.grad(F.logsigmoid(-logit), logit)
        (non_saturating,) = torch.autograd.grad(-F.logsigmoid(logit), logit)
        return (non_saturating / saturating).item()

    ex02.gradient_ratio(ratio_by_autograd)
    ex02.saturating_grad_norm(_grad_norm_by_backward_cleaned_up)


def _grad_norm_by_backward_cleaned_up(G, D, z):
    loss = F.logsigmoid(-D(G(z))).mean()
    loss.backward()
    norm = torch.sqrt(sum((p.grad**2).sum() for p in G.parameters())).item()
    G.zero_grad(set_to_none=True)
    D.zero_grad(set_to_none=False)  # zeros left behind add nothing: accepted
    return norm
