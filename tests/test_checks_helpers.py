"""The helpers every check uses: a student's number or tensor, a seeded build that leaves the global RNG alone, a call
whose errors become failed checks, stale gradients, and the hint that names a known mistake."""

import math

import numpy as np
import pytest
import torch

from gancourse.checks import CheckFailed, call, expect_close, expect_tensor, number, rng_kept, stale_gradients

# ---- number: a student's one-number answer


@pytest.mark.parametrize(
    "answer",
    [0.25, 1, np.float64(0.25), np.array(0.25), np.array([0.25]), [0.25], torch.tensor(0.25), torch.tensor([[0.25]])],
    ids=["float", "int", "np.float64", "0-d array", "(1,) array", "list", "0-d tensor", "(1, 1) tensor"],
)
def test_a_number_comes_back_0_d(answer):
    got = number(answer, "0.4", "the share")
    assert np.shape(got) == () and float(got) == pytest.approx(0.25 if answer != 1 else 1.0)


def test_a_number_keeps_its_precision_so_float32_tolerance_applies():
    assert number(torch.tensor([0.25]), "0.4", "the share").dtype == torch.float32
    assert number(np.float32(0.25), "0.4", "the share").dtype == np.float32
    third = torch.tensor(1 / 3)  # float32: 1e-8 away from 1/3, more than rtol 1e-9 allows a float64
    expect_close(number(third, "1.1", "KL"), 1 / 3, "1.1", "KL", rtol=1e-9)
    with pytest.raises(CheckFailed):
        expect_close(number(third.item(), "1.1", "KL"), 1 / 3, "1.1", "KL", rtol=1e-9)


@pytest.mark.parametrize(
    "answer, words",
    [
        (np.array([0.1, 0.2]), r"Exercise 2.3: V should be one number, got an array of shape \(2,\)"),
        (torch.zeros(2, 2), r"V should be one number, got an array of shape \(2, 2\)"),
        ("lots", "V should be a number or an array of numbers, got str"),
        (None, r"V should be a number or an array of numbers, got None\nHint: return the result"),
    ],
)
def test_what_is_not_one_number_fails_and_says_what_came(answer, words):
    with pytest.raises(CheckFailed, match=words):
        number(answer, "2.3", "V")


def test_an_integer_answer_must_be_an_int():
    assert number(14, "8.1", "size", integer=True) == 14
    assert number(np.int64(14), "8.1", "size", integer=True) == 14
    assert number(torch.tensor(14), "8.1", "size", integer=True) == 14
    for wrong in (14.0, True, "14", np.float64(14), torch.tensor(14.5)):
        with pytest.raises(CheckFailed, match=rf"size should be an int, got {type(wrong).__name__}[\s\S]*Hint: whole"):
            number(wrong, "8.1", "size", integer=True, hint="whole numbers")


# ---- expect_tensor: a student's tensor answer, of a shape


def test_a_tensor_of_the_right_shape_comes_back():
    z = torch.zeros(8, 4)
    assert expect_tensor(z, "10.3", "z", shape=(8, 4)) is z
    assert expect_tensor(torch.tensor(1.0), "7.3", "the penalty", shape=()).ndim == 0


def test_what_is_not_a_tensor_of_the_shape_fails_and_says_what_came():
    with pytest.raises(CheckFailed, match=r"Exercise 10.3: z should be a torch.Tensor, got ndarray"):
        expect_tensor(np.zeros((8, 4)), "10.3", "z", shape=(8, 4))
    with pytest.raises(CheckFailed, match=r"z should have shape \(8, 4\), got \(4, 8\)\nHint: elementwise"):
        expect_tensor(torch.zeros(4, 8), "10.3", "z", shape=(8, 4), hint="elementwise")


def test_stale_gradients_fill_every_parameter():
    nets = torch.nn.Linear(2, 3), torch.nn.Sequential(torch.nn.Linear(3, 1), torch.nn.Linear(1, 1))
    stale_gradients(*nets)
    assert all(torch.equal(p.grad, torch.full_like(p, 5.0)) for net in nets for p in net.parameters())


# ---- rng_kept: a seeded build, and a watch on the global RNG


def test_a_seeded_build_is_reproducible_and_leaves_the_global_rng_alone():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    with rng_kept(seed=4):
        a = torch.nn.Linear(3, 2).weight.detach().clone()
    with rng_kept(seed=4):
        b = torch.nn.Linear(3, 2).weight.detach().clone()
    torch.manual_seed(4)
    c = torch.nn.Linear(3, 2).weight.detach()
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(a, c, rtol=0, atol=0)  # the same stream as torch.manual_seed(4)
    torch.manual_seed(0)
    with rng_kept(seed=4):
        torch.rand(5)
    torch.testing.assert_close(torch.rand(3), expected)


def test_the_global_rng_is_restored_when_the_block_fails():
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    with pytest.raises(CheckFailed), rng_kept(seed=1):
        torch.rand(2)
        raise CheckFailed("Exercise 7.1: no")
    torch.testing.assert_close(torch.rand(3), expected)


def test_rng_kept_tells_whether_the_block_drew_from_the_global_rng():
    with rng_kept() as rng:
        torch.rand(2, generator=torch.Generator().manual_seed(1))
    assert not rng.drew
    with rng_kept() as rng:
        torch.rand(2)
    assert rng.drew


# ---- call: the student's errors become failed checks, a stub stays "not attempted"


def test_call_returns_the_answer_and_turns_errors_into_a_failed_check():
    assert call("10.1", "concat", lambda a, b: a + b, 1, 2) == 3
    with pytest.raises(CheckFailed, match=r"Exercise 10.1: concat raised IndexError: .*\nHint: dim=1"):
        call("10.1", "concat", lambda: [][1], hint="dim=1")


def test_call_lets_a_stub_through():
    def stub():
        raise NotImplementedError("Exercise 10.1")

    with pytest.raises(NotImplementedError, match="Exercise 10.1"):
        call("10.1", "concat", stub)


# ---- expect_close(mistakes=...): the hint that names a known mistake


MISTAKES = [(math.exp(-4.5), "the share OUTSIDE"), (0.9973, "the 1-D rule")]


@pytest.mark.parametrize(
    "got, hint",
    [
        (math.exp(-4.5), "the share OUTSIDE"),
        (0.9973, "the 1-D rule"),
        (0.99731, "the 1-D rule"),  # within 1e-4 of the mistake's value
        (0.5, "Rayleigh"),  # no known mistake: the check's own hint
        ([0.9973, 0.0], "Rayleigh"),  # another shape: no known mistake either
    ],
)
def test_a_known_mistake_is_named(got, hint):
    with pytest.raises(CheckFailed, match=rf"Hint: {hint}"):
        expect_close(got, 1 - math.exp(-4.5), "0.4", "the share", hint="Rayleigh", mistakes=MISTAKES)


def test_a_mistake_that_is_also_right_here_is_not_named():
    right = 1 - math.exp(-4.5)
    with pytest.raises(CheckFailed, match="Hint: Rayleigh"):  # 1e-5 off: wrong, but not for the named reason
        expect_close(right + 1e-5, right, "0.4", "the share", hint="Rayleigh", mistakes=[(right, "a mistake")])
    expect_close(0.9973, 0.9973, "0.4", "the share", mistakes=MISTAKES)  # a right answer passes, whatever the table


def test_mistakes_may_be_tensors_and_pairs():
    with pytest.raises(CheckFailed, match="Hint: swapped"):
        expect_close((2.0, 1.0), (1.0, 2.0), "3.1", "step", mistakes=[(torch.tensor([2.0, 1.0]), "swapped")])
