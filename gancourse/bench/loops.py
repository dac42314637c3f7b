"""The three loops the benchmark times, over the same networks, losses, optimiser settings and batch size.

- ``tutorial_loop``: written the way common tutorials do (the PyTorch DCGAN tutorial, most WGAN-GP
  repositories): torchvision.datasets.MNIST with ToTensor + Normalize, a DataLoader (shuffle, 2 workers,
  pinned memory on CUDA), each batch copied to the device, the losses' ``.item()`` logged every step;
- ``resident_loop``: the same step with the whole data set on the device, batches by index from a
  per-epoch permutation, the losses kept on the device (no host sync in the timed steps), eager;
- the course's one loop, gancourse.train.train (on CUDA, its fast path; on a CPU it trains networks under a
  million parameters on one thread, gancourse.training.fastpath.cpu_threads: ``course_threads`` says how many,
  and ``threads`` runs another loop on as many, so that a comparison can hold the thread count equal).
notebooks/08_dcgan.ipynb reads the first two and times all three.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from gancourse import data, dcgan, defaults
from gancourse.losses import GANObjective
from gancourse.train import adam
from gancourse.training.fastpath import cpu_threads
from gancourse.validation import check_device, check_int
from gancourse.wasserstein import WGANGPObjective

EPOCH_IMAGES = 60_000  # MNIST's training set: an epoch is ceil(60,000 / batch_size) generator steps
LOOPS = ("tutorial", "resident", "course")
LOOP_LABELS = {
    "tutorial": "tutorial: DataLoader, .item() every step",
    "resident": "resident: data on the device, eager",
    "course": "course loop: gancourse.train.train",
}


@dataclass(frozen=True)
class Model:
    """One benchmarked GAN: the course's DCGAN networks with an objective and its optimiser settings."""

    name: str
    critic: bool  # True: the critic without batch norm (WGAN-GP)
    n_critic: int
    lr: float
    betas: tuple[float, float]
    make_objective: Callable[[], object]

    def nets(self, seed: int, device: torch.device) -> tuple[nn.Module, nn.Module]:
        """G (100 -> 256x7x7 -> 128x14x14 -> 1x28x28) and D (1 -> 64x14x14 -> 128x7x7 -> 1), seeded."""
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            G, D = dcgan.dcgan(latent_dim=100, g_width=128, d_width=64, critic=self.critic)
        return G.to(device), D.to(device)

    def optimisers(self, G: nn.Module, D: nn.Module, **kwargs) -> tuple[torch.optim.Adam, torch.optim.Adam]:
        return adam(G.parameters(), self.lr, self.betas, **kwargs), adam(D.parameters(), self.lr, self.betas, **kwargs)


MODELS = {
    "dcgan": Model("dcgan", False, 1, defaults.DCGAN["lr"], defaults.DCGAN["betas"], GANObjective),
    "wgan-gp-dcgan": Model(
        "wgan-gp-dcgan",
        True,
        defaults.WGAN_GP_IMAGES["n_critic"],
        defaults.WGAN_GP_IMAGES["lr"],
        defaults.WGAN_GP_IMAGES["betas"],
        lambda: WGANGPObjective(defaults.WGAN_GP_IMAGES["gp_weight"]),
    ),
}


def tutorial_transform():
    """The tutorials' pipeline: PIL image -> ToTensor ([0, 1]) -> Normalize(0.5, 0.5) ([-1, 1])."""
    from torchvision import transforms

    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))])


def tutorial_dataset(x: torch.Tensor, y: torch.Tensor, *, root: str | os.PathLike | None = None):
    """torchvision.datasets.MNIST over the digits x (N, 1, 28, 28) in [-1, 1] and labels y, with the tutorial transform.

    With ``root`` (a folder holding torchvision's MNIST/, as load_mnist caches it) the files there are read.
    Without, x and y are written as torchvision's IDX files into a temporary folder (offline: the same digits the
    other loops train on); the data set holds its tensors in memory, so the folder is removed before returning.
    """
    from torchvision.datasets import MNIST

    if root is not None:
        return MNIST(str(root), train=True, download=False, transform=tutorial_transform())
    if not isinstance(x, torch.Tensor) or x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        raise ValueError(f"x must be digits of shape (N, 1, 28, 28), got {getattr(x, 'shape', type(x).__name__)}")
    with tempfile.TemporaryDirectory(prefix="gancourse-mnist-") as folder:
        raw = Path(folder) / "MNIST" / "raw"
        written = data.write_torchvision_mnist(raw, x, y, train=True)
        written += data.write_torchvision_mnist(raw, x[:10], y[:10], train=False)  # torchvision wants all four files
        for gz in written:
            gz.with_suffix("").write_bytes(gzip.decompress(gz.read_bytes()))  # it reads them uncompressed
        return MNIST(folder, train=True, download=False, transform=tutorial_transform())


def tutorial_loader(dataset, batch_size: int, *, workers: int = 2, device: torch.device | str = "cpu"):
    """DataLoader(shuffle=True, num_workers=2, pin_memory on CUDA), as the PyTorch DCGAN tutorial builds it."""
    device = torch.device(device)
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, shuffle=True, num_workers=workers, pin_memory=device.type == "cuda"
    )


def forever(loader) -> Iterator:
    """Batches from ``loader``, epoch after epoch (each epoch starts its workers anew, as a for loop does)."""
    while True:
        yield from loader


def tutorial_loop(G, D, batches: Iterator, *, steps: int, objective, opt_G, opt_D, n_critic: int = 1, device="cpu"):
    """``steps`` generator steps the tutorial way: each batch copied to the device, noise from the global RNG,
    both losses' ``.item()`` logged every step. Returns the log [(d_loss, g_loss), ...] and the images G trained on.
    """
    device = torch.device(device)
    log, images = [], 0
    for _ in range(steps):
        for _ in range(n_critic):
            x_real = next(batches)[0].to(device)  # (B, 1, 28, 28): host -> device every batch
            z = torch.randn(x_real.shape[0], G.latent_dim, device=device)  # (B, latent_dim)
            x_fake = G(z).detach()
            out = objective.d_loss(D, x_real, x_fake)
            loss_d = out[0] if isinstance(out, tuple) else out
            opt_D.zero_grad()
            loss_d.backward()
            opt_D.step()
        z = torch.randn(x_real.shape[0], G.latent_dim, device=device)
        loss_g = objective.g_loss(D, G(z), x_real)
        opt_G.zero_grad()
        loss_g.backward()
        opt_G.step()
        log.append((loss_d.item(), loss_g.item()))  # the tutorial's print/log: the host waits for the device
        images += x_real.shape[0]
    return log, images


def resident_loop(G, D, x, *, steps: int, batch_size: int, objective, opt_G, opt_D, n_critic: int = 1, generator):
    """``steps`` generator steps with the data set x resident on the device: batches by index from a per-epoch
    permutation, randomness from ``generator``, the losses kept on the device. Returns the losses (steps, 2).
    """
    n, device = len(x), x.device
    order, pos = torch.randperm(n, generator=generator, device=device), 0
    logged = []
    for _ in range(steps):
        for _ in range(n_critic):
            if pos + batch_size > n:  # a new epoch: plain integers, no host sync
                order, pos = torch.randperm(n, generator=generator, device=device), 0
            x_real = x[order[pos : pos + batch_size]]  # (B, 1, 28, 28), already on the device
            pos += batch_size
            z = torch.randn(batch_size, G.latent_dim, generator=generator, device=device)  # (B, latent_dim)
            with torch.no_grad():
                x_fake = G(z)
            out = objective.d_loss(D, x_real, x_fake, generator=generator)
            loss_d = out[0] if isinstance(out, tuple) else out
            opt_D.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_D.step()
        z = torch.randn(batch_size, G.latent_dim, generator=generator, device=device)
        loss_g = objective.g_loss(D, G(z), x_real)
        opt_G.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_G.step()
        logged.append(torch.stack([loss_d.detach(), loss_g.detach()]))  # stays on the device
    return torch.stack(logged)  # (steps, 2)


def course_threads(device, *nets: nn.Module) -> int:
    """How many CPU threads the course's loop trains ``nets`` on, on ``device`` (torch's count off the CPU)."""
    with cpu_threads(check_device(device), *nets):
        return torch.get_num_threads()


@contextlib.contextmanager
def threads(n: int):
    """Run the block on ``n`` CPU threads (torch.set_num_threads), then restore the count."""
    n, before = check_int(n, "n", 1), torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)
