"""Every check of assignment 00 passes the reference solution and rejects known-wrong implementations."""

import math

import pytest
import torch

from gancourse import data
from gancourse.checks import CheckFailed
from gancourse.checks import ex00 as check


def ring_ok(n, r):
    a = 2 * math.pi * torch.arange(n) / n
    return r * torch.stack([a.cos(), a.sin()], 1)


def ring_linspace(n, r):  # the classic bug: linspace to 2*pi duplicates the first mode
    a = torch.linspace(0, 2 * math.pi, n)
    return r * torch.stack([a.cos(), a.sin()], 1)


def ring_degrees(n, r):
    a = 360.0 * torch.arange(n) / n
    return r * torch.stack([a.cos(), a.sin()], 1)


def ring_unit(n, r):
    return ring_ok(n, 1.0)


def hq_ok(s, m, std):
    return (torch.cdist(s, m).min(1).values <= 3 * std).float().mean()


def hq_two_std(s, m, std):
    return (torch.cdist(s, m).min(1).values <= 2 * std).float().mean()


def hq_per_coordinate(s, m, std):  # box instead of disc
    d = (s[:, None, :] - m[None]).abs().amax(-1).min(1).values
    return (d <= 3 * std).float().mean()


def hq_first_mode(s, m, std):  # distance to mode 0, not the nearest
    return ((s - m[0]).norm(dim=1) <= 3 * std).float().mean()


CASES = {
    "ring_modes": (ring_ok, [ring_linspace, ring_degrees, ring_unit]),
    "to_course_range": (
        lambda x: x.float() / 127.5 - 1,
        [lambda x: x.float() / 255, lambda x: x // 127 - 1, lambda x: (x.float() / 127.5 - 1).double()],
    ),
    "high_quality_fraction": (hq_ok, [hq_two_std, hq_per_coordinate, hq_first_mode]),
    "answer_real_fraction": (1 - math.exp(-4.5), [0.9973, 1 - math.exp(-9), math.exp(-4.5)]),
}


@pytest.mark.parametrize("name", CASES)
def test_reference_passes(name, capsys):
    getattr(check, name)(CASES[name][0])
    assert "passed" in capsys.readouterr().out


@pytest.mark.parametrize("name, index", [(n, i) for n, (_, wrong) in CASES.items() for i in range(len(wrong))])
def test_wrong_implementations_are_rejected(name, index):
    with pytest.raises(CheckFailed, match=r"Exercise 0\.\d"):
        getattr(check, name)(CASES[name][1][index])


def test_stubs_propagate_not_implemented():
    def stub(*args):
        raise NotImplementedError("Exercise 0.1")

    with pytest.raises(NotImplementedError):
        check.ring_modes(stub)


def test_messages_say_what_came_and_hint():
    with pytest.raises(CheckFailed) as info:
        check.ring_modes(ring_linspace)
    assert "expected" in str(info.value) and "got" in str(info.value) and "Hint" in str(info.value)
    assert data.ring_modes().shape == (8, 2)
