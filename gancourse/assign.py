"""Generate the student copies in exercises/ from the solved notebooks in solutions/.

In a solution notebook, a code cell that starts with ``# Exercise N.k: title`` holds the
solution between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines; each block becomes
``raise NotImplementedError("Exercise N.k")`` at the block's indentation. In a markdown cell a
block between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` becomes a prompt for
the student's answer. Outputs are stripped. Beside each student copy it writes the assignment's manifest
(``gancourse/grading/assignments/NN_name.json``: the course's cells, exercise ids, titles, points and checks,
which is all the grader trusts) and stamps the copy's metadata with the assignment's number and the manifest's
digest. ``python -m gancourse.assign`` regenerates every exercise and manifest; ``--check`` only reports the
ones that are out of sync (nbdev's gate).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

from gancourse import notebooks
from gancourse.grading import manifest as manifests

BEGIN_RE = re.compile(r"^(\s*)(#|<!--)\s*BEGIN SOLUTION\b")
END_RE = re.compile(r"^\s*(#|<!--)\s*END SOLUTION\b")
ANSWER_PROMPT = "*Write your answer here.*"


class AssignmentError(ValueError):
    """A solution notebook is malformed (unmatched markers, a solution outside an exercise cell)."""


def _strip_blocks(source: str, replacement, where: str) -> str:
    out, inside = [], False
    for lineno, line in enumerate(source.split("\n"), 1):
        begin, end = BEGIN_RE.match(line), END_RE.match(line)
        if begin:
            if inside:
                raise AssignmentError(f"{where}, line {lineno}: BEGIN SOLUTION inside another solution block")
            inside = True
            out.append(replacement(begin.group(1)))
        elif end:
            if not inside:
                raise AssignmentError(f"{where}, line {lineno}: END SOLUTION without a BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise AssignmentError(f"{where}: BEGIN SOLUTION is never closed by END SOLUTION")
    return "\n".join(out)


def make_exercise(solution: notebooks.nbformat.NotebookNode, name: str = "notebook"):
    """The student copy of a solution notebook: solution blocks replaced, outputs stripped."""
    nb = copy.deepcopy(solution)
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        where = f"{name}, cell {index}"
        has_block = any(BEGIN_RE.match(line) or END_RE.match(line) for line in cell.source.split("\n"))
        if cell.cell_type == "markdown":
            if has_block:
                cell.source = _strip_blocks(cell.source, lambda indent: ANSWER_PROMPT, where)
            continue
        if cell.cell_type != "code":
            continue
        exercise = notebooks.exercise_of(cell)
        if exercise:
            if exercise[0] in seen:
                raise AssignmentError(f"{where}: Exercise {exercise[0]} appears in more than one cell")
            seen.add(exercise[0])
        if not has_block:
            continue
        if exercise is None:
            raise AssignmentError(
                f"{where}: a solution block must sit in a cell whose first line is '# Exercise N.k: title'"
            )
        ident = exercise[0]
        cell.source = _strip_blocks(
            cell.source, lambda indent, ident=ident: f'{indent}raise NotImplementedError("Exercise {ident}")', where
        )
    return notebooks.clean(nb)


def make_assignment(solution: notebooks.nbformat.NotebookNode, name: str):
    """(the student copy, stamped with its assignment and manifest digest; the manifest) of a solution notebook."""
    student = make_exercise(solution, name)
    try:
        manifest = manifests.build(solution, student, name)
    except manifests.ManifestError as err:
        raise AssignmentError(str(err)) from None
    student.metadata["gancourse"] = {"assignment": manifest.assignment, "manifest": manifest.digest[:16]}
    return student, manifest


def exercise_path(solution_path: Path, exercises_dir: Path) -> Path:
    return exercises_dir / solution_path.name


def _write_if_changed(target: Path, text: str, check: bool) -> bool:
    if target.exists() and target.read_text(encoding="utf-8") == text:
        return False
    if not check:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    return True


def generate(root: str | Path = ".", *, check: bool = False) -> list[Path]:
    """Regenerate exercises/ and the grader's manifests from solutions/ under ``root``; return the files that were
    (or would be) changed."""
    root = Path(root)
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    if not solutions:
        raise AssignmentError(f"no solution notebooks found in {root / 'solutions'}")
    exercises_dir = root / "exercises"
    manifest_dir = root / manifests.MANIFEST_DIR.relative_to(Path(manifests.__file__).resolve().parents[2])
    changed = []
    expected = set()
    for sol in solutions:
        student, manifest = make_assignment(notebooks.read(sol), sol.name)
        for target, text in (
            (exercise_path(sol, exercises_dir), notebooks.dumps(student)),
            (manifest_dir / f"{sol.stem}.json", manifest.to_json()),
        ):
            expected.add(target)
            if _write_if_changed(target, text, check):
                changed.append(target)
    stale = [p for d, ext in ((exercises_dir, "ipynb"), (manifest_dir, "json")) for p in d.glob(f"*.{ext}")]
    stale = [p for p in stale if p not in expected]
    changed.extend(stale)
    if not check:
        for p in stale:
            p.unlink()
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gancourse.assign", description=__doc__.splitlines()[0])
    parser.add_argument("--root", default=".", help="the course's folder (default: the current one)")
    parser.add_argument("--check", action="store_true", help="report exercises that are out of sync; change nothing")
    args = parser.parse_args(argv)
    changed = generate(args.root, check=args.check)
    for p in changed:
        print(f"{'out of sync' if args.check else 'wrote'}: {p}")
    if args.check and changed:
        print("Run `python -m gancourse.assign` to regenerate exercises/ and the manifests from solutions/.")
        return 1
    if not changed:
        print("exercises/ and the grader's manifests are in sync with solutions/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
