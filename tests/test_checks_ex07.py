"""Every check of assignment 07 passes the reference and rejects known-wrong implementations."""

import pytest
import torch
from checks_suite import suite

from gancourse import losses
from gancourse.checks import CheckFailed
from gancourse.checks import ex07 as check
from gancourse.wasserstein import gradient_penalty, interpolate


def interp_ok(x_real, x_fake, generator):
    alpha = torch.rand(len(x_real), generator=generator)
    return interpolate(x_real, x_fake, alpha)


def interp_per_element(x_real, x_fake, generator):  # an alpha for every coordinate: off the segment
    alpha = torch.rand(x_real.shape, generator=generator)
    return alpha * x_real + (1 - alpha) * x_fake


def interp_one_alpha(x_real, x_fake, generator):  # one alpha for the whole batch
    alpha = torch.rand(1, generator=generator)
    return alpha * x_real + (1 - alpha) * x_fake


def interp_randn(x_real, x_fake, generator):  # normal, not uniform on [0, 1]
    alpha = torch.randn(len(x_real), *([1] * (x_real.ndim - 1)), generator=generator)
    return alpha * x_real + (1 - alpha) * x_fake


def interp_global_rng(x_real, x_fake, generator):  # ignores the generator it is given
    alpha = torch.rand(len(x_real), *([1] * (x_real.ndim - 1)))
    return alpha * x_real + (1 - alpha) * x_fake


def interp_2d_only(x_real, x_fake, generator):  # alpha (N, 1): right for points, wrong for images
    alpha = torch.rand(len(x_real), 1, generator=generator)
    return alpha * x_real + (1 - alpha) * x_fake


def norm_ok(grad):
    return check.reference_norm(grad)


def norm_dim1(grad):  # the bug: a norm over the channels, one per pixel
    return grad.norm(2, dim=1)


def norm_naive_sqrt(grad):  # right values, NaN gradient at zero
    return grad.reshape(len(grad), -1).pow(2).sum(dim=1).sqrt()


def norm_whole_batch(grad):
    return grad.norm().expand(len(grad))


def norm_l1(grad):
    return grad.reshape(len(grad), -1).abs().sum(dim=1)


def _gp(critic, x_real, x_fake, alpha, *, dim1=False, create_graph=True, minus_one=True, sqrt=True):
    x_hat = interpolate(x_real, x_fake, alpha).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=create_graph)
    sq = grad.pow(2).sum(dim=1) if dim1 else grad.reshape(len(grad), -1).pow(2).sum(dim=1)
    norm = sq.clamp_min(1e-12).sqrt() if sqrt else sq
    return ((norm - (1 if minus_one else 0)) ** 2).mean()


def gp_ok(critic, x_real, x_fake, alpha):
    return gradient_penalty(critic, x_real, x_fake, alpha=alpha)


def gp_vector_norm(critic, x_real, x_fake, alpha):  # another right way: torch.linalg.vector_norm over flattened dims
    x_hat = interpolate(x_real, x_fake, alpha).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
    return ((torch.linalg.vector_norm(grad.flatten(1), dim=1) - 1) ** 2).mean()


def gp_dim1(critic, x_real, x_fake, alpha):
    return _gp(critic, x_real, x_fake, alpha, dim1=True)


def gp_no_create_graph(critic, x_real, x_fake, alpha):  # a number, not differentiable in the weights
    return _gp(critic, x_real, x_fake, alpha, create_graph=False)


def gp_no_minus_one(critic, x_real, x_fake, alpha):  # penalises any slope: ||grad||^2
    return _gp(critic, x_real, x_fake, alpha, minus_one=False)


def gp_squared_norm(critic, x_real, x_fake, alpha):  # (||grad||^2 - 1)^2
    return _gp(critic, x_real, x_fake, alpha, sqrt=False)


def gp_on_real(critic, x_real, x_fake, alpha):  # the penalty at the real points, not the interpolates
    return _gp(critic, x_real, x_fake, torch.ones_like(alpha))


def step_ok(critic, opt, x_real, x_fake, gp_weight, alpha):
    return check.reference_critic_step(critic, opt, x_real, x_fake, gp_weight, alpha)


def _step(critic, opt, x_real, x_fake, gp_weight, alpha, *, sign=1.0, weight=True, zero=True, clip=False):
    if zero:
        opt.zero_grad()
    gp = gradient_penalty(critic, x_real, x_fake, alpha=alpha)
    loss = losses.wgan_critic_loss(critic(x_real), critic(x_fake)) + sign * (gp_weight if weight else 1.0) * gp
    loss.backward()
    opt.step()
    if clip:
        with torch.no_grad():
            for p in critic.parameters():
                p.clamp_(-0.01, 0.01)
    return loss.detach()


def step_penalty_subtracted(*args):
    return _step(*args, sign=-1.0)


def step_no_weight(*args):
    return _step(*args, weight=False)


def step_no_zero_grad(*args):
    return _step(*args, zero=False)


def step_also_clips(*args):
    return _step(*args, clip=True)


def step_penalty_detached(critic, opt, x_real, x_fake, gp_weight, alpha):  # the penalty does not train the critic
    opt.zero_grad()
    gp = gradient_penalty(critic, x_real, x_fake, alpha=alpha).detach()
    loss = losses.wgan_critic_loss(critic(x_real), critic(x_fake)) + gp_weight * gp
    loss.backward()
    opt.step()
    return loss.detach()


CASES = {
    "interpolates": (
        (interp_ok,),
        [(interp_per_element,), (interp_one_alpha,), (interp_randn,), (interp_global_rng,), (interp_2d_only,)],
    ),
    "per_sample_norm": ((norm_ok,), [(norm_dim1,), (norm_naive_sqrt,), (norm_whole_batch,), (norm_l1,)]),
    "gradient_penalty": (
        (gp_ok,),
        [(gp_dim1,), (gp_no_create_graph,), (gp_no_minus_one,), (gp_squared_norm,), (gp_on_real,)],
    ),
    "critic_step": (
        (step_ok,),
        [
            (step_penalty_subtracted,),
            (step_no_weight,),
            (step_no_zero_grad,),
            (step_also_clips,),
            (step_penalty_detached,),
        ],
    ),
    "answer_tutorial_batches": ((4690,), [(5,), (938,), (4685,), (937,)]),
}


(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(check, CASES, "7")


@pytest.mark.parametrize(
    "fn",
    [gp_vector_norm, lambda critic, r, f, a: gradient_penalty(critic, f, r, alpha=1 - a)],
    ids=["vector_norm", "real-fake swapped with 1 - alpha"],
)
def test_other_right_answers_pass(fn, capsys):
    check.gradient_penalty(fn)
    assert "passed" in capsys.readouterr().out


def test_vector_norm_passes_the_norm_check(capsys):
    check.per_sample_norm(lambda g: torch.linalg.vector_norm(g.flatten(1), dim=1))
    assert "passed" in capsys.readouterr().out


def test_the_dim1_mutant_is_rejected_for_its_shape():
    with pytest.raises(CheckFailed, match="one norm per sample"):
        check.per_sample_norm(norm_dim1)
    with pytest.raises(CheckFailed, match="conv critic on images"):
        check.gradient_penalty(gp_dim1)


def test_the_missing_create_graph_is_named():
    with pytest.raises(CheckFailed, match="create_graph=True"):
        check.gradient_penalty(gp_no_create_graph)


def test_the_batch_count_matches_a_dataloader():
    data = torch.utils.data.TensorDataset(torch.zeros(1000, 2))
    loader = torch.utils.data.DataLoader(data, batch_size=64)
    assert check.tutorial_batches(1000, 64, 5) == 5 * len(loader) == 5 * 16


def test_a_check_that_draws_from_the_global_rng_puts_its_state_back():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    with pytest.raises(CheckFailed):
        check.interpolates(interp_global_rng)
    torch.testing.assert_close(torch.rand(3), expected)
