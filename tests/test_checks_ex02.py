"""The checks of assignment 02 pass the reference solutions and reject known-wrong implementations."""

from __future__ import annotations

import math

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


def saturating_grad_norm_ref(G, D, z):
    loss = F.logsigmoid(-D(G(z))).mean()
    grads = torch.autograd.grad(loss, list(G.parameters()))
    return torch.sqrt(sum((g**2).sum() for g in grads)).item()


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


def grad_norm_non_saturating(G, D, z):
    loss = -F.logsigmoid(D(G(z))).mean()
    grads = torch.autograd.grad(loss, list(G.parameters()))
    return torch.sqrt(sum((g**2).sum() for g in grads)).item()


def grad_norm_sum(G, D, z):
    loss = F.logsigmoid(-D(G(z))).sum()
    grads = torch.autograd.grad(loss, list(G.parameters()))
    return torch.sqrt(sum((g**2).sum() for g in grads)).item()


def grad_norm_squared(G, D, z):
    return saturating_grad_norm_ref(G, D, z) ** 2


def grad_norm_first_layer(G, D, z):
    loss = F.logsigmoid(-D(G(z))).mean()
    (grad,) = torch.autograd.grad(loss, [next(G.parameters())])
    return grad.norm().item()


def grad_norm_accumulates(G, D, z):
    loss = F.logsigmoid(-D(G(z))).mean()
    loss.backward()  # .grad is never zeroed: the second call reports twice the gradient
    return torch.sqrt(sum((p.grad**2).sum() for p in G.parameters())).item()


def grad_norm_steps(G, D, z):
    value = saturating_grad_norm_ref(G, D, z)
    with torch.no_grad():
        for p in G.parameters():
            p.sub_(1e-3)  # a stray optimiser step
    return value


def grad_norm_of_d(G, D, z):
    loss = F.logsigmoid(-D(G(z))).mean()
    grads = torch.autograd.grad(loss, list(D.parameters()))  # D's parameters, not G's
    return torch.sqrt(sum((g**2).sum() for g in grads)).item()


# ----------------------------------------------------------------------------- tests

CASES = {
    "optimal_d": ((optimal_d_ref,), [(optimal_d_swapped,), (optimal_d_ratio,), (optimal_d_scalar_only,)]),
    "gan_value": (
        (gan_value_ref,),
        [(gan_value_log_d_fake,), (gan_value_sum,), (gan_value_loss_sign,), (gan_value_numpy,)],
    ),
    "value_at_optimum": (
        (value_at_optimum_ref,),
        [(value_d_half,), (value_no_fake_term,), (value_is_js,), (value_log2,)],
    ),
    "saturating_grad_norm": (
        (saturating_grad_norm_ref,),
        [
            (grad_norm_non_saturating,),
            (grad_norm_sum,),
            (grad_norm_squared,),
            (grad_norm_first_layer,),
            (grad_norm_accumulates,),
            (grad_norm_steps,),
            (grad_norm_of_d,),
        ],
    ),
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


def test_gradient_ratio_answer():
    ex02.answer_gradient_ratio(99.0)
    ex02.answer_gradient_ratio(torch.tensor(99.01))
    for wrong in [100.0, 1 / 99, 0.99, 1.0, 0.01]:
        with pytest.raises(CheckFailed, match="Exercise 2.5"):
            ex02.answer_gradient_ratio(wrong)
