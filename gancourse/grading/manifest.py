"""The course's own copy of each assignment, and what a submission may contribute to it.

``python -m gancourse.assign`` writes one manifest per solution notebook into ``assignments/NN_name.json``
(shipped inside the package): every code cell of the student copy in order (the course's setup cells, the
stub of each exercise cell, each check as the check function and the names it is called with), each
exercise's id, title and points, and the package functions an answer may not call (own_code.py). The grader
takes all of that from here. A submission contributes only the source of its exercise cells, matched by the
id on their first line; the first cell with an id counts, ids the assignment does not have count nothing,
and everything else in the file (outputs, execution counts, other cells, headers' points) is ignored.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat

from gancourse import notebooks
from gancourse.grading.own_code import OWN_CODE

MANIFEST_DIR = Path(__file__).resolve().parent / "assignments"
NUMBER_RE = re.compile(r"^(\d{2})_")
SIZE_LIMIT = 64 * 2**20  # bytes: a submission larger than this is refused unread


class InputError(ValueError):
    """A submission the grader cannot grade (not JSON, not a notebook, no such assignment): one line says why."""


class ManifestError(ValueError):
    """A solution notebook the generator cannot turn into a manifest (a check cell it cannot parse, ...)."""


@dataclass(frozen=True)
class Exercise:
    id: str
    title: str
    points: int
    check: str  # the function of the check module
    args: tuple[str, ...]  # the names the check cell passes to it
    own_code: tuple[str, ...]  # package functions the answer may not call (own_code.py)


@dataclass(frozen=True)
class Manifest:
    assignment: str  # "05"
    notebook: str  # "05_vanilla_gan.ipynb"
    title: str
    check_module: str  # "gancourse.checks.ex05"
    steps: tuple[dict, ...]  # {"kind": "code" | "exercise" | "check", "source"?, "id"?}, in notebook order
    exercises: tuple[Exercise, ...]
    digest: str  # sha256 of everything above

    def exercise(self, ident: str) -> Exercise:
        return next(e for e in self.exercises if e.id == ident)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        raw = json.loads(text)
        exercises = tuple(
            Exercise(**{**e, "args": tuple(e["args"]), "own_code": tuple(e["own_code"])}) for e in raw["exercises"]
        )
        return cls(**{**raw, "steps": tuple(raw["steps"]), "exercises": exercises})


def _digest(fields: dict) -> str:
    return hashlib.sha256(json.dumps(fields, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def resolve(dotted: str):
    """The object a dotted name such as ``gancourse.data.ring_modes`` names."""
    module, _, name = dotted.rpartition(".")
    return getattr(importlib.import_module(module), name)


def _check_call(source: str, where: str) -> tuple[str, tuple[str, ...]]:
    """(function, argument names) of a check cell ``# Check N.k`` / ``check.fn(name, ...)``."""
    try:
        body = ast.parse(source).body
    except SyntaxError as err:
        raise ManifestError(f"{where}: the check cell is not valid Python ({err.msg})") from None
    call = body[0].value if len(body) == 1 and isinstance(body[0], ast.Expr) else None
    if not (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "check"
        and not call.keywords
        and all(isinstance(a, ast.Name) for a in call.args)
    ):
        raise ManifestError(f"{where}: a check cell must be one call `check.function(name, ...)` of plain names")
    return call.func.attr, tuple(a.id for a in call.args)


def build(solution: nbformat.NotebookNode, student: nbformat.NotebookNode, name: str) -> Manifest:
    """The manifest of one assignment from its solution notebook and the student copy generated from it."""
    number = NUMBER_RE.match(name)
    if not number:
        raise ManifestError(f"{name}: an assignment's file name starts with its number, e.g. 05_vanilla_gan.ipynb")
    check_module = f"gancourse.checks.ex{number.group(1)}"
    module = importlib.import_module(check_module)
    title = next(
        (c.source.split("\n", 1)[0].lstrip("# ").strip() for c in solution.cells if c.cell_type == "markdown"), ""
    )
    steps, exercises, pending = [], [], None
    for index, (sol, cell) in enumerate(zip(solution.cells, student.cells)):
        where = f"{name}, cell {index}"
        if cell.cell_type != "code":
            continue
        exercise, checked = notebooks.exercise_of(sol), notebooks.check_of(sol)
        if exercise:
            if pending:
                raise ManifestError(f"{where}: Exercise {pending[0]} has no '# Check {pending[0]}' cell after it")
            pending = exercise
            steps.append({"kind": "exercise", "id": exercise[0], "source": cell.source})
        elif checked:
            if not pending or pending[0] != checked:
                raise ManifestError(f"{where}: '# Check {checked}' does not follow the cell of Exercise {checked}")
            function, args = _check_call(sol.source, where)
            if not callable(getattr(module, function, None)):
                raise ManifestError(f"{where}: {check_module} has no check {function!r}")
            own = OWN_CODE.get(checked, ())
            for dotted in own:
                resolve(dotted)  # a stale name fails here, not at grading time
            exercises.append(Exercise(checked, pending[2], pending[1], function, args, own))
            steps.append({"kind": "check", "id": checked})
            pending = None
        else:
            steps.append({"kind": "code", "source": cell.source})
    if pending:
        raise ManifestError(f"{name}: Exercise {pending[0]} has no '# Check {pending[0]}' cell after it")
    if not exercises:
        raise ManifestError(f"{name}: no exercise cells")
    fields = {
        "assignment": number.group(1),
        "notebook": name,
        "title": title,
        "check_module": check_module,
        "steps": steps,
        "exercises": [asdict(e) for e in exercises],
    }
    return Manifest(**{**fields, "steps": tuple(steps), "exercises": tuple(exercises), "digest": _digest(fields)})


def available() -> dict[str, Path]:
    """{"05": path of its manifest} for every assignment the package ships."""
    return {m.group(1): p for p in sorted(MANIFEST_DIR.glob("*.json")) if (m := NUMBER_RE.match(p.name))}


def load(assignment: str) -> Manifest:
    """The shipped manifest of assignment ``"05"`` (or ``"5"``)."""
    known = available()
    key = assignment.zfill(2) if assignment.isdigit() else assignment
    if key not in known:
        raise InputError(f"there is no assignment {assignment!r}; the course has {', '.join(known) or 'none'}")
    return Manifest.from_json(known[key].read_text(encoding="utf-8"))


def read_submission(path: str | Path) -> nbformat.NotebookNode:
    """The submitted notebook, or an InputError saying in one line why it is not one."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if path.stat().st_size > SIZE_LIMIT:
        raise InputError(
            f"{path}: {path.stat().st_size / 2**20:.0f} MiB is too large for a notebook (at most {SIZE_LIMIT >> 20} MiB)"
        )
    try:
        raw = json.loads(path.read_bytes())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{path}: not a notebook (not JSON: {err})") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
        raise InputError(f"{path}: not a notebook (JSON without a list of cells)")
    try:
        nb = nbformat.reads(json.dumps(raw), as_version=notebooks.NB_VERSION)
        for cell in nb.cells:
            if not isinstance(cell.get("source"), str) or not isinstance(cell.get("cell_type"), str):
                raise ValueError("a cell without a cell_type or a source")
    except Exception as err:  # nbformat raises many kinds on malformed files
        raise InputError(f"{path}: not a notebook nbformat can read ({type(err).__name__}: {err})") from None
    return nb


def infer_assignment(path: str | Path, nb: nbformat.NotebookNode) -> tuple[str, str]:
    """(assignment, how it was told): the notebook's metadata, else its file name, else its exercise headers."""
    known = available()
    meta = nb.metadata.get("gancourse", {})
    tagged = meta.get("assignment") if isinstance(meta, dict) else None
    if isinstance(tagged, str) and tagged in known:
        return tagged, "the notebook's metadata"
    named = NUMBER_RE.match(Path(path).name)
    if named and named.group(1) in known:
        return named.group(1), "the file name"
    ids = [e[0] for c in nb.cells if (e := notebooks.exercise_of(c))]
    numbers = {i.split(".")[0].zfill(2) for i in ids} & set(known)
    if len(numbers) == 1:
        return numbers.pop(), "the exercise headers"
    raise InputError(f"{path}: cannot tell which assignment this is; pass --assignment NN")


def student_sources(nb: nbformat.NotebookNode, manifest: Manifest) -> tuple[dict[str, str], list[str]]:
    """({exercise id: the submitted cell's source}, notes on what was ignored) for one submission."""
    wanted = {e.id: e for e in manifest.exercises}
    official = {s["source"].strip() for s in manifest.steps if s["kind"] == "code"}
    sources: dict[str, str] = {}
    notes, others, foreign, copies = [], 0, [], {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        header = notebooks.exercise_of(cell)
        if header is None:  # the course's own cells (setup, checks) are run from its copy whatever they say here
            text = cell.source.strip()
            others += bool(text) and text not in official and notebooks.check_of(cell) is None
            continue
        ident, points = header[0], header[1]
        if ident not in wanted:
            foreign.append(ident)
        elif ident in sources:
            copies[ident] = copies.get(ident, 0) + 1
        else:
            sources[ident] = cell.source
            if points != wanted[ident].points:
                notes.append(
                    f"exercise {ident}'s header claims {points} points; the course gives it {wanted[ident].points}"
                )
    for ident, n in copies.items():
        notes.append(f"{n} more cells for exercise {ident} were ignored (the first one counts)")
    if foreign:
        notes.append(f"cells for exercises that assignment {manifest.assignment} does not have were ignored: {foreign}")
    missing = [i for i in wanted if i not in sources]
    if missing:
        notes.append(f"no cell for exercises {missing} (an exercise cell's first line is '# Exercise N.k: ...')")
    if others:
        notes.append(
            f"{others} code cells that are not in the course's copy were not run: only exercise cells are graded "
            "(setup and check cells come from the course's copy)"
        )
    return sources, notes
