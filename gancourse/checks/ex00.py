"""Checks for assignment 00 (solutions/00_warmup.ipynb): the toy ring, the [-1, 1] range, high quality, its 98.9 %."""

from __future__ import annotations

import math

import numpy as np
import torch

from gancourse import data
from gancourse.checks import as_array, expect, expect_close, expect_tensor, number, passed


def _point(xy) -> str:
    return f"({xy[0]:.3g}, {xy[1]:.3g})"


def ring_modes(fn) -> None:
    """Exercise 0.1: ring_modes_by_hand(n_modes, radius) equals the protocol's modes, counter-clockwise from angle 0."""
    for n_modes, radius in [(8, 2.0), (5, 1.0), (12, 3.5)]:
        got = fn(n_modes, radius)
        arr = as_array(got, "0.1", f"ring_modes_by_hand({n_modes}, {radius})")
        expect(
            arr.shape == (n_modes, 2),
            "0.1",
            f"ring_modes_by_hand({n_modes}, {radius}) should have shape ({n_modes}, 2), got {arr.shape}",
        )
        expected = data.ring_modes(n_modes, radius).double().numpy()
        mirrored = expected * [1.0, -1.0]  # the same ring run clockwise
        expect(
            not (n_modes > 2 and np.allclose(arr, mirrored, atol=1e-5)),
            "0.1",
            f"ring_modes_by_hand({n_modes}, {radius}) runs clockwise: mode 1 is at {_point(arr[1])}, "
            f"expected {_point(expected[1])}",
            "go counter-clockwise, as the task says: mode k at angle +2*pi*k/n, (r cos, r sin) of that angle",
        )
        expect_close(
            arr,
            expected,
            "0.1",
            f"ring_modes_by_hand({n_modes}, {radius})",
            atol=1e-5,
            hint="angles 2*pi*k/n for k = 0..n-1 (no mode at 2*pi: it would duplicate the one at 0), in radians",
        )
    passed("0.1")


def to_course_range(fn) -> None:
    """Exercise 0.2: uint8 images in [0, 255] map linearly onto float32 in [-1, 1]."""
    images = torch.tensor([[0, 255], [127, 128]], dtype=torch.uint8).reshape(1, 1, 2, 2)
    got = expect_tensor(fn(images.clone()), "0.2", "to_course_range(images)")
    if got.dtype.is_floating_point:
        hint = "convert with .float() (float32, what networks and the course's data use), not .double() or .half()"
    else:
        hint = "convert to float32 (.float()) before dividing: integer arithmetic truncates"
    expect(got.dtype == torch.float32, "0.2", f"the result should be float32, got {got.dtype}", hint)
    expect_close(
        got,
        images.float() / 127.5 - 1,
        "0.2",
        "to_course_range([[0, 255], [127, 128]])",
        atol=1e-6,
        hint="0 should map to -1 and 255 to +1: divide by 127.5, then subtract 1",
    )
    passed("0.2")


def high_quality_fraction(fn) -> None:
    """Exercise 0.3: fraction of samples within 3 std (Euclidean) of their nearest mode."""
    modes = torch.tensor([[0.0, 0.0], [10.0, 0.0]])
    samples = torch.tensor([[0.1, 0.0], [0.0, 0.29], [0.25, 0.25], [10.0, 0.35], [9.8, 0.0], [5.0, 5.0]])
    # distances to the nearest mode: 0.1, 0.29, 0.354, 0.35, 0.2, 7.07; 3 * std = 0.3
    expected = 3 / 6
    got = fn(samples, modes, 0.1)
    expect_close(
        got,
        expected,
        "0.3",
        "high_quality_fraction on six hand-placed points (std 0.1)",
        atol=1e-6,
        hint="use the Euclidean distance to the NEAREST mode and compare it with 3 * std",
    )
    ring = data.sample_ring(2500, seed=1)
    expect_close(
        fn(ring, data.ring_modes(), data.RING_STD),
        float(((torch.cdist(ring, data.ring_modes()).min(1).values) <= 3 * data.RING_STD).float().mean()),
        "0.3",
        "high_quality_fraction on 2,500 ring samples",
        atol=1e-6,
    )
    passed("0.3")


# (k, the radius in units of std) for 0.4: the protocol's 3 first (the cell below the exercise prints it, so it
# proves nothing on its own), then radii that no notebook prints
REAL_FRACTION_CASES = (3.0, 1.0, 2.0, 0.5, 1.6, 2.5, 4.0)


def real_fraction(fn) -> None:
    """Exercise 0.4: the share of a 2-D Gaussian's samples within k std of its mean, 1 - exp(-k^2 / 2)."""
    for k in REAL_FRACTION_CASES:
        what = f"real_fraction({k})"
        one_d = math.erf(k / math.sqrt(2))  # P(|x| <= k) for one coordinate
        expect_close(
            number(fn(k), "0.4", what),
            1 - math.exp(-(k**2) / 2),
            "0.4",
            f"{what}, the share of real samples within {k} std of their mode",
            rtol=1e-6,
            hint="in 2-D, |x - mu| / std follows a Rayleigh law: P(r <= k) = 1 - exp(-k**2 / 2)",
            mistakes=[
                (one_d, "that is the 1-D rule P(|x| <= k) (99.7 % at k = 3): the distance here is in 2-D"),
                (one_d**2, "that is a square box, both coordinates within k std: the distance is Euclidean"),
                (math.exp(-(k**2) / 2), "that is the share OUTSIDE the disc: P(r <= k) = 1 - exp(-k**2 / 2)"),
                (1 - math.exp(-(k**2)), "the exponent is -k**2 / 2: the density of r is r exp(-r**2 / 2)"),
            ],
        )
    passed("0.4")
