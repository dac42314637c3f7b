"""tests/checks_suite.py can fail: each of its four tests catches the check it exists to catch."""

import types
from functools import partial

import pytest
import torch
from checks_suite import _case_ids, cases_of, named_mistakes, suite

from gancourse.checks import CheckFailed


def _doubling_check(draw_from_global_rng=False, stub_becomes=None, accept_anything=False, silent=False):
    """A check of 'f(x) == 2x' for exercise 3.1, wrong in the ways asked for."""

    def check(fn):
        if draw_from_global_rng:
            torch.rand(1)
        try:
            got = fn(1.5)
        except NotImplementedError:
            if stub_becomes is None:
                raise
            if stub_becomes == "failure":  # the grader would say "failed" where it should say "not attempted"
                raise CheckFailed("Exercise 3.1: got nothing") from None
            print("Exercise 3.1 passed")
            return
        if not accept_anything and got != 3.0:
            raise CheckFailed(f"Exercise 3.1: expected 3.0, got {got}")
        if not silent:
            print("Exercise 3.1 passed")

    return types.SimpleNamespace(__name__="fake_checks", doubling=check)


CASES = {"doubling": ((lambda x: 2 * x,), [(lambda x: x,)])}


def test_a_sound_check_passes_all_four(capsys):
    reference, wrong, stub, rng = suite(_doubling_check(), CASES, "3")
    reference("doubling", capsys)
    wrong("doubling", 0)
    stub("doubling")
    rng()


def test_a_check_that_never_says_passed_is_caught(capsys):
    reference, *_ = suite(_doubling_check(silent=True), CASES, "3")
    with pytest.raises(AssertionError):
        reference("doubling", capsys)


def test_a_check_that_accepts_anything_is_caught():
    _, wrong, _, _ = suite(_doubling_check(accept_anything=True), CASES, "3")
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        wrong("doubling", 0)


def test_a_check_that_passes_a_stub_is_caught():
    _, _, stub, _ = suite(_doubling_check(stub_becomes="pass"), CASES, "3")
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        stub("doubling")


def test_a_check_that_fails_a_stub_is_caught():
    _, _, stub, _ = suite(_doubling_check(stub_becomes="failure"), CASES, "3")
    with pytest.raises(CheckFailed):
        stub("doubling")


def test_a_check_that_draws_from_the_global_rng_is_caught():
    *_, rng = suite(_doubling_check(draw_from_global_rng=True), CASES, "3")
    with pytest.raises(AssertionError):
        rng()


def test_a_wrong_exercise_number_in_the_message_is_caught():
    _, wrong, _, _ = suite(_doubling_check(), CASES, "4")
    with pytest.raises(AssertionError, match="Exercise 4"):
        wrong("doubling", 0)


def test_a_table_without_wrong_implementations_is_refused():
    with pytest.raises(AssertionError, match="proves nothing"):
        suite(_doubling_check(), {"doubling": ((lambda x: 2 * x,), [])}, "3")


def test_a_builders_variant_is_named_by_what_it_changes():
    def stack(latent_dim, width, *, bias=False, kinds=(torch.nn.Linear,)):
        return None

    wrongs = [(partial(stack, bias=True),), (partial(stack, kinds=(torch.nn.Linear, torch.nn.Conv2d)),)]
    assert _case_ids({"generator_stack": ((stack,), wrongs)}) == [
        "generator_stack-stack(bias=True)",
        "generator_stack-stack(kinds=(Linear, Conv2d))",
    ]


def test_a_mistake_named_in_other_words_is_caught():
    named = named_mistakes(_doubling_check(), {"doubling": (lambda x: 2 * x, [(lambda x: x, "expected 3.0")])})
    named("doubling", lambda x: x, "expected 3.0")
    with pytest.raises(AssertionError, match="did not match"):
        named("doubling", lambda x: x, "a hint the check does not give")
    with pytest.raises(pytest.fail.Exception, match="DID NOT RAISE"):
        named("doubling", lambda x: 2 * x, "expected 3.0")  # a right answer in the table of mistakes


def test_a_table_gives_the_suite_its_cases():
    def right(x):
        return 2 * x

    def wrong(x):
        return x

    assert cases_of({"doubling": (right, [(wrong, "expected 3.0")])}) == {"doubling": ((right,), [(wrong,)])}
