"""Feedback at a glance: what a student sees when an exercise is untouched or its check fails, in a real kernel."""

import re
from pathlib import Path

import nbformat
import pytest

from gancourse import feedback, notebooks
from gancourse.checks import CheckFailed

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_block_for_an_untouched_exercise():
    lines = feedback.block(NotImplementedError("Exercise 3.2"))
    text = ANSI.sub("", "\n".join(lines))
    assert len(lines) <= 3
    assert text.startswith("Exercise 3.2 is not done yet")
    assert 'raise NotImplementedError("Exercise 3.2")' in text


def test_block_for_a_failed_check_keeps_message_and_hint():
    error = CheckFailed("Exercise 1.1: kl(p, q): expected 0.0852996, got 0.123061\nHint: use the natural logarithm")
    lines = [ANSI.sub("", line) for line in feedback.block(error)]
    assert lines == [
        "Exercise 1.1 did not pass its check",
        "  kl(p, q): expected 0.0852996, got 0.123061",
        "  Hint: use the natural logarithm",
    ]
    assert [ANSI.sub("", line) for line in feedback.block(CheckFailed("no exercise named"))] == [
        "A check did not pass its check",
        "  no exercise named",
    ]


@pytest.mark.parametrize("message", ["my own", "Exercise 1.1 is hard", "Exercise 1", ""])
def test_other_not_implemented_errors_get_no_block(message):
    assert feedback.block(NotImplementedError(message)) is None


def test_register_is_a_no_op_outside_ipython():
    assert feedback.register(CheckFailed) is False


STUDENT_CELLS = {
    "untouched": "check.kl(kl_discrete)",
    "wrong": "def kl_discrete(p, q):\n    return float(np.sum(p * np.log2(p / q)))\n\n\ncheck.kl(kl_discrete)",
    "own error": "def kl_discrete(p, q):\n    return p.sum() + undefined_name\n\n\ncheck.kl(kl_discrete)",
    "own NotImplementedError": "def helper():\n    raise NotImplementedError('my helper')\n\n\nhelper()",
}


@pytest.fixture(scope="module")
def student_run():
    """Exercise 1.1 of the generated exercise notebook run in a real kernel, then four things a student might do."""
    from nbclient import NotebookClient

    exercise = notebooks.read(ROOT / "exercises" / "01_kl_js_divergence.ipynb")
    setup = next(c for c in exercise.cells if "from gancourse.checks import ex01 as check" in c.source)
    stub = next(c for c in exercise.cells if (notebooks.exercise_of(c) or ("",))[0] == "1.1")
    nb = nbformat.v4.new_notebook(cells=[setup, stub] + [nbformat.v4.new_code_cell(s) for s in STUDENT_CELLS.values()])
    replies = {}
    client = NotebookClient(
        nb,
        timeout=300,
        allow_errors=True,
        kernel_name="python3",
        on_cell_executed=lambda cell, cell_index, execute_reply: replies.update({cell_index: execute_reply}),
    )
    client.execute(env={"GANCOURSE_PROFILE": "fast"})
    errors = {}
    for index, name in enumerate(STUDENT_CELLS, start=2):
        (error,) = [o for o in nb.cells[index].outputs if o.output_type == "error"]
        errors[name] = (error, replies[index]["content"]["status"])
    return errors


def _seen(error) -> str:
    """The error output as the notebook shows it: its traceback lines, without colour codes."""
    return ANSI.sub("", "\n".join(error.traceback))


def test_untouched_exercise_shows_one_short_block(student_run):
    error, status = student_run["untouched"]
    assert status == "error"  # Run All stops here, as before
    assert (error.ename, error.evalue) == ("NotImplementedError", "Exercise 1.1")  # what the grader reads
    seen = _seen(error)
    assert len(error.traceback) <= 3 and seen.startswith("Exercise 1.1 is not done yet")
    assert "gancourse" not in seen and "Traceback" not in seen and "File " not in seen


def test_failed_check_shows_expected_got_and_hint_without_the_package_frames(student_run):
    error, status = student_run["wrong"]
    assert status == "error"
    expected = (
        "Exercise 1.1: kl_discrete([0.36, 0.48, 0.16], uniform): expected 0.0852996, got 0.123061\n"
        "Hint: use the natural logarithm (np.log), not log2 or log10"
    )
    assert (error.ename, error.evalue) == ("CheckFailed", expected)  # the grader's report keeps the full text
    assert _seen(error).split("\n") == [
        "Exercise 1.1 did not pass its check",
        "  kl_discrete([0.36, 0.48, 0.16], uniform): expected 0.0852996, got 0.123061",
        "  Hint: use the natural logarithm (np.log), not log2 or log10",
    ]


def test_the_students_own_error_keeps_its_full_traceback(student_run):
    error, status = student_run["own error"]
    assert status == "error" and error.ename == "NameError"
    seen = _seen(error)
    assert "Traceback (most recent call last)" in seen
    assert "return p.sum() + undefined_name" in seen  # the student's own line
    assert "checks/ex01.py" in seen  # and the frames it came through, as Python shows them
    assert "name 'undefined_name' is not defined" in seen


def test_a_students_own_not_implemented_error_keeps_its_traceback(student_run):
    error, _ = student_run["own NotImplementedError"]
    seen = _seen(error)
    assert error.evalue == "my helper"
    assert "Traceback (most recent call last)" in seen and "raise NotImplementedError('my helper')" in seen
