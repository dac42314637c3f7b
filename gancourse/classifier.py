"""The course's MNIST classifier: a small CNN whose logits and 128-d features score generated digits.

It stands in for the Inception network of the Inception Score (Salimans et al. 2016) and of FID
(Heusel et al. 2017), offline and at MNIST's scale: gancourse.metrics builds the digit histogram,
the classifier score and the Fréchet distance on it (notebooks/05_vanilla_gan.ipynb and lecture
09, evaluating GANs). The weights ship in gancourse/weights/mnist_cnn.pt (float16, upcast
at load) with a JSON record of how they were trained; ``python tools/retrain_classifier.py`` (from a
clone of the course) retrains them, seeded and deterministic, on ``load_mnist("train")``.
"""

from __future__ import annotations

import json
from importlib import resources

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from gancourse.validation import check_int

WEIGHTS_NAME = "mnist_cnn.pt"
RECORD_NAME = "mnist_cnn.json"
FEATURE_DIM = 128
RANGE_TOL = 1e-3  # inputs may overshoot [-1, 1] by this much (float rounding), no more
PIXEL_MEAN, PIXEL_STD = -0.7386, 0.6162  # MNIST's pixel mean and std (0.1307, 0.3081 on [0, 1]) on [-1, 1]

_cache: dict[str, MnistCNN] = {}


def check_images(x, name: str = "x") -> torch.Tensor:
    """Validate a batch of digits: a float tensor (N, 1, 28, 28), N >= 1, finite, in [-1, 1]; returns it as float32."""
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of images (N, 1, 28, 28), got {type(x).__name__}")
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 28, 28):
        hint = ""
        if x.ndim == 2 and x.shape[-1] == 784:
            hint = " (flattened digits: use x.reshape(-1, 1, 28, 28))"
        elif x.ndim == 3 and tuple(x.shape[1:]) == (28, 28):
            hint = " (no channel axis: use x.unsqueeze(1))"
        raise ValueError(f"{name} must have shape (N, 1, 28, 28), got {tuple(x.shape)}{hint}")
    if len(x) == 0:
        raise ValueError(f"{name} is empty (shape {tuple(x.shape)}): need at least one image")
    if not x.is_floating_point():
        raise TypeError(
            f"{name} must be a float tensor in [-1, 1], got dtype {x.dtype} (for uint8 pixels use x.float() / 127.5 - 1)"
        )
    x = x.float()
    bad = (~torch.isfinite(x)).flatten(1).any(dim=1).sum().item()
    if bad:
        raise ValueError(f"{name} has {bad} of {len(x)} images with NaN or inf pixels")
    lo, hi = x.min().item(), x.max().item()
    if lo < -1 - RANGE_TOL or hi > 1 + RANGE_TOL:
        hint = " (pixels in [0, 255]? use x / 127.5 - 1)" if hi > 2 else ""
        raise ValueError(f"{name} must lie in the course's range [-1, 1], got values in [{lo:.4g}, {hi:.4g}]{hint}")
    return x


class MnistCNN(nn.Module):
    """Two 3x3 conv blocks (16, 32 channels) with max-pool, a 128-unit hidden layer, 10 logits; inputs in [-1, 1]."""

    def __init__(self, dropout: float = 0.25):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)  # (B, 16, 28, 28), pooled to (B, 16, 14, 14)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)  # (B, 32, 14, 14), pooled to (B, 32, 7, 7)
        self.fc1 = nn.Linear(32 * 7 * 7, FEATURE_DIM)  # (B, 128): the features
        self.drop = nn.Dropout(dropout)
        self.fc2 = nn.Linear(FEATURE_DIM, 10)  # (B, 10): the logits

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate activations (B, 128) after ReLU: the embedding of the Fréchet distance."""
        x = (check_images(x) - PIXEL_MEAN) / PIXEL_STD  # (B, 1, 28, 28), standardised: trains faster
        h = F.max_pool2d(F.relu(self.conv1(x)), 2)  # (B, 16, 14, 14)
        h = F.max_pool2d(F.relu(self.conv2(h)), 2)  # (B, 32, 7, 7)
        return F.relu(self.fc1(h.flatten(1)))  # (B, 1568) -> (B, 128)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (B, 10)."""
        return self.fc2(self.drop(self.features(x)))  # (B, 10)


# --------------------------------------------------------------------------- loading


def _weights_file():
    return resources.files("gancourse").joinpath("weights", WEIGHTS_NAME)


def load_record() -> dict:
    """The JSON record shipped with the weights: accuracy, data source, split sizes, seed, versions."""
    path = resources.files("gancourse").joinpath("weights", RECORD_NAME)
    if not path.is_file():
        raise FileNotFoundError(f"no classifier record at {path}: train it with `python tools/retrain_classifier.py`")
    return json.loads(path.read_text(encoding="utf-8"))


def _load_state(file) -> dict[str, torch.Tensor]:
    with file.open("rb") as f:
        state = torch.load(f, map_location="cpu", weights_only=True)
    return {k: v.float() for k, v in state.items()}  # stored float16, used float32


def load_classifier(device: torch.device | str | None = None) -> MnistCNN:
    """The shipped classifier in eval mode with frozen weights, cached per device (default CPU); do not modify it."""
    device = torch.device("cpu" if device is None else device)
    key = str(device)
    if key not in _cache:
        file = _weights_file()
        if not file.is_file():
            raise FileNotFoundError(
                f"no classifier weights at {file}: train them with `python tools/retrain_classifier.py`"
            )
        model = MnistCNN()
        model.load_state_dict(_load_state(file))
        _cache[key] = model.to(device).eval().requires_grad_(False)
    return _cache[key]


def clear_cache() -> None:
    """Forget the loaded classifiers, so the next load_classifier reads the weights file again."""
    _cache.clear()


@torch.no_grad()
def predict_proba(x: torch.Tensor, model: MnistCNN | None = None, batch_size: int = 500) -> torch.Tensor:
    """Class probabilities p(y|x), float64 (N, 10) on the CPU, computed in batches on the model's device."""
    x = check_images(x)
    batch_size = check_int(batch_size, "batch_size", 1)
    model = load_classifier(x.device) if model is None else model
    device = next(model.parameters()).device
    out = [model(x[i : i + batch_size].to(device)).double().softmax(dim=1).cpu() for i in range(0, len(x), batch_size)]
    return torch.cat(out)  # (N, 10)


@torch.no_grad()
def accuracy(x: torch.Tensor, y: torch.Tensor, model: MnistCNN | None = None, batch_size: int = 500) -> float:
    """Fraction of images x (N, 1, 28, 28) whose predicted digit equals the label y (N,)."""
    if not isinstance(y, torch.Tensor) or y.shape != (len(x),):
        raise ValueError(f"y must be a tensor of {len(x)} labels, got {getattr(y, 'shape', type(y).__name__)}")
    pred = predict_proba(x, model, batch_size).argmax(dim=1)  # (N,)
    return (pred == y.cpu()).double().mean().item()
