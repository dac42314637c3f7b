"""Every check of assignment 05 passes the reference and rejects known-wrong implementations."""

import pytest
import torch
import torch.nn.functional as F
from checks_suite import suite

from gancourse import losses, nets
from gancourse.checks import CheckFailed
from gancourse.checks import ex05 as check

bce = F.binary_cross_entropy_with_logits


def d_ok(r, f):
    return bce(r, torch.ones_like(r)) + bce(f, torch.zeros_like(f))


def d_naive(r, f):  # log(sigmoid) overflows for confident D
    return -(torch.sigmoid(r).log().mean() + (1 - torch.sigmoid(f)).log().mean())


def d_swapped(r, f):  # real and fake targets exchanged
    return bce(r, torch.zeros_like(r)) + bce(f, torch.ones_like(f))


def d_no_fake(r, f):
    return bce(r, torch.ones_like(r))


def d_sum(r, f):
    return F.binary_cross_entropy_with_logits(r, torch.ones_like(r), reduction="sum") + bce(f, torch.zeros_like(f))


def smooth_ok(r, f, s):
    return losses.d_loss(r, f, real_label=1 - s)


def smooth_two_sided(r, f, s):
    return bce(r, torch.full_like(r, 1 - s)) + bce(f, torch.full_like(f, s))


def smooth_wrong_target(r, f, s):  # target s instead of 1 - s
    return bce(r, torch.full_like(r, s)) + bce(f, torch.zeros_like(f))


def smooth_ignored(r, f, s):
    return losses.d_loss(r, f)


def mbstd_ok(h):
    return nets.MinibatchStd()(h)


def mbstd_unbiased(h):
    std = torch.sqrt(h.var(dim=0, unbiased=True) + 1e-8)
    return torch.cat([h, std.mean().expand(len(h), 1)], 1)


def mbstd_over_features(h):
    std = torch.sqrt(h.var(dim=1, unbiased=False) + 1e-8)  # (N,) per sample, not per feature
    return torch.cat([h, std[:, None]], 1)


def mbstd_not_appended(h):
    return h


def step_ok(G, D, opt_G, opt_D, x, z):
    return check._reference_step(G, D, opt_G, opt_D, x, z)


def step_no_zero_grad(G, D, opt_G, opt_D, x, z):
    loss_d = losses.d_loss(D(x), D(G(z).detach()))
    loss_d.backward()
    opt_D.step()
    loss_g = losses.g_loss_nonsaturating(D(G(z)))
    loss_g.backward()
    opt_G.step()
    return loss_d, loss_g


def step_saturating(G, D, opt_G, opt_D, x, z):
    opt_D.zero_grad()
    loss_d = losses.d_loss(D(x), D(G(z).detach()))
    loss_d.backward()
    opt_D.step()
    opt_G.zero_grad()
    loss_g = losses.g_loss_saturating(D(G(z)))
    loss_g.backward()
    opt_G.step()
    return loss_d, loss_g


def step_g_first(G, D, opt_G, opt_D, x, z):
    opt_G.zero_grad()
    loss_g = losses.g_loss_nonsaturating(D(G(z)))
    loss_g.backward()
    opt_G.step()
    opt_D.zero_grad()
    loss_d = losses.d_loss(D(x), D(G(z).detach()))
    loss_d.backward()
    opt_D.step()
    return loss_d, loss_g


def step_no_detach(G, D, opt_G, opt_D, x, z):  # D's loss backpropagates into G, and G steps on it
    opt_D.zero_grad()
    opt_G.zero_grad()
    loss_d = losses.d_loss(D(x), D(G(z)))
    loss_d.backward()
    opt_D.step()
    loss_g = losses.g_loss_nonsaturating(D(G(z)))
    loss_g.backward()
    opt_G.step()
    return loss_d, loss_g


def step_freezes_d_forever(G, D, opt_G, opt_D, x, z):  # D frozen for G's step and never unfrozen: D stops learning
    opt_D.zero_grad()
    loss_d = losses.d_loss(D(x), D(G(z).detach()))
    loss_d.backward()
    opt_D.step()
    D.requires_grad_(False)
    opt_G.zero_grad()
    loss_g = losses.g_loss_nonsaturating(D(G(z)))
    loss_g.backward()
    opt_G.step()
    return loss_d, loss_g


def step_leaves_d_in_eval(G, D, opt_G, opt_D, x, z):  # D switched to eval for G's step and left there
    opt_D.zero_grad()
    loss_d = losses.d_loss(D(x), D(G(z).detach()))
    loss_d.backward()
    opt_D.step()
    D.eval()
    opt_G.zero_grad()
    loss_g = losses.g_loss_nonsaturating(D(G(z)))
    loss_g.backward()
    opt_G.step()
    return loss_d, loss_g


def step_freezes_d_for_g_only(G, D, opt_G, opt_D, x, z):  # also right: D frozen for G's step, then unfrozen
    opt_D.zero_grad()
    loss_d = losses.d_loss(D(x), D(G(z).detach()))
    loss_d.backward()
    opt_D.step()
    D.requires_grad_(False)
    D.eval()
    opt_G.zero_grad()
    loss_g = losses.g_loss_nonsaturating(D(G(z)))
    loss_g.backward()
    opt_G.step()
    D.requires_grad_(True)
    D.train()
    return loss_d, loss_g


CASES = {
    "d_loss": ((d_ok,), [(d_naive,), (d_swapped,), (d_no_fake,), (d_sum,)]),
    "g_losses": (
        (lambda f: -F.softplus(f).mean(), lambda f: F.softplus(-f).mean()),
        [
            (lambda f: F.softplus(-f).mean(), lambda f: -F.softplus(f).mean()),  # swapped
            (lambda f: F.softplus(f).mean(), lambda f: F.softplus(-f).mean()),  # sign of the saturating loss
            (lambda f: (1 - torch.sigmoid(f)).log().mean(), lambda f: -torch.sigmoid(f).log().mean()),  # unstable
        ],
    ),
    "smoothed_d_loss": ((smooth_ok,), [(smooth_two_sided,), (smooth_wrong_target,), (smooth_ignored,)]),
    "minibatch_std": ((mbstd_ok,), [(mbstd_unbiased,), (mbstd_over_features,), (mbstd_not_appended,)]),
    "train_step": (
        (step_ok,),
        [
            (step_no_zero_grad,),
            (step_saturating,),
            (step_g_first,),
            (step_no_detach,),
            (step_freezes_d_forever,),
            (step_leaves_d_in_eval,),
        ],
    ),
    "answer_smoothed_optimum": ((0.45,), [(0.5,), (0.9,), (0.55,)]),
}


(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(check, CASES, "5")


def test_freezing_d_for_gs_step_and_unfreezing_it_passes(capsys):
    check.train_step(step_freezes_d_for_g_only)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "wrong, says", [(step_freezes_d_forever, "no longer require grad"), (step_leaves_d_in_eval, "eval mode")]
)
def test_a_step_that_leaves_d_untrainable_is_told_why(wrong, says):
    with pytest.raises(CheckFailed, match=says):
        check.train_step(wrong)
