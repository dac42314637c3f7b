import shutil

import nbformat
import pytest

from gancourse import assign, notebooks


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
    for folder in ("solutions", "exercises"):
        shutil.copytree(root / folder, tmp_path / folder)
    assert assign.generate(tmp_path, check=True) == []
    solution = sorted((tmp_path / "solutions").glob("*.ipynb"))[0]
    nb = notebooks.read(solution)
    nb.cells[0].source += "\n\nAn instructor's edit."
    notebooks.write(nb, solution)
    assert assign.main(["--root", str(tmp_path), "--check"]) == 1
    assert assign.generate(tmp_path, check=True) == [tmp_path / "exercises" / solution.name]
    assign.generate(tmp_path)  # regenerating repairs it
    assert assign.generate(tmp_path, check=True) == []
