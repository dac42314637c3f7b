"""Every check of assignment 08 passes the reference and rejects known-wrong implementations."""

import os
from functools import partial
from pathlib import Path

import pytest
import torch
from checks_suite import suite
from torch import nn, serialization
from torch import save as imported_save  # a student's `from torch import save`

from gancourse import dcgan
from gancourse.checks import CheckFailed
from gancourse.checks import ex08 as check

# ---- 8.1 the output size of a transposed convolution


def convt_ok(size, k, s=1, p=0, op=0):
    return (size - 1) * s - 2 * p + k + op


def convt_conv_formula(size, k, s=1, p=0, op=0):  # the forward convolution's size instead
    return (size + 2 * p - k) // s + 1


def convt_plus_padding(size, k, s=1, p=0, op=0):  # padding added instead of removed
    return (size - 1) * s + 2 * p + k + op


def convt_times_stride(size, k, s=1, p=0, op=0):  # right for DCGAN's 7 -> 14 -> 28 only
    return size * s


def convt_no_output_padding(size, k, s=1, p=0, op=0):
    return (size - 1) * s - 2 * p + k


def convt_float(size, k, s=1, p=0, op=0):
    return float((size - 1) * s - 2 * p + k + op)


# ---- 8.2 the generator's layer stack


def stack(
    latent_dim, w, *, bias=False, out_bn=False, padding=1, act=nn.ReLU, out=nn.Tanh, first_kernel=4, act_first=False
):
    def norm_and_act(channels):  # the recipe: batch norm, then the activation
        return [act(), nn.BatchNorm2d(channels)] if act_first else [nn.BatchNorm2d(channels), act()]

    layers = [
        nn.Linear(latent_dim, 2 * w * 7 * 7, bias=bias),
        nn.Unflatten(1, (2 * w, 7, 7)),
        *norm_and_act(2 * w),
        nn.ConvTranspose2d(2 * w, w, first_kernel, stride=2, padding=padding, bias=bias),
        *norm_and_act(w),
        nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1),
    ]
    if out_bn:
        layers.append(nn.BatchNorm2d(1))
    if out is not None:
        layers.append(out())
    return nn.Sequential(*layers)


def leaky_relu():
    return nn.LeakyReLU(0.2)


class ReorderedGenerator(nn.Module):
    """A valid alternative: the recipe's layers registered in another order, run in the recipe's order."""

    def __init__(self, latent_dim, w):
        super().__init__()
        self.out = nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1)
        self.bn2, self.bn1 = nn.BatchNorm2d(w), nn.BatchNorm2d(2 * w)
        self.up = nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1, bias=False)
        self.project = nn.Linear(latent_dim, 2 * w * 7 * 7, bias=False)
        self.w = w

    def forward(self, z):
        h = torch.relu(self.bn1(self.project(z).view(-1, 2 * self.w, 7, 7)))
        return torch.tanh(self.out(torch.relu(self.bn2(self.up(h)))))


class ConvProjection(nn.Module):
    """A valid alternative: project z with a 7x7 transposed convolution from a 1x1 'image'."""

    def __init__(self, latent_dim, w):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(latent_dim, 2 * w, 7, bias=False),  # (N, 2w, 7, 7)
            nn.BatchNorm2d(2 * w),
            nn.ReLU(),
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(w),
            nn.ReLU(),
            nn.ConvTranspose2d(w, 1, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z[:, :, None, None])


# ---- 8.3 DCGAN init


def init(
    model,
    *,
    uniform=False,
    std=0.02,
    bn_mean=1.0,
    biases=True,
    bn_bias=True,
    kinds=(nn.Linear, nn.Conv2d, nn.ConvTranspose2d),
):
    for m in model.modules():
        if isinstance(m, kinds):
            if uniform:
                nn.init.uniform_(m.weight, -std, std)
            else:
                nn.init.normal_(m.weight, 0.0, std)
            if biases:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, bn_mean, 0.02)
            if biases and bn_bias:
                nn.init.zeros_(m.bias)


# ---- 8.4 slerp


def slerp_ok(z0, z1, t):
    return check._reference_slerp(z0, z1, t).float()


def slerp_lerp(z0, z1, t):
    t = t[:, None]
    return (1 - t) * z0 + t * z1


def slerp_swapped(z0, z1, t):
    return slerp_ok(z1, z0, t)


def slerp_unit(z0, z1, t):  # interpolates the directions only: loses the lengths
    return slerp_ok(z0 / z0.norm(), z1 / z1.norm(), t)


def slerp_no_fallback(z0, z1, t):
    t = t[:, None]
    omega = torch.arccos(torch.dot(z0 / z0.norm(), z1 / z1.norm()).clamp(-1, 1))
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


def slerp_row(z0, z1, t):  # (d, T) instead of (T, d)
    return slerp_ok(z0, z1, t).T


# ---- 8.5 the parameter count


def count_ok(latent_dim, w):
    return latent_dim * 2 * w * 49 + 4 * w + 2 * w * w * 16 + 2 * w + w * 16 + 1


def count_no_bn(latent_dim, w):
    return latent_dim * 2 * w * 49 + 2 * w * w * 16 + w * 16 + 1


def count_with_buffers(latent_dim, w):  # running mean/var and num_batches_tracked are buffers
    return count_ok(latent_dim, w) + 4 * w + 1 + 2 * w + 1


def count_biases_everywhere(latent_dim, w):
    return count_ok(latent_dim, w) + 2 * w * 49 + w


def count_no_last_bias(latent_dim, w):
    return count_ok(latent_dim, w) - 1


# ---- 8.6 checkpoints


def _payload(G, D, opt_G, opt_D, step, generator):
    return {
        "step": step,
        "G": G.state_dict(),
        "D": D.state_dict(),
        "opt_G": opt_G.state_dict(),
        "opt_D": opt_D.state_dict(),
        "rng": generator.get_state(),
    }


def save(
    path,
    G,
    D,
    opt_G,
    opt_D,
    step,
    generator,
    *,
    atomic=True,
    cleanup=True,
    legacy=False,
    swallow=False,
    model=False,
    write=torch.save,
):
    payload = _payload(G, D, opt_G, opt_D, step, generator)
    if model:  # the generator object itself: torch.load(weights_only=True) cannot read it
        payload["model"] = G
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp") if atomic else path
    try:
        write(payload, tmp, _use_new_zipfile_serialization=not legacy)
        os.replace(tmp, path)
    except OSError:
        if not swallow:
            raise
    finally:
        if atomic and cleanup:
            tmp.unlink(missing_ok=True)


def load(path, G, D, opt_G, opt_D, generator, *, load_D=True, optimisers=True, rng=True, returns=True):
    ckpt = torch.load(path, weights_only=True)
    G.load_state_dict(ckpt["G"])
    if load_D:
        D.load_state_dict(ckpt["D"])
    if optimisers:
        opt_G.load_state_dict(ckpt["opt_G"])
        opt_D.load_state_dict(ckpt["opt_D"])
    if rng:
        generator.set_state(ckpt["rng"])
    return int(ckpt["step"]) if returns else None


CASES = {
    "conv_transpose_size": (
        (convt_ok,),
        [
            (convt_conv_formula,),
            (convt_plus_padding,),
            (convt_times_stride,),
            (convt_no_output_padding,),
            (convt_float,),
        ],
    ),
    "generator_stack": (
        (stack,),
        [
            (partial(stack, bias=True),),
            (partial(stack, out_bn=True),),
            (partial(stack, padding=0),),  # 7 -> 16: the shapes go wrong
            (partial(stack, out=None),),  # no Tanh
            (partial(stack, out=nn.Sigmoid),),  # [0, 1], not [-1, 1]
            (partial(stack, act=leaky_relu),),
            (partial(stack, first_kernel=3, padding=0),),  # 7 -> 15 -> 30
            (partial(stack, act=nn.Identity),),  # no hidden activation: the same parameters
            (partial(stack, act=nn.Sigmoid),),
            (partial(stack, act=nn.ELU),),
            (partial(stack, act_first=True),),  # ReLU before batch norm: the same parameters
        ],
    ),
    "dcgan_init": (
        (init,),
        [
            (partial(init, uniform=True),),
            (partial(init, bn_mean=0.0),),  # batch norm's scale around 0, not 1
            (partial(init, biases=False),),
            (partial(init, bn_bias=False),),  # resets the layers' biases, forgets batch norm's shift
            (partial(init, kinds=(nn.Linear, nn.Conv2d)),),  # ConvTranspose2d is not a subclass of Conv2d
            (partial(init, std=0.02**0.5),),  # 0.02 taken as the variance
        ],
    ),
    "slerp": (
        (slerp_ok,),
        [(slerp_lerp,), (slerp_swapped,), (slerp_unit,), (slerp_no_fallback,), (slerp_row,)],
    ),
    "generator_param_count": (
        (count_ok,),
        [(count_no_bn,), (count_with_buffers,), (count_biases_everywhere,), (count_no_last_bias,)],
    ),
    "checkpoint_roundtrip": (
        (save, load),
        [
            (partial(save, atomic=False), load),
            (partial(save, cleanup=False), load),  # atomic, but a failed save leaves the temporary file
            (partial(save, atomic=False, legacy=True), load),  # not atomic, in torch's old (non-zip) format
            (partial(save, swallow=True), load),
            (partial(save, model=True), load),
            (save, partial(load, optimisers=False)),
            (save, partial(load, rng=False)),
            (save, partial(load, load_D=False)),
            (save, partial(load, returns=False)),
        ],
    ),
}


(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(check, CASES, "8")


def test_a_conv_projection_generator_also_passes(capsys):
    check.generator_stack(ConvProjection)
    assert "passed" in capsys.readouterr().out


def relu_inplace():
    return nn.ReLU(inplace=True)


@pytest.mark.parametrize("make", [ReorderedGenerator, partial(stack, act=relu_inplace)])
def test_other_right_generators_pass(make, capsys):
    check.generator_stack(make)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "make, match",
    [
        (
            partial(stack, act=nn.Identity),
            r"(?s)differs by up to .*runs Linear -> Unflatten -> BatchNorm2d -> Identity",
        ),
        (partial(stack, act=nn.ELU), r"(?s)in eval mode .*BatchNorm2d -> ELU -> ConvTranspose2d"),
        (partial(stack, act_first=True), r"your G runs Linear -> Unflatten -> ReLU -> BatchNorm2d"),
    ],
)
def test_a_wrong_activation_is_named(make, match):
    with pytest.raises(CheckFailed, match=match):
        check.generator_stack(make)


def test_a_different_layout_is_named():
    def batch_stats_only(d, w):  # batch norm without running statistics: the same parameters, no buffers
        g = stack(d, w)
        g[2], g[5] = (nn.BatchNorm2d(c, track_running_stats=False) for c in (2 * w, w))
        return g

    with pytest.raises(CheckFailed, match=r"parameters and buffers \(kind, shape\) should be those of the recipe"):
        check.generator_stack(batch_stats_only)


def test_the_generator_check_leaves_no_hooks_behind():
    g = stack(8, 4)
    check.generator_stack(lambda d, w: g if (d, w) == (8, 4) else stack(d, w))
    assert all(not m._forward_hooks for m in g.modules())


def test_init_check_sees_a_batch_norm_shift_left_alone():
    with pytest.raises(CheckFailed, match=r"biases of layer 2 \(BatchNorm2d\) should be 0"):
        check.dcgan_init(partial(init, bn_bias=False))


def test_the_package_init_passes(capsys):
    check.dcgan_init(dcgan.dcgan_init_)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "save_variant",
    [partial(save, write=imported_save), partial(save, legacy=True)],
    ids=["from torch import save", "torch's old format"],
)
def test_a_right_save_passes_however_torch_save_is_reached(save_variant, capsys):
    check.checkpoint_roundtrip(save_variant, load)
    assert "passed" in capsys.readouterr().out


def test_a_save_that_bypasses_torch_save_is_told_so_not_accused():
    import pickle

    def save_pickle(path, G, D, opt_G, opt_D, step, generator):  # atomic, but not through torch.save
        path = Path(path)
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            with open(tmp, "wb") as f:
                torch.save(_payload(G, D, opt_G, opt_D, step, generator), f) if step == 4 else pickle.dump(step, f)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)

    with pytest.raises(CheckFailed, match="could not simulate a crash") as err:
        check.checkpoint_roundtrip(save_pickle, load)
    assert "swallowed" not in str(err.value)


def test_a_failed_check_restores_torch_save():
    real = torch.save, serialization._save, serialization._legacy_save
    with pytest.raises(CheckFailed):
        check.checkpoint_roundtrip(partial(save, atomic=False), load)
    with pytest.raises(CheckFailed):
        check.checkpoint_roundtrip(partial(save, swallow=True), load)
    assert (torch.save, serialization._save, serialization._legacy_save) == real
