"""Every check of assignment 00 passes the reference solution and rejects known-wrong implementations."""

import math

import pytest
import torch
from checks_suite import suite

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


def ring_clockwise(n, r):  # the task asks for counter-clockwise (mode k at angle +2*pi*k/n)
    return ring_ok(n, r) * torch.tensor([1.0, -1.0])


def hq_ok(s, m, std):
    return (torch.cdist(s, m).min(1).values <= 3 * std).float().mean()


def hq_two_std(s, m, std):
    return (torch.cdist(s, m).min(1).values <= 2 * std).float().mean()


def hq_per_coordinate(s, m, std):  # box instead of disc
    d = (s[:, None, :] - m[None]).abs().amax(-1).min(1).values
    return (d <= 3 * std).float().mean()


def hq_first_mode(s, m, std):  # distance to mode 0, not the nearest
    return ((s - m[0]).norm(dim=1) <= 3 * std).float().mean()


def real_fraction_ok(k):
    return 1 - math.exp(-(k**2) / 2)


def real_fraction_copied(k):  # lecture 00's 98.9 %, exact, for every k
    return 1 - math.exp(-4.5)


def real_fraction_1d_rule(k):  # P(|x| <= k) in one dimension: 99.7 % at k = 3
    return math.erf(k / math.sqrt(2))


def real_fraction_box(k):  # both coordinates within k std: a square, not a disc
    return math.erf(k / math.sqrt(2)) ** 2


def real_fraction_outside(k):
    return math.exp(-(k**2) / 2)


def real_fraction_no_half(k):
    return 1 - math.exp(-(k**2))


def real_fraction_simulated(k):  # 200,000 samples: about 1e-3 off, not the closed form
    r = torch.randn(200_000, 2, generator=torch.Generator().manual_seed(0)).norm(dim=1)
    return (r <= k).double().mean()


CASES = {
    "ring_modes": ((ring_ok,), [(ring_linspace,), (ring_degrees,), (ring_unit,), (ring_clockwise,)]),
    "to_course_range": (
        (lambda x: x.float() / 127.5 - 1,),
        [(lambda x: x.float() / 255,), (lambda x: x // 127 - 1,), (lambda x: (x.float() / 127.5 - 1).double(),)],
    ),
    "high_quality_fraction": ((hq_ok,), [(hq_two_std,), (hq_per_coordinate,), (hq_first_mode,)]),
    "real_fraction": (
        (real_fraction_ok,),
        [
            (real_fraction_copied,),
            (real_fraction_1d_rule,),
            (real_fraction_box,),
            (real_fraction_outside,),
            (real_fraction_no_half,),
            (real_fraction_simulated,),
        ],
    ),
}

(
    test_reference_passes,
    test_wrong_implementations_are_rejected,
    test_not_implemented_passes_through,
    test_checks_leave_the_global_rng_alone,
) = suite(check, CASES, "0")


def test_messages_say_what_came_and_hint():
    with pytest.raises(CheckFailed) as info:
        check.ring_modes(ring_linspace)
    assert "expected" in str(info.value) and "got" in str(info.value) and "Hint" in str(info.value)
    assert data.ring_modes().shape == (8, 2)


def test_messages_name_the_mistake():
    with pytest.raises(CheckFailed, match=r"runs clockwise[\s\S]*Hint: go counter-clockwise"):
        check.ring_modes(ring_clockwise)
    with pytest.raises(CheckFailed, match=r"float32, got torch.float64[\s\S]*not .double\(\)"):
        check.to_course_range(lambda x: (x.float() / 127.5 - 1).double())
    with pytest.raises(CheckFailed, match=r"float32, got torch.int64[\s\S]*integer arithmetic truncates"):
        check.to_course_range(lambda x: x.long() // 127 - 1)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (real_fraction_copied, r"real_fraction\(1.0\).*expected 0.393469, got 0.988891"),
        (real_fraction_1d_rule, "the 1-D rule"),
        (real_fraction_box, "a square box"),
        (real_fraction_outside, "OUTSIDE the disc"),
        (real_fraction_no_half, r"the exponent is -k\*\*2 / 2"),
    ],
)
def test_the_real_fraction_mistake_is_named(wrong, words):
    with pytest.raises(CheckFailed, match=words):
        check.real_fraction(wrong)


def test_other_right_real_fractions_pass(capsys):
    from scipy import stats

    check.real_fraction(lambda k: stats.rayleigh.cdf(k))  # a NumPy float
    check.real_fraction(lambda k: stats.chi2(2).cdf(k**2))  # r^2 is chi-square with 2 degrees of freedom
    check.real_fraction(lambda k: 1 - torch.exp(torch.tensor(-(k**2) / 2)))  # a float32 tensor
    assert capsys.readouterr().out.count("passed") == 3


def test_a_rounded_98_9_is_rejected_at_the_printed_radius():
    with pytest.raises(CheckFailed, match=r"real_fraction\(3.0\).*expected 0.988891, got 0.989"):
        check.real_fraction(lambda k: 0.989)
