"""The tests every assignment's checks get, built from one table per assignment.

A test module writes its right and wrong implementations, a table

    CASES = {check_name: (right_args, [wrong_args, ...])}

(each entry a tuple of the arguments the check takes: functions, or one number for the
``answer_*`` checks), and takes the four common tests with

    test_reference_passes, test_wrong_implementations_are_rejected, \\
        test_not_implemented_passes_through, test_checks_leave_the_global_rng_alone = suite(check, CASES, "5")

pytest collects them as the module's own. What a module checks beyond these (messages naming the
mistake, other right answers, the references against independent computations) stays in it.
"""

from __future__ import annotations

import pytest
import torch

from gancourse.checks import CheckFailed


def _case_ids(cases: dict) -> list[str]:
    """``name-wrong_fn`` (the wrong arguments' names joined) for each wrong implementation."""
    return [
        f"{name}-{'-'.join(getattr(a, '__name__', repr(a)) for a in wrong)}"
        for name, (_, wrongs) in cases.items()
        for wrong in wrongs
    ]


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
