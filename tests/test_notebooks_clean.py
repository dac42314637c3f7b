"""Repo policy for notebooks: committed with outputs stripped, the course skeleton, no stray installs."""

import re
from pathlib import Path

import pytest

from gancourse import notebooks

ROOT = Path(__file__).resolve().parents[1]
ALL = notebooks.course_notebooks(ROOT)
LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
BADGE = re.compile(r"https://colab\.research\.google\.com/github/gancourse/gancourse/blob/main/([\w/.-]+\.ipynb)")


def ids(p):
    return f"{p.parent.name}/{p.name}"


def test_there_are_notebooks():
    assert LECTURES and SOLUTIONS and ALL


@pytest.mark.parametrize("path", ALL, ids=ids)
def test_committed_clean(path):
    assert notebooks.is_clean(path), f"{path} has outputs or extra metadata: run `python -m gancourse.notebooks`"


@pytest.mark.parametrize("path", ALL, ids=ids)
def test_skeleton(path):
    nb = notebooks.read(path)
    assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", path.name), "name notebooks NN_snake_case.ipynb"
    title = nb.cells[0].source
    assert title.startswith("# ") and "\n> " in title, "first cell: an H1 title and a one-line blockquote"
    badge = BADGE.search(title)
    folder = "notebooks" if path.parent.name == "notebooks" else "exercises"  # students open the exercise copy
    assert badge and badge.group(1) == f"{folder}/{path.name}", "the Colab badge must open this notebook's student copy"
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert not [s for s in code if re.search(r"^\s*[!%]pip", s, re.M)], "no !pip or %pip cells"
    installs = [s for s in code if re.search(r"\bpip\b", s)]
    assert installs == [code[0]] == [notebooks.install_source()], "the only install is the first cell's"
    assert "seed_everything(" in code[1], "the setup cell seeds"
    for source in code:
        assert not re.search(r"['\"](/home|/root|/Users|C:\\\\)", source), "no absolute paths"


@pytest.mark.parametrize("path", LECTURES, ids=ids)
def test_lectures_end_with_summary_and_exercises(path):
    headings = [c.source for c in notebooks.read(path).cells if c.cell_type == "markdown"]
    text = "\n".join(headings)
    assert "## Summary" in text and "## Exercises" in text


@pytest.mark.parametrize("path", SOLUTIONS, ids=ids)
def test_every_exercise_has_a_check(path):
    nb = notebooks.read(path)
    exercises = [notebooks.exercise_of(c)[0] for c in nb.cells if notebooks.exercise_of(c)]
    checks = {notebooks.check_of(c) for c in nb.cells if notebooks.check_of(c)}
    number = str(int(path.name[:2]))
    assert len(exercises) >= 4
    assert all(e.split(".")[0] == number for e in exercises), f"exercise ids of {path.name} start with {number}."
    assert set(exercises) == checks, "each exercise is followed by a '# Check N.k' cell, and only those"


def test_readme_lists_every_lecture_and_its_exercise():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for path in LECTURES:
        assert f"(notebooks/{path.name})" in readme, f"README's lecture table misses {path.name}"
    for path in SOLUTIONS:
        assert f"(exercises/{path.name})" in readme, f"README's lecture table misses exercises/{path.name}"
