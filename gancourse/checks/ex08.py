"""Checks for assignment 08 (solutions/08_dcgan.ipynb): the output size of a transposed convolution, the DCGAN
generator's layer stack, DCGAN init, spherical interpolation of latents, a parameter count by formula, and a
checkpoint that makes training resumable."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import NamedTuple

import torch
from torch import nn, serialization

from gancourse import dcgan, losses
from gancourse.checks import call, expect, expect_close, expect_tensor, fail, number, passed, rng_kept

# (size, kernel, stride, padding, output_padding): DCGAN's 7 -> 14 -> 28 first, then cases a shortcut gets wrong
CONV_T_CASES = ((7, 4, 2, 1, 0), (14, 4, 2, 1, 0), (4, 4, 1, 0, 0), (5, 3, 2, 1, 1), (3, 5, 3, 2, 0), (10, 3, 1, 1, 0))


def conv_transpose_size(fn) -> None:
    """Exercise 8.1: the output size of ConvTranspose2d, checked against PyTorch's own layer."""
    for size, k, s, p, op in CONV_T_CASES:
        layer = nn.ConvTranspose2d(1, 1, k, s, p, output_padding=op, device="meta")  # no RNG, no memory
        expected = layer(torch.zeros(1, 1, size, size, device="meta")).shape[-1]
        got = number(
            fn(size, k, s, p, op),
            "8.1",
            "conv_transpose_out",
            integer=True,
            hint="sizes are whole numbers: use integer arithmetic (no / division)",
        )
        expect(
            got == expected,
            "8.1",
            f"conv_transpose_out(size={size}, kernel={k}, stride={s}, padding={p}, output_padding={op}): "
            f"expected {expected} (PyTorch's ConvTranspose2d), got {got}",
            "a transposed convolution runs a convolution's shapes backwards: "
            "(size - 1) * stride - 2 * padding + kernel + output_padding",
        )
    passed("8.1")


def _generator_size(latent_dim: int, width: int) -> int:
    """The parameter count of the package's DCGANGenerator."""
    with rng_kept():
        G = dcgan.DCGANGenerator(latent_dim, width)
    return sum(p.numel() for p in G.parameters())


def generator_stack(fn) -> None:
    """Exercise 8.2: the DCGAN generator z (N, latent_dim) -> (N, 1, 28, 28), layer by layer."""
    built = []
    for latent_dim, width in ((8, 4), (16, 6)):
        with rng_kept(seed=0):
            G = fn(latent_dim, width)
        if not isinstance(G, nn.Module):
            fail("8.2", f"make_generator should return an nn.Module, got {type(G).__name__}")
        z = torch.randn(5, latent_dim, generator=torch.Generator().manual_seed(1))
        x, shapes = call(
            "8.2",
            f"make_generator({latent_dim}, {width}) on z of shape (5, {latent_dim})",
            _forward,
            G,
            z,
            [m for m in G.modules() if isinstance(m, nn.BatchNorm2d)],
            lambda module, inputs: tuple(inputs[0].shape),  # what each batch norm sees
            hint="project z with Linear(latent_dim, 2 * width * 7 * 7, bias=False) and reshape to (N, 2 * width, 7, 7)",
        )
        expect(
            isinstance(x, torch.Tensor) and tuple(x.shape) == (5, 1, 28, 28),
            "8.2",
            f"G(z) for z of shape (5, {latent_dim}) should have shape (5, 1, 28, 28), "
            f"got {tuple(getattr(x, 'shape', ())) or type(x).__name__}",
            "each ConvTranspose2d(kernel 4, stride 2, padding 1) doubles the size: 7 -> 14 -> 28",
        )
        want = [(5, 2 * width, 7, 7), (5, width, 14, 14)]
        expect(
            shapes == want,
            "8.2",
            f"the batch norms should see activations of shapes {want} (after the projection and after the first "
            f"transposed convolution), got {shapes}",
            "batch norm after the projection and after the first transposed convolution, never on the output "
            "(Radford et al. 2015)",
        )
        expect(
            not any(isinstance(m, nn.LeakyReLU) for m in G.modules()),
            "8.2",
            "the generator contains a LeakyReLU",
            "the recipe uses ReLU in G (LeakyReLU is the discriminator's activation)",
        )
        count = sum(p.numel() for p in G.parameters())
        expected = _generator_size(latent_dim, width)
        expect(
            count == expected,
            "8.2",
            f"make_generator({latent_dim}, {width}) has {count} parameters, expected {expected}",
            "layers followed by batch norm need no bias (bias=False): the norm's shift replaces it; "
            "only the last ConvTranspose2d keeps its bias",
        )
        built.append((G, latent_dim, width))
    with torch.no_grad():  # bigger weights drive the output into the saturating range
        for p in G.parameters():
            p.mul_(10)
        x = G(z)
    expect(
        bool(torch.isfinite(x).all()) and x.min() >= -1 and x.max() <= 1 and x.min() < -0.5 and x.max() > 0.5,
        "8.2",
        f"with larger weights the outputs should stay in [-1, 1] and use both signs, got [{x.min():.3g}, {x.max():.3g}]",
        "end with Tanh: the images are scaled to [-1, 1]",
    )
    for G, latent_dim, width in built:  # the oracle: the package's generator, loaded into the student's
        _same_function_as_package(G, latent_dim, width)
    passed("8.2")


_RECIPE = (
    "Linear(bias=False) -> Unflatten -> BatchNorm2d -> ReLU -> ConvTranspose2d(bias=False) -> BatchNorm2d -> ReLU "
    "-> ConvTranspose2d -> Tanh"
)


def _layout(module: nn.Module) -> list[tuple[str, tuple[int, ...]]]:
    """Each state-dict entry of module as (kind, shape), kind its last name part (weight, bias, running_mean, ...)."""
    return [(name.rsplit(".", 1)[-1], tuple(v.shape)) for name, v in module.state_dict().items()]


def _oracle(latent_dim: int, width: int) -> nn.Module:
    """The package's DCGANGenerator with non-trivial batch-norm parameters, running statistics and output bias."""

    with rng_kept(seed=2), torch.no_grad():
        G = dcgan.DCGANGenerator(latent_dim, width)
        for m in G.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.normal_(1.0, 0.3)
                m.bias.normal_(0.0, 0.3)
                m.running_mean.normal_(0.0, 0.05)
                m.running_var.uniform_(0.5, 1.5).mul_(0.02)  # the pre-norm activations' scale (weights of 0.02)
        G.up[3].bias.fill_(0.1)
    return G


def _forward(G: nn.Module, z: torch.Tensor, watched: list[nn.Module], record) -> tuple[torch.Tensor, list]:
    """G(z) without gradients, and record(module, inputs) for each watched module, in the order the pass runs them."""
    seen = []
    handles = [m.register_forward_hook(lambda mod, inp, out: seen.append(record(mod, inp))) for m in watched]
    try:
        with torch.no_grad():
            return G(z), seen
    finally:
        for h in handles:
            h.remove()


def _ran_layers(G: nn.Module, z: torch.Tensor) -> list[str]:
    """The classes of G's leaf modules in the order a forward pass runs them."""
    leaves = [m for m in G.modules() if not list(m.children())]
    return _forward(G, z, leaves, lambda module, inputs: type(module).__name__)[1]


def _same_function_as_package(G: nn.Module, latent_dim: int, width: int) -> None:
    """Load the package generator's parameters and buffers into G; both must compute one function, train and eval."""
    ref = _oracle(latent_dim, width)
    ours, theirs = _layout(G), _layout(ref)
    projection = ("weight", (2 * width * 49, latent_dim))  # Linear(latent_dim, 2w*49): (out, in)
    conv_projection = ("weight", (latent_dim, 2 * width, 7, 7))  # the same map as a 7x7 ConvTranspose2d from 1x1
    mapped = [projection if entry == conv_projection else entry for entry in ours]
    expect(
        sorted(mapped) == sorted(theirs),
        "8.2",
        f"make_generator({latent_dim}, {width})'s parameters and buffers (kind, shape) should be those of the recipe, "
        f"{theirs}, got {ours}",
        f"build exactly the table's layers: {_RECIPE}, each batch norm with its defaults",
    )
    # match entries by (kind, shape): independent of the order in which the layers were registered
    source: dict[tuple, list[torch.Tensor]] = {}
    for entry, value in zip(theirs, ref.state_dict().values()):
        source.setdefault(entry, []).append(value)
    state = {}
    for name, entry, mapped_entry in zip(G.state_dict(), ours, mapped):
        v = source[mapped_entry].pop(0)
        if entry != mapped_entry:  # Linear weight (2w*49, L) -> ConvTranspose2d weight (L, 2w, 7, 7)
            v = v.T.reshape(entry[1])
        state[name] = v.clone()
    G.load_state_dict(state)
    z = torch.randn(16, latent_dim, generator=torch.Generator().manual_seed(3))
    layers = " -> ".join(_ran_layers(G.eval(), z))  # eval: this pass must not move the running statistics
    hint = (
        f"your G runs {layers}; the recipe is {_RECIPE}: batch norm right after the projection and after the first "
        "transposed convolution, then ReLU (not ELU, Sigmoid or no activation), Tanh only at the end"
    )
    for mode in ("eval", "train"):  # eval first: train mode updates the running statistics
        G.train(mode == "train")
        ref.train(mode == "train")
        with torch.no_grad():
            got, want = G(z), ref(z)
        gap = (got.float() - want).abs().max().item()
        expect(
            torch.allclose(got.float(), want, rtol=1e-4, atol=1e-5),
            "8.2",
            f"with the weights and batch-norm statistics of gancourse.dcgan.DCGANGenerator({latent_dim}, {width}) "
            f"loaded into it, your G(z) in {mode} mode should compute the same images, but differs by up to {gap:.3g}",
            hint,
        )
    G.train()


def _init_probe() -> nn.Module:
    return nn.Sequential(
        nn.Linear(64, 1024),
        nn.Conv2d(64, 128, 4, stride=2, padding=1),
        nn.BatchNorm2d(4096),
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1),
        nn.BatchNorm1d(4096),
        nn.LeakyReLU(0.2),
    )


def dcgan_init(fn) -> None:
    """Exercise 8.3: weights of Linear/Conv2d/ConvTranspose2d ~ N(0, 0.02), biases 0; batch norm weights ~ N(1, 0.02)."""

    with rng_kept(seed=0):
        model = _init_probe()
        with torch.no_grad():  # PyTorch's batch-norm shift starts at 0: make every bias non-zero, so a reset shows
            for m in model.modules():
                if getattr(m, "bias", None) is not None:
                    m.bias.fill_(0.5)
        out = fn(model)
    expect(
        out is None or out is model,
        "8.3",
        f"dcgan_init should change the model in place (and may return it), got {type(out).__name__}",
    )
    for name, m in model.named_modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.BatchNorm2d, nn.BatchNorm1d)):
            kind = type(m).__name__
            w = m.weight.detach().double().flatten()
            centre = 1.0 if "BatchNorm" in kind else 0.0
            mean, std = w.mean().item(), w.std().item()
            inside = ((w - centre).abs() < 0.02).double().mean().item()  # 68.3% for a normal with std 0.02
            expect(
                abs(mean - centre) < 0.002 and 0.018 < std < 0.022 and abs(inside - 0.683) < 0.03,
                "8.3",
                f"the weights of layer {name} ({kind}) should be drawn from N({centre:g}, 0.02²), got mean "
                f"{mean:.4f}, std {std:.4f}, {100 * inside:.1f}% within one std (a normal has 68.3%)",
                "nn.init.normal_(m.weight, 1.0, 0.02) for batch norm, nn.init.normal_(m.weight, 0.0, 0.02) for "
                "Linear, Conv2d and ConvTranspose2d (it is not a subclass of Conv2d: list both)",
            )
            expect(
                m.bias is None or bool((m.bias == 0).all()),
                "8.3",
                f"the biases of layer {name} ({kind}) should be 0, got values up to {m.bias.abs().max().item():.3g}",
                "nn.init.zeros_(m.bias) for every layer that has a bias",
            )
    passed("8.3")


def _reference_slerp(z0: torch.Tensor, z1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    z0, z1, t = z0.double(), z1.double(), t.double()[:, None]  # t: (T, 1)
    cos = torch.dot(z0 / z0.norm(), z1 / z1.norm()).clamp(-1.0, 1.0)
    omega = torch.arccos(cos)
    if torch.sin(omega) < 1e-6:  # (anti)parallel: the arc is a line
        return (1 - t) * z0 + t * z1
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)  # (T, d)


def slerp(fn) -> None:
    """Exercise 8.4: spherical interpolation between two latent vectors at the fractions t."""
    g = torch.Generator().manual_seed(0)
    z0, z1 = torch.randn(100, generator=g), torch.randn(100, generator=g)
    t = torch.linspace(0, 1, 9)
    axis = torch.zeros(100)
    axis[0] = 1.0  # a direction whose cosine with itself is exactly 1
    cases = [
        ("two random latents (d = 100)", z0, z1),
        ("latents of different lengths", z0, 3 * z1 / z1.norm()),
        ("two latents pointing the same way (the angle is 0)", 2 * axis, 5 * axis),
    ]
    for what, a, b in cases:
        got = expect_tensor(
            fn(a.clone(), b.clone(), t.clone()),
            "8.4",
            "slerp(z0 (100,), z1 (100,), t (9,))",
            shape=(len(t), len(a)),
            hint="one row per fraction: t[:, None] broadcasts against the vectors",
        )
        expect(
            bool(torch.isfinite(got).all()),
            "8.4",
            f"slerp returned NaN or inf for {what}",
            "when sin(omega) is (nearly) 0 the two vectors are parallel: fall back to linear interpolation",
        )
        expect_close(
            got[[0, -1]].double(),
            torch.stack([a, b]).double(),
            "8.4",
            f"the endpoints slerp(z0, z1, [0, 1]) for {what}",
            rtol=1e-5,
            atol=1e-5,
            hint="t = 0 must give z0 and t = 1 must give z1: the weights are sin((1 - t) omega) / sin(omega) on z0 "
            "and sin(t omega) / sin(omega) on z1",
        )
        lerp = (1 - t[:, None]) * a + t[:, None] * b
        looks_linear = torch.allclose(got.float(), lerp, atol=1e-4) and what.startswith("two random")
        expect_close(
            got.double(),
            _reference_slerp(a, b, t),
            "8.4",
            f"slerp at t = {[round(v, 3) for v in t.tolist()]} for {what}",
            rtol=1e-4,
            atol=1e-4,
            hint="that is linear interpolation: its midpoints are shorter than the endpoints and leave the shell where "
            "Gaussian latents live; use the angle omega = arccos(z0·z1 / (|z0| |z1|))"
            if looks_linear
            else "omega = arccos of the cosine between the UNnormalised vectors' directions; then combine the "
            "original vectors (do not normalise the result)",
        )
    passed("8.4")


def generator_param_count(fn) -> None:
    """Exercise 8.5: the number of parameters of DCGANGenerator(latent_dim, width), by formula."""
    for latent_dim, width in ((100, 128), (16, 8), (64, 32), (3, 1)):
        expected = _generator_size(latent_dim, width)
        got = number(fn(latent_dim, width), "8.5", "generator_param_count", integer=True)
        expect(
            got == expected,
            "8.5",
            f"generator_param_count({latent_dim}, {width}): expected {expected:,}, got {got:,}",
            "Linear (no bias): latent_dim * 2w * 49; each BatchNorm2d(C): 2C (its running mean and variance are "
            "buffers, not parameters); ConvTranspose2d(c_in, c_out, 4): c_in * c_out * 16, plus c_out for the last "
            "layer's bias only",
        )
    passed("8.5")


# --------------------------------------------------------------------------- exercise 8.6: checkpoints


class _Run(NamedTuple):
    """A tiny GAN in training: the nets, their optimisers, and the generator its batches and noise come from."""

    G: nn.Module
    D: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    gen: torch.Generator


def _run(init_seed: int, gen_seed: int) -> _Run:
    with rng_kept(seed=init_seed):
        G = nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2))  # z (N, 3) -> (N, 2)
        D = nn.Sequential(nn.Linear(2, 16), nn.LeakyReLU(0.2), nn.Linear(16, 1), nn.Flatten(0))  # (N, 2) -> (N,)
    opt_G = torch.optim.Adam(G.parameters(), lr=1e-2, betas=(0.5, 0.999))
    opt_D = torch.optim.Adam(D.parameters(), lr=1e-2, betas=(0.5, 0.999))
    return _Run(G, D, opt_G, opt_D, torch.Generator().manual_seed(gen_seed))


def _train(run: _Run, x: torch.Tensor, steps: int) -> _Run:
    """``steps`` alternating steps whose batches and noise come from ``run.gen`` (so resuming needs its state)."""
    G, D, opt_G, opt_D, gen = run
    for _ in range(steps):
        x_real = x[torch.randint(len(x), (32,), generator=gen)]  # (32, 2)
        z = torch.randn(32, 3, generator=gen)  # (32, 3)
        opt_D.zero_grad()
        losses.d_loss(D(x_real), D(G(z).detach())).backward()
        opt_D.step()
        opt_G.zero_grad()
        losses.g_loss_nonsaturating(D(G(z))).backward()
        opt_G.step()
    return run


def _state(run: _Run) -> torch.Tensor:
    return torch.cat([v.detach().double().flatten() for m in (run.G, run.D) for v in m.state_dict().values()])


class _crashing_torch_save:
    """Within the block, torch.save opens its file, writes part of it and raises an OSError, however it was imported.

    torch.save (also when imported as ``from torch import save``) looks up its writers, _save and
    _legacy_save, in torch.serialization at call time: replacing those injects the crash without
    touching the name the student's code called.
    """

    def __init__(self):
        self.calls = 0

    def _crash(self, obj, target, *args, **kwargs):
        self.calls += 1
        write = getattr(target, "write", None)
        if callable(write):  # the legacy format's open file: leave half a checkpoint in it
            write(b"half a checkpoint")
        raise OSError("simulated crash in the middle of torch.save (raised by the check)")

    def __enter__(self):
        self._saved = (serialization._save, serialization._legacy_save)
        serialization._save = serialization._legacy_save = self._crash
        return self

    def __exit__(self, *exc):
        serialization._save, serialization._legacy_save = self._saved
        return False


def checkpoint_roundtrip(save, load) -> None:
    """Exercise 8.6: save and load everything a run needs, atomically, so a resumed run equals an uninterrupted one."""
    x = torch.randn(256, 2, generator=torch.Generator().manual_seed(5)) * 0.5 + 1  # (256, 2)
    uninterrupted = _state(_train(_run(0, 1), x, 8))
    with tempfile.TemporaryDirectory(prefix="gancourse-ex08-") as folder:
        path = Path(folder) / "run.pt"
        _saves_cleanly(save, path, _train(_run(0, 1), x, 4))
        resumed = _train(_resumes(load, path), x, 4)
        expect_close(
            _state(resumed),
            uninterrupted,
            "8.6",
            "the weights and batch-norm statistics after 4 steps, a restart and 4 more steps (compared with 8 steps "
            "without a restart)",
            rtol=1e-5,
            atol=1e-6,
            hint="restore everything the next steps depend on: both nets' state dicts (batch-norm statistics "
            "included), both optimisers' state dicts (Adam's running moments) and the random generator's state "
            "(generator.get_state() / set_state()), so the batches and noise after the restart are the same",
        )
        _survives_a_crash(save, path, resumed)
    passed("8.6")


def _saves_cleanly(save, path: Path, run: _Run) -> None:
    """save(path, ...) at step 4 writes one file, path itself, that torch.load(weights_only=True) reads."""
    save(path, run.G, run.D, run.opt_G, run.opt_D, 4, run.gen)
    expect(path.is_file(), "8.6", f"save_checkpoint did not create the file {path.name}")
    left = sorted(p.name for p in path.parent.iterdir())
    expect(
        left == ["run.pt"],
        "8.6",
        f"after saving, the folder should hold only run.pt, got {left}",
        "write to a temporary file next to the checkpoint, then os.replace it onto the checkpoint's name",
    )
    try:
        torch.load(path, weights_only=True)
    except Exception as err:
        fail(
            "8.6",
            f"the checkpoint cannot be read with torch.load(path, weights_only=True): {type(err).__name__}",
            "store state dicts, tensors and numbers only: generator.get_state() (a tensor), not the generator",
        )


def _resumes(load, path: Path) -> _Run:
    """A fresh session (other initial weights and seed, optimisers without state) loaded from the step-4 checkpoint."""
    run = _run(123, 456)
    step = load(path, run.G, run.D, run.opt_G, run.opt_D, run.gen)
    expect(
        isinstance(step, int) and not isinstance(step, bool) and step == 4,
        "8.6",
        f"load_checkpoint should return the saved step, 4, got {step!r}",
        "save the step in the checkpoint and return int(checkpoint['step'])",
    )
    return run


def _survives_a_crash(save, path: Path, run: _Run) -> None:
    """A crash (disk full, a disconnect) while saving must leave the previous checkpoint intact, and no other file."""
    with _crashing_torch_save() as crash:
        try:
            save(path, run.G, run.D, run.opt_G, run.opt_D, 8, run.gen)
            crashed = False
        except OSError:
            crashed = True
    expect(
        crash.calls > 0,
        "8.6",
        "the check could not simulate a crash: save_checkpoint did not write through torch.save (the check makes "
        "torch.save fail once its file is open, to see what a crash leaves behind)",
        "save the checkpoint with torch.save(payload, tmp)",
    )
    expect(
        crashed,
        "8.6",
        "save_checkpoint swallowed the error of a failed torch.save (the check made torch.save raise an OSError "
        "after opening its file)",
        "let the error propagate: clean up in a finally block instead of catching it",
    )
    try:
        survived = torch.load(path, weights_only=True)["step"] == 4
    except Exception:
        survived = False
    expect(
        survived,
        "8.6",
        "a crash in the middle of saving destroyed the previous checkpoint",
        "never write onto the checkpoint itself: torch.save to a temporary file in the same folder, then "
        "os.replace(tmp, path), which is atomic",
    )
    left = sorted(p.name for p in path.parent.iterdir())
    expect(
        left == ["run.pt"],
        "8.6",
        f"a failed save left a half-written file behind: the folder holds {left}",
        "remove the temporary file in a finally block (Path(tmp).unlink(missing_ok=True))",
    )
