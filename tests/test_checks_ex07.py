"""Every check of assignment 07 passes the reference and rejects known-wrong implementations."""

from functools import partial

import pytest
import torch
from checks_suite import suite

from gancourse import losses
from gancourse.checks import CheckFailed
from gancourse.checks import ex07 as check
from gancourse.wasserstein import gradient_penalty, interpolate


def interp(x_real, x_fake, generator, *, alpha_shape="per sample", draw=torch.rand, own_generator=True):
    shapes = {
        "per sample": (len(x_real), *[1] * (x_real.ndim - 1)),  # (N, 1, ..., 1): the right one
        "per element": x_real.shape,  # an alpha for every coordinate: off the segment
        "one": (1,),  # one alpha for the whole batch
        "(N, 1)": (len(x_real), 1),  # right for points, wrong for images
    }
    alpha = draw(shapes[alpha_shape], generator=generator if own_generator else None)
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


def gp(critic, x_real, x_fake, alpha, *, dim1=False, create_graph=True, minus_one=True, sqrt=True, on_real=False):
    if on_real:  # the penalty at the real points, not the interpolates
        alpha = torch.ones_like(alpha)
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


def step_ok(critic, opt, x_real, x_fake, gp_weight, alpha):
    return check.reference_critic_step(critic, opt, x_real, x_fake, gp_weight, alpha)


def step(critic, opt, x_real, x_fake, gp_weight, alpha, *, sign=1.0, weight=True, zero=True, clip=False, detach=False):
    if zero:
        opt.zero_grad()
    gp = gradient_penalty(critic, x_real, x_fake, alpha=alpha)
    if detach:  # the penalty does not train the critic
        gp = gp.detach()
    loss = losses.wgan_critic_loss(critic(x_real), critic(x_fake)) + sign * (gp_weight if weight else 1.0) * gp
    loss.backward()
    opt.step()
    if clip:
        with torch.no_grad():
            for p in critic.parameters():
                p.clamp_(-0.01, 0.01)
    return loss.detach()


CASES = {
    "interpolates": (
        (interp,),
        [
            (partial(interp, alpha_shape="per element"),),
            (partial(interp, alpha_shape="one"),),
            (partial(interp, draw=torch.randn),),  # normal, not uniform on [0, 1]
            (partial(interp, own_generator=False),),  # ignores the generator it is given
            (partial(interp, alpha_shape="(N, 1)"),),
        ],
    ),
    "per_sample_norm": ((norm_ok,), [(norm_dim1,), (norm_naive_sqrt,), (norm_whole_batch,), (norm_l1,)]),
    "gradient_penalty": (
        (gp_ok,),
        [
            (partial(gp, dim1=True),),  # a norm over the channels only, one per pixel
            (partial(gp, create_graph=False),),  # a number, not differentiable in the weights
            (partial(gp, minus_one=False),),  # penalises any slope: ||grad||^2
            (partial(gp, sqrt=False),),  # (||grad||^2 - 1)^2
            (partial(gp, on_real=True),),
        ],
    ),
    "critic_step": (
        (step_ok,),
        [
            (partial(step, sign=-1.0),),  # the penalty subtracted
            (partial(step, weight=False),),
            (partial(step, zero=False),),
            (partial(step, clip=True),),  # WGAN's clipping on top of the penalty
            (partial(step, detach=True),),
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
        check.gradient_penalty(partial(gp, dim1=True))


def test_the_missing_create_graph_is_named():
    with pytest.raises(CheckFailed, match="create_graph=True"):
        check.gradient_penalty(partial(gp, create_graph=False))


def test_the_batch_count_matches_a_dataloader():
    data = torch.utils.data.TensorDataset(torch.zeros(1000, 2))
    loader = torch.utils.data.DataLoader(data, batch_size=64)
    assert check.tutorial_batches(1000, 64, 5) == 5 * len(loader) == 5 * 16


def test_a_check_that_draws_from_the_global_rng_puts_its_state_back():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    with pytest.raises(CheckFailed):
        check.interpolates(partial(interp, own_generator=False))
    torch.testing.assert_close(torch.rand(3), expected)
