import shutil

import nbformat
import pytest

from gancourse import assign, notebooks
from gancourse.grading import manifest


def _nb(*sources, markdown=()):
    cells = [nbformat.v4.new_code_cell(s) for s in sources] + [nbformat.v4.new_markdown_cell(m) for m in markdown]
    return nbformat.v4.new_notebook(cells=cells)


def test_solution_blocks_become_stubs_at_their_indentation():
    src = (
        "# Exercise 3.2: the update\n"
        "def step(x):\n"
        "    y = x + 1\n"
        "    # BEGIN SOLUTION\n"
        "    return secret(y)\n"
        "    # END SOLUTION\n"
        "\n"
        "# BEGIN SOLUTION\n"
        "top_level = 1\n"
        "# END SOLUTION"
    )
    out = assign.make_exercise(_nb(src)).cells[0].source
    assert out == (
        "# Exercise 3.2: the update\n"
        "def step(x):\n"
        "    y = x + 1\n"
        '    raise NotImplementedError("Exercise 3.2")\n'
        "\n"
        'raise NotImplementedError("Exercise 3.2")'
    )


def test_markdown_answers_are_replaced_and_outputs_stripped():
    nb = _nb(
        "# Exercise 1.1: a\n# BEGIN SOLUTION\nx = 1\n# END SOLUTION",
        markdown=["Q?\n<!-- BEGIN SOLUTION -->\nsecret\n<!-- END SOLUTION -->"],
    )
    nb.cells[0].outputs = [nbformat.v4.new_output("stream", text="leak")]
    nb.cells[0].execution_count = 4
    ex = assign.make_exercise(nb)
    assert ex.cells[0].outputs == [] and ex.cells[0].execution_count is None
    assert ex.cells[1].source == f"Q?\n{assign.ANSWER_PROMPT}"
    assert nb.cells[0].outputs  # the solution itself is untouched


@pytest.mark.parametrize(
    "sources, match",
    [
        (["# Exercise 1.1: a\n# BEGIN SOLUTION\nx = 1"], "never closed"),
        (["# Exercise 1.1: a\nx = 1\n# END SOLUTION"], "END SOLUTION without"),
        (["# Exercise 1.1: a\n# BEGIN SOLUTION\n# BEGIN SOLUTION\n# END SOLUTION"], "inside another"),
        (["x = 1\n# BEGIN SOLUTION\ny = 2\n# END SOLUTION"], "Exercise N.k"),
        (["# Exercise 1.1: a\nx = 1", "# Exercise 1.1: b\ny = 1"], "more than one cell"),
    ],
)
def test_malformed_solutions_are_rejected(sources, match):
    with pytest.raises(assign.AssignmentError, match=match):
        assign.make_exercise(_nb(*sources), "bad.ipynb")


def test_exercise_header_parsing():
    cell = nbformat.v4.new_code_cell("# Exercise 4.3 (2 points): the dual\npass")
    assert notebooks.exercise_of(cell) == ("4.3", 2, "the dual")
    assert notebooks.exercise_of(nbformat.v4.new_code_cell("# Exercise 4.3: x")) == ("4.3", 1, "x")
    assert notebooks.check_of(nbformat.v4.new_code_cell("# Check 4.3\ncheck.x()")) == "4.3"
    assert notebooks.exercise_of(nbformat.v4.new_markdown_cell("# Exercise 4.3: x")) is None


def test_committed_exercises_are_in_sync_with_solutions(root):
    stale = assign.generate(root, check=True)
    assert stale == [], f"exercises/ is out of sync with solutions/ for {stale}: run `python -m gancourse.assign`"


def test_the_sync_gate_fails_when_a_solution_is_edited(root, tmp_path):
    for folder in ("solutions", "exercises", "gancourse/grading/assignments"):
        shutil.copytree(root / folder, tmp_path / folder)
    assert assign.generate(tmp_path, check=True) == []
    solution = sorted((tmp_path / "solutions").glob("*.ipynb"))[0]
    nb = notebooks.read(solution)
    nb.cells[0].source += "\n\nAn instructor's edit."
    notebooks.write(nb, solution)
    assert assign.main(["--root", str(tmp_path), "--check"]) == 1
    assert assign.generate(tmp_path, check=True) == [tmp_path / "exercises" / solution.name]
    nb.cells[2].source += "\nprint('an edit of the setup cell')"  # a code cell: the grader's copy changes too
    notebooks.write(nb, solution)
    manifest_path = tmp_path / "gancourse" / "grading" / "assignments" / f"{solution.stem}.json"
    assert assign.generate(tmp_path, check=True) == [tmp_path / "exercises" / solution.name, manifest_path]
    assign.generate(tmp_path)  # regenerating repairs it
    assert assign.generate(tmp_path, check=True) == []


def test_each_assignment_ships_a_manifest_without_its_solutions(root):
    """The grader's copy: every code cell of the student copy, exercise ids, titles, points and checks, no solution."""
    shipped = manifest.available()
    assert sorted(shipped) == sorted(p.name[:2] for p in (root / "solutions").glob("*.ipynb"))
    for number in shipped:
        m = manifest.load(number)
        student_copy = notebooks.read(root / "exercises" / m.notebook)
        assert student_copy.metadata["gancourse"] == {"assignment": number, "manifest": m.digest[:16]}
        assert [e.id for e in m.exercises] == [s["id"] for s in m.steps if s["kind"] == "check"]
        assert all(e.points >= 1 and e.title and e.check and e.args for e in m.exercises)
        shipped_code = "\n".join(s.get("source", "") for s in m.steps)
        solution = notebooks.read(root / "solutions" / m.notebook)
        for cell in solution.cells:
            for block in cell.source.split("BEGIN SOLUTION")[1:]:
                lines = [line.strip() for line in block.split("END SOLUTION")[0].splitlines()[1:-1]]
                assert not [line for line in lines if len(line) > 20 and line in shipped_code], m.notebook


@pytest.mark.parametrize(
    "check, match",
    [
        ("# Check 1.1\ncheck.kl(f)\nprint('again')", "one call"),
        ("# Check 1.1\nimport os\ncheck.kl(os.getcwd())", "one call"),
        ("# Check 1.1\ncheck.kl(f, rtol=1)", "one call"),
        ("# Check 1.1\ncheck.no_such_check(f)", "has no check"),
        ("# Check 1.2\ncheck.kl(f)", "does not follow"),
    ],
)
def test_a_check_cell_the_grader_cannot_run_on_its_own_is_refused(check, match):
    nb = _nb("import math", "# Exercise 1.1: a\n# BEGIN SOLUTION\nf = 1\n# END SOLUTION", check)
    with pytest.raises(assign.AssignmentError, match=match):
        assign.make_assignment(nb, "01_test.ipynb")


def test_an_exercise_without_its_check_is_refused():
    nb = _nb("# Exercise 1.1: a\nf = 1", "# Exercise 1.2: b\ng = 1", "# Check 1.2\ncheck.kl(g)")
    with pytest.raises(assign.AssignmentError, match="no '# Check 1.1' cell"):
        assign.make_assignment(nb, "01_test.ipynb")


def test_every_own_code_name_resolves_to_a_package_function():
    # A renamed or moved function would silently stop being caught as "the package's own implementation".
    import importlib

    from gancourse.grading.own_code import OWN_CODE

    for exercise, names in OWN_CODE.items():
        for name in names:
            module, _, attr = name.rpartition(".")
            assert callable(getattr(importlib.import_module(module), attr, None)), (
                f"{exercise}: {name} does not resolve"
            )
