"""Every check of assignment 06 passes the reference and rejects known-wrong implementations."""

import pytest
import torch
import torch.nn.functional as F
from checks_suite import suite

from gancourse import losses
from gancourse.checks import CheckFailed
from gancourse.checks import ex06 as check
from gancourse.wasserstein import clip_weights_


def critic_ok(r, f):
    return f.mean() - r.mean()


def critic_swapped(r, f):  # the sign of the gap: the critic would rate fakes high
    return r.mean() - f.mean()


def critic_sums(r, f):  # sums, not means: wrong when the batches differ in size
    return f.sum() - r.sum()


def critic_bce(r, f):  # the GAN's discriminator loss on the scores
    return F.binary_cross_entropy_with_logits(r, torch.ones_like(r)) + F.binary_cross_entropy_with_logits(
        f, torch.zeros_like(f)
    )


def critic_detached(r, f):  # a number with no gradient
    return torch.tensor((f.mean() - r.mean()).item())


def g_ok(f):
    return -f.mean()


def clip_ok(model, c):
    clip_weights_(model, c)


def clip_linear_weights_only(model, c):  # skips biases, conv layers and free parameters
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Linear):
                m.weight.clamp_(-c, c)


def clip_weights_not_biases(model, c):
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("weight"):
                p.clamp_(-c, c)


def clip_rebinds(model, c):  # a new tensor bound to a local name: the model is unchanged
    for p in model.parameters():
        p = p.clamp(-c, c)


def clip_without_no_grad(model, c):  # autograd refuses an in-place change of a leaf that requires grad
    for p in model.parameters():
        p.clamp_(-c, c)


def clip_toggles_requires_grad(model, c):  # works, but leaves the critic untrainable
    for p in model.parameters():
        p.requires_grad_(False)
        p.clamp_(-c, c)


def clip_new_parameters(model, c):  # replaces every parameter: the optimiser keeps training the old ones
    for module in list(model.modules()):
        for name, p in list(module.named_parameters(recurse=False)):
            setattr(module, name, torch.nn.Parameter(p.detach().clamp(-c, c)))


def clip_out_argument(model, c):  # out=p on a parameter that requires grad, outside no_grad: autograd refuses
    for p in model.parameters():
        torch.clamp(p, -c, c, out=p)


def clip_data_assignment(model, c):  # also right: the same Parameter objects get new data
    for p in model.parameters():
        p.data = p.data.clamp(-c, c)


def clip_half_range(model, c):  # clamps to [0, c]
    with torch.no_grad():
        for p in model.parameters():
            p.clamp_(0, c)


def cstep_ok(critic, opt, x_real, x_fake, clip):
    return check.reference_critic_step(critic, opt, x_real, x_fake, clip)


def cstep_no_clip(critic, opt, x_real, x_fake, clip):
    opt.zero_grad()
    loss = losses.wgan_critic_loss(critic(x_real), critic(x_fake))
    loss.backward()
    opt.step()
    return loss.detach()


def cstep_clip_first(critic, opt, x_real, x_fake, clip):  # clipping before the step leaves |w| > c
    opt.zero_grad()
    clip_weights_(critic, clip)
    loss = losses.wgan_critic_loss(critic(x_real), critic(x_fake))
    loss.backward()
    opt.step()
    return loss.detach()


def cstep_wrong_sign(critic, opt, x_real, x_fake, clip):
    opt.zero_grad()
    loss = critic(x_real).mean() - critic(x_fake).mean()
    loss.backward()
    opt.step()
    clip_weights_(critic, clip)
    return loss.detach()


def cstep_no_zero_grad(critic, opt, x_real, x_fake, clip):
    loss = losses.wgan_critic_loss(critic(x_real), critic(x_fake))
    loss.backward()
    opt.step()
    clip_weights_(critic, clip)
    return loss.detach()


def cstep_linear_weights_only(critic, opt, x_real, x_fake, clip):
    opt.zero_grad()
    loss = losses.wgan_critic_loss(critic(x_real), critic(x_fake))
    loss.backward()
    opt.step()
    clip_linear_weights_only(critic, clip)
    return loss.detach()


def gstep_ok(G, critic, opt_G, z):
    return check.reference_generator_step(G, critic, opt_G, z)


def gstep_wrong_sign(G, critic, opt_G, z):
    opt_G.zero_grad()
    loss = critic(G(z)).mean()
    loss.backward()
    opt_G.step()
    return loss.detach()


def gstep_detached(G, critic, opt_G, z):  # no gradient reaches G
    opt_G.zero_grad()
    loss = -critic(G(z).detach()).mean()
    loss.backward()
    opt_G.step()
    return loss.detach()


def gstep_no_zero_grad(G, critic, opt_G, z):
    loss = -critic(G(z)).mean()
    loss.backward()
    opt_G.step()
    return loss.detach()


def gstep_freezes_critic_forever(G, critic, opt_G, z):  # the critic stays frozen for its next step
    critic.requires_grad_(False)
    opt_G.zero_grad()
    loss = -critic(G(z)).mean()
    loss.backward()
    opt_G.step()
    return loss.detach()


def gstep_leaves_critic_in_eval(G, critic, opt_G, z):
    critic.eval()
    opt_G.zero_grad()
    loss = -critic(G(z)).mean()
    loss.backward()
    opt_G.step()
    return loss.detach()


def gstep_freezes_critic_for_g_only(G, critic, opt_G, z):  # also right: frozen (and in eval) for G's step only
    critic.requires_grad_(False)
    critic.eval()
    opt_G.zero_grad()
    loss = -critic(G(z)).mean()
    loss.backward()
    opt_G.step()
    critic.requires_grad_(True)
    critic.train()
    return loss.detach()


def gstep_steps_the_critic(G, critic, opt_G, z):
    opt_D = torch.optim.SGD(critic.parameters(), lr=0.1)
    opt_G.zero_grad()
    opt_D.zero_grad()
    loss = -critic(G(z)).mean()
    loss.backward()
    opt_G.step()
    opt_D.step()
    return loss.detach()


BOUND = 0.01 * 16 * 0.01 * 128 * 0.01 * 128**0.5  # c*sqrt(2*128) * c*sqrt(128*128) * c*sqrt(128*1)

CASES = {
    "wgan_losses": (
        (critic_ok, g_ok),
        [
            (critic_swapped, g_ok),
            (critic_sums, g_ok),
            (critic_bce, g_ok),
            (critic_detached, g_ok),
            (critic_ok, lambda f: f.mean()),  # the generator's sign
            (critic_ok, lambda f: -f.sum()),
        ],
    ),
    "clip_weights": (
        (clip_ok,),
        [
            (clip_linear_weights_only,),
            (clip_weights_not_biases,),
            (clip_rebinds,),
            (clip_without_no_grad,),
            (clip_toggles_requires_grad,),
            (clip_new_parameters,),
            (clip_half_range,),
            (clip_out_argument,),
        ],
    ),
    "critic_step": (
        (cstep_ok,),
        [
            (cstep_no_clip,),
            (cstep_clip_first,),
            (cstep_wrong_sign,),
            (cstep_no_zero_grad,),
            (cstep_linear_weights_only,),
        ],
    ),
    "generator_step": (
        (gstep_ok,),
        [
            (gstep_wrong_sign,),
            (gstep_detached,),
            (gstep_no_zero_grad,),
            (gstep_steps_the_critic,),
            (gstep_freezes_critic_forever,),
            (gstep_leaves_critic_in_eval,),
        ],
    ),
    "answer_lipschitz_bound": ((BOUND,), [(0.01**3,), (0.01**3 * 2 * 128 * 128,), (0.01**3 * 128 * 128,)]),
}


(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(check, CASES, "6")


def test_the_bound_is_reached_by_an_all_c_critic():
    """The check's answer is tight: a critic with every weight +c has exactly that gradient norm."""
    c = 0.01
    critic = torch.nn.Sequential(
        torch.nn.Linear(2, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1)
    )
    with torch.no_grad():
        for p in critic.parameters():
            p.fill_(c)
    x = torch.ones(1, 2, requires_grad=True)
    (grad,) = torch.autograd.grad(critic(x).sum(), x)
    assert abs(grad.norm().item() - check.lipschitz_bound((2, 128, 128, 1), c)) < 1e-6
    assert abs(check.lipschitz_bound((2, 128, 128, 1), c) - BOUND) < 1e-12


@pytest.mark.parametrize("right", [clip_data_assignment, gstep_freezes_critic_for_g_only], ids=lambda f: f.__name__)
def test_other_right_answers_pass(right, capsys):
    if right is clip_data_assignment:
        check.clip_weights(right)
    else:
        check.generator_step(right)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("wrong", [clip_without_no_grad, clip_out_argument], ids=lambda f: f.__name__)
def test_autograd_errors_in_clipping_fail_with_a_hint(wrong):
    with pytest.raises(CheckFailed, match=r"(?s)clipping raised RuntimeError.*Hint: .*torch.no_grad\(\)"):
        check.clip_weights(wrong)


@pytest.mark.parametrize(
    "wrong, says",
    [(gstep_freezes_critic_forever, "no longer require grad"), (gstep_leaves_critic_in_eval, "eval mode")],
)
def test_a_generator_step_that_leaves_the_critic_untrainable_is_told_why(wrong, says):
    with pytest.raises(CheckFailed, match=says):
        check.generator_step(wrong)
