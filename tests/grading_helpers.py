"""Student notebooks for the grader's tests: the generated exercise copy with some cells replaced."""

from __future__ import annotations

from pathlib import Path

import nbformat

from gancourse import notebooks
from gancourse.grading import sandbox

ROOT = Path(__file__).resolve().parents[1]
HAS_BWRAP = sandbox.bwrap() is not None


def student(
    tmp_path: Path,
    replace: dict[str, str] | None = None,
    *,
    assignment: str = "00_warmup",
    name: str = "student.ipynb",
    setup: str | None = None,
    checks: dict[str, str] | None = None,
    add: tuple[str, ...] = (),
    stale: bool = False,
) -> Path:
    """A submission of ``assignment``: exercise cells replaced by id (``"solution"`` takes the solution's cell),
    the setup cell and check cells replaced, cells added at the end, and, with ``stale``, outputs that claim
    every check passed (as a notebook run before it was edited would carry)."""
    nb = notebooks.read(ROOT / "exercises" / f"{assignment}.ipynb")
    solution = notebooks.read(ROOT / "solutions" / f"{assignment}.ipynb")
    for cell, solved in zip(nb.cells, solution.cells):
        exercise, checked = notebooks.exercise_of(cell), notebooks.check_of(cell)
        if exercise and replace and exercise[0] in replace:
            cell.source = solved.source if replace[exercise[0]] == "solution" else replace[exercise[0]]
        elif checked and checks and checked in checks:
            cell.source = checks[checked]
        elif setup is not None and cell.cell_type == "code" and "as check" in cell.source:
            cell.source = setup
        if stale and cell.cell_type == "code":
            cell.execution_count = 1
            if checked:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"Exercise {checked}: passed ✓\n")]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in add]
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def solved(ident: str, assignment: str = "00_warmup") -> str:
    """The body of exercise ``ident``'s solved cell (its header line left out)."""
    nb = notebooks.read(ROOT / "solutions" / f"{assignment}.ipynb")
    source = next(c.source for c in nb.cells if (e := notebooks.exercise_of(c)) and e[0] == ident)
    return source.split("\n", 1)[1]


def statuses(report) -> dict[str, str]:
    return {e.id: e.status for e in report.exercises}
