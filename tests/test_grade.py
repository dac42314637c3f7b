"""The grader: full marks for every solution, zero for every generated exercise, partial credit exact."""

import json
from pathlib import Path

import pytest

from gancourse import assign, grade, notebooks

ROOT = Path(__file__).resolve().parents[1]

SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_each_solution_gets_full_marks(solution):
    report = grade.grade(solution)
    assert report.max_total >= 4 and len(report.exercises) >= 4
    assert report.total == report.max_total, report.text()


@pytest.mark.parametrize("solution", SOLUTIONS, ids=lambda p: p.name)
def test_each_generated_exercise_gets_zero(solution):
    report = grade.grade(ROOT / "exercises" / solution.name)
    assert report.total == 0, report.text()
    assert {e.status for e in report.exercises} == {grade.NOT_ATTEMPTED}, report.text()


def _exercise_with(tmp_path, replace: dict[str, str]):
    """The generated warm-up exercise with some exercise cells replaced by the given source (by id)."""
    solution = notebooks.read(ROOT / "solutions" / "00_warmup.ipynb")
    student = assign.make_exercise(solution)
    for cell, sol_cell in zip(student.cells, solution.cells):
        info = notebooks.exercise_of(cell)
        if info and info[0] in replace:
            cell.source = sol_cell.source if replace[info[0]] == "solution" else replace[info[0]]
    path = tmp_path / "student.ipynb"
    notebooks.write(student, path)
    return path


def test_one_solved_exercise_gets_exactly_its_points(tmp_path):
    report = grade.grade(_exercise_with(tmp_path, {"0.2": "solution"}))
    status = {e.id: e.status for e in report.exercises}
    assert status == {"0.1": "not attempted", "0.2": "passed", "0.3": "not attempted", "0.4": "not attempted"}
    assert report.total == 1


def test_wrong_and_crashing_answers_cost_only_their_exercise(tmp_path, capsys):
    wrong = "# Exercise 0.2: pixels into [-1, 1]\ndef to_course_range(images):\n    return images.float() / 255.0"
    crash = "# Exercise 0.1: the ring's modes\ndef ring_modes_by_hand(n_modes, radius):\n    return undefined_name"
    path = _exercise_with(tmp_path, {"0.1": crash, "0.2": wrong, "0.3": "solution", "0.4": "solution"})
    report = grade.grade(path)
    by_id = {e.id: e for e in report.exercises}
    assert by_id["0.1"].status == "failed" and "NameError" in by_id["0.1"].message
    assert by_id["0.2"].status == "failed" and "Exercise 0.2" in by_id["0.2"].message and "Hint" in by_id["0.2"].message
    assert by_id["0.3"].status == by_id["0.4"].status == "passed"
    assert report.total == 2

    out = tmp_path / "grade.json"
    assert grade.main([str(path), "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["total"] == 2 and result["max_total"] == 4
    assert [e["status"] for e in result["exercises"]] == ["failed", "failed", "passed", "passed"]
    assert "Total: 2/4" in capsys.readouterr().out


def test_grader_rejects_what_it_cannot_grade(tmp_path):
    with pytest.raises(FileNotFoundError):
        grade.grade(tmp_path / "missing.ipynb")
    nb = notebooks.read(ROOT / "notebooks" / "00_setup_and_tour.ipynb")
    notebooks.write(nb, tmp_path / "lecture.ipynb")
    with pytest.raises(ValueError, match="no exercise cells"):
        grade.grade(tmp_path / "lecture.ipynb")
    with pytest.raises(ValueError, match="profile"):
        grade.grade(ROOT / "solutions" / "00_warmup.ipynb", profile="turbo")
    assert grade.main([str(tmp_path / "missing.ipynb")]) == 2
