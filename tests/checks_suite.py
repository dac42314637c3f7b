"""The tests every assignment's checks get, built from one table per assignment.

A test module writes its right and wrong implementations, a table

    CASES = {check_name: (right_args, [wrong_args, ...])}

(each entry a tuple of the arguments the check takes: functions, or one number for the
``answer_*`` checks; a mistake that differs from the right answer in one place is a variant of a
parametrised builder, ``functools.partial(stack, bias=True)``), and takes the four common tests with

    test_reference_passes, test_wrong_implementations_are_rejected, \\
        test_not_implemented_passes_through, test_checks_leave_the_global_rng_alone = suite(check, CASES, "5")

pytest collects them as the module's own. A module whose checks each take one function can keep one
table, ``TABLE = {name: (right, [(wrong, words its failure must hold), ...])}``, pass ``cases_of(TABLE)``
to ``suite`` and take the test that each mistake is named with
``test_the_mistake_is_named = named_mistakes(check, TABLE)``. What a module checks beyond these (other
right answers, the references against independent computations) stays in it.
"""

from __future__ import annotations

import functools

import pytest
import torch

from gancourse.checks import CheckFailed


def _name(arg) -> str:
    """A function's name; a builder's variant, ``partial(stack, bias=True)``, as ``stack(bias=True)``."""
    if isinstance(arg, functools.partial):
        changes = [_name(a) for a in arg.args] + [f"{k}={_name(v)}" for k, v in arg.keywords.items()]
        return f"{_name(arg.func)}({', '.join(changes)})"
    if isinstance(arg, tuple):
        return f"({', '.join(_name(a) for a in arg)})"
    return getattr(arg, "__name__", repr(arg))


def _case_ids(cases: dict) -> list[str]:
    """``name-wrong_fn`` (the wrong arguments' names joined) for each wrong implementation."""
    return [f"{name}-{'-'.join(_name(a) for a in wrong)}" for name, (_, wrongs) in cases.items() for wrong in wrongs]


def suite(check, cases: dict, exercise: str):
    """The four tests of the checks module ``check`` (assignment ``exercise``, e.g. "5") over ``cases``."""
    for name, (right, wrongs) in cases.items():
        assert hasattr(check, name), f"{check.__name__} has no check {name!r}"
        assert isinstance(right, tuple) and all(isinstance(w, tuple) for w in wrongs), name
        assert wrongs, f"{name}: a check with no wrong implementation to reject proves nothing"
    attempted = [name for name in cases if not name.startswith("answer")]

    @pytest.mark.parametrize("name", list(cases))
    def test_reference_passes(name, capsys):
        getattr(check, name)(*cases[name][0])
        assert "passed" in capsys.readouterr().out

    @pytest.mark.parametrize(
        "name, index",
        [(n, i) for n, (_, wrongs) in cases.items() for i in range(len(wrongs))],
        ids=_case_ids(cases),
    )
    def test_wrong_implementations_are_rejected(name, index):
        with pytest.raises(CheckFailed, match=rf"Exercise {exercise}\.\d"):
            getattr(check, name)(*cases[name][1][index])

    @pytest.mark.parametrize("name", attempted)
    def test_not_implemented_passes_through(name):
        """The grader reads the stub's NotImplementedError as "not attempted": no check may turn it into a failure."""

        def stub(*args, **kwargs):
            raise NotImplementedError(f"Exercise {exercise}.x")

        right = cases[name][0]
        with pytest.raises(NotImplementedError):
            getattr(check, name)(*[stub] * len(right))
        if len(right) == 2:  # the first function solved, the second still a stub
            with pytest.raises(NotImplementedError):
                getattr(check, name)(right[0], stub)

    def test_checks_leave_the_global_rng_alone():
        torch.manual_seed(0)
        expected = torch.rand(3)
        torch.manual_seed(0)
        for name, (right, _) in cases.items():
            getattr(check, name)(*right)
        torch.testing.assert_close(torch.rand(3), expected)

    return (
        test_reference_passes,
        test_wrong_implementations_are_rejected,
        test_not_implemented_passes_through,
        test_checks_leave_the_global_rng_alone,
    )


def cases_of(table: dict) -> dict:
    """``suite``'s CASES from a table of one-function checks, ``{name: (right, [(wrong, words), ...])}``."""
    return {name: ((right,), [(wrong,) for wrong, _ in rows]) for name, (right, rows) in table.items()}


def named_mistakes(check, table: dict):
    """The test that each wrong implementation's failure holds its words, over ``{name: (right, [(wrong, words)])}``."""
    rows = [(name, wrong, words) for name, (_, mistakes) in table.items() for wrong, words in mistakes]

    @pytest.mark.parametrize("name, wrong, words", rows, ids=[f"{name}-{_name(wrong)}" for name, wrong, _ in rows])
    def test_the_mistake_is_named(name, wrong, words):
        with pytest.raises(CheckFailed, match=words):
            getattr(check, name)(wrong)

    return test_the_mistake_is_named
