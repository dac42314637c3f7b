"""Every check of assignment 08 passes the reference and rejects known-wrong implementations."""

import os
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


def stack(latent_dim, w, *, bias=False, out_bn=False, padding=1, act=nn.ReLU, out=nn.Tanh, first_kernel=4):
    layers = [
        nn.Linear(latent_dim, 2 * w * 7 * 7, bias=bias),
        nn.Unflatten(1, (2 * w, 7, 7)),
        nn.BatchNorm2d(2 * w),
        act(),
        nn.ConvTranspose2d(2 * w, w, first_kernel, stride=2, padding=padding, bias=bias),
        nn.BatchNorm2d(w),
        act(),
        nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1),
    ]
    if out_bn:
        layers.append(nn.BatchNorm2d(1))
    if out is not None:
        layers.append(out())
    return nn.Sequential(*layers)


def relu_before_bn(latent_dim, w):  # the same layers, ReLU and batch norm swapped: the same parameters
    return nn.Sequential(
        nn.Linear(latent_dim, 2 * w * 7 * 7, bias=False),
        nn.Unflatten(1, (2 * w, 7, 7)),
        nn.ReLU(),
        nn.BatchNorm2d(2 * w),
        nn.ConvTranspose2d(2 * w, w, 4, stride=2, padding=1, bias=False),
        nn.ReLU(),
        nn.BatchNorm2d(w),
        nn.ConvTranspose2d(w, 1, 4, stride=2, padding=1),
        nn.Tanh(),
    )


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


def init_ok(model):
    return dcgan.dcgan_init_(model)


def init_uniform(model):
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.uniform_(m.weight, -0.02, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def init_bn_around_zero(model):
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)


def init_keeps_biases(model):
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)


def init_keeps_bn_bias(model):  # resets the layers' biases, forgets batch norm's shift
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)


def init_misses_conv_transpose(model):  # ConvTranspose2d is not a subclass of Conv2d
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def init_variance_002(model):  # 0.02 taken as the variance
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02**0.5)
            nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
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


def save_ok(path, G, D, opt_G, opt_D, step, generator):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        torch.save(_payload(G, D, opt_G, opt_D, step, generator), tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_ok(path, G, D, opt_G, opt_D, generator):
    ckpt = torch.load(path, weights_only=True)
    G.load_state_dict(ckpt["G"])
    D.load_state_dict(ckpt["D"])
    opt_G.load_state_dict(ckpt["opt_G"])
    opt_D.load_state_dict(ckpt["opt_D"])
    generator.set_state(ckpt["rng"])
    return int(ckpt["step"])


def save_imported(path, G, D, opt_G, opt_D, step, generator):  # right, with `from torch import save`
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        imported_save(_payload(G, D, opt_G, opt_D, step, generator), tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_legacy_format(path, G, D, opt_G, opt_D, step, generator):  # right, in torch's old (non-zip) format
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        torch.save(_payload(G, D, opt_G, opt_D, step, generator), tmp, _use_new_zipfile_serialization=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def save_direct_legacy(path, G, D, opt_G, opt_D, step, generator):  # not atomic, old format
    torch.save(_payload(G, D, opt_G, opt_D, step, generator), path, _use_new_zipfile_serialization=False)


def save_direct(path, G, D, opt_G, opt_D, step, generator):  # not atomic
    torch.save(_payload(G, D, opt_G, opt_D, step, generator), path)


def save_leaves_tmp(path, G, D, opt_G, opt_D, step, generator):  # atomic, but a failed save leaves the temp file
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(_payload(G, D, opt_G, opt_D, step, generator), tmp)
    os.replace(tmp, path)


def save_swallows(path, G, D, opt_G, opt_D, step, generator):
    try:
        save_ok(path, G, D, opt_G, opt_D, step, generator)
    except OSError:
        pass


def save_generator_object(path, G, D, opt_G, opt_D, step, generator):  # weights_only=True cannot read it
    payload = _payload(G, D, opt_G, opt_D, step, generator)
    payload["model"] = G
    torch.save(payload, path)


def load_without_optimisers(path, G, D, opt_G, opt_D, generator):
    ckpt = torch.load(path, weights_only=True)
    G.load_state_dict(ckpt["G"])
    D.load_state_dict(ckpt["D"])
    generator.set_state(ckpt["rng"])
    return int(ckpt["step"])


def load_without_rng(path, G, D, opt_G, opt_D, generator):
    ckpt = torch.load(path, weights_only=True)
    G.load_state_dict(ckpt["G"])
    D.load_state_dict(ckpt["D"])
    opt_G.load_state_dict(ckpt["opt_G"])
    opt_D.load_state_dict(ckpt["opt_D"])
    return int(ckpt["step"])


def load_weights_only_G(path, G, D, opt_G, opt_D, generator):
    ckpt = torch.load(path, weights_only=True)
    G.load_state_dict(ckpt["G"])
    opt_G.load_state_dict(ckpt["opt_G"])
    opt_D.load_state_dict(ckpt["opt_D"])
    generator.set_state(ckpt["rng"])
    return int(ckpt["step"])


def load_returns_nothing(path, G, D, opt_G, opt_D, generator):
    load_ok(path, G, D, opt_G, opt_D, generator)


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
            (lambda d, w: stack(d, w, bias=True),),
            (lambda d, w: stack(d, w, out_bn=True),),
            (lambda d, w: stack(d, w, padding=0),),  # 7 -> 16: the shapes go wrong
            (lambda d, w: stack(d, w, out=None),),  # no Tanh
            (lambda d, w: stack(d, w, out=nn.Sigmoid),),  # [0, 1], not [-1, 1]
            (lambda d, w: stack(d, w, act=lambda: nn.LeakyReLU(0.2)),),
            (lambda d, w: stack(d, w, first_kernel=3, padding=0),),  # 7 -> 15 -> 30
            (lambda d, w: stack(d, w, act=nn.Identity),),  # no hidden activation: the same parameters
            (lambda d, w: stack(d, w, act=nn.Sigmoid),),
            (lambda d, w: stack(d, w, act=nn.ELU),),
            (relu_before_bn,),
        ],
    ),
    "dcgan_init": (
        (init_ok,),
        [
            (init_uniform,),
            (init_bn_around_zero,),
            (init_keeps_biases,),
            (init_keeps_bn_bias,),
            (init_misses_conv_transpose,),
            (init_variance_002,),
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
        (save_ok, load_ok),
        [
            (save_direct, load_ok),
            (save_leaves_tmp, load_ok),
            (save_direct_legacy, load_ok),
            (save_swallows, load_ok),
            (save_generator_object, load_ok),
            (save_ok, load_without_optimisers),
            (save_ok, load_without_rng),
            (save_ok, load_weights_only_G),
            (save_ok, load_returns_nothing),
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


@pytest.mark.parametrize("make", [ReorderedGenerator, lambda d, w: stack(d, w, act=lambda: nn.ReLU(inplace=True))])
def test_other_right_generators_pass(make, capsys):
    check.generator_stack(make)
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda d, w: stack(d, w, act=nn.Identity),
            r"(?s)differs by up to .*runs Linear -> Unflatten -> BatchNorm2d -> Identity",
        ),
        (lambda d, w: stack(d, w, act=nn.ELU), r"(?s)in eval mode .*BatchNorm2d -> ELU -> ConvTranspose2d"),
        (relu_before_bn, r"your G runs Linear -> Unflatten -> ReLU -> BatchNorm2d"),
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
        check.dcgan_init(init_keeps_bn_bias)


@pytest.mark.parametrize("save", [save_imported, save_legacy_format])
def test_a_right_save_passes_however_torch_save_is_reached(save, capsys):
    check.checkpoint_roundtrip(save, load_ok)
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
        check.checkpoint_roundtrip(save_pickle, load_ok)
    assert "swallowed" not in str(err.value)


def test_a_failed_check_restores_torch_save():
    real = torch.save, serialization._save, serialization._legacy_save
    with pytest.raises(CheckFailed):
        check.checkpoint_roundtrip(save_direct, load_ok)
    with pytest.raises(CheckFailed):
        check.checkpoint_roundtrip(save_swallows, load_ok)
    assert (torch.save, serialization._save, serialization._legacy_save) == real
