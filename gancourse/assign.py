"""Generate the student copies in exercises/ from the solved notebooks in solutions/.

In a solution notebook, a code cell that starts with ``# Exercise N.k: title`` holds the
solution between ``# BEGIN SOLUTION`` and ``# END SOLUTION`` lines; each block becomes
``raise NotImplementedError("Exercise N.k")`` at the block's indentation. In a markdown cell a
block between ``<!-- BEGIN SOLUTION -->`` and ``<!-- END SOLUTION -->`` becomes a prompt for
the student's answer. Outputs are stripped. ``python -m gancourse.assign`` regenerates every
exercise; ``--check`` only reports the ones that are out of sync (nbdev's gate).
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

from gancourse import notebooks

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


def exercise_path(solution_path: Path, exercises_dir: Path) -> Path:
    return exercises_dir / solution_path.name


def generate(root: str | Path = ".", *, check: bool = False) -> list[Path]:
    """Regenerate exercises/ from solutions/ under ``root``; return the files that were (or would be) changed."""
    root = Path(root)
    solutions = sorted((root / "solutions").glob("*.ipynb"))
    if not solutions:
        raise AssignmentError(f"no solution notebooks found in {root / 'solutions'}")
    exercises_dir = root / "exercises"
    changed = []
    expected_names = set()
    for sol in solutions:
        target = exercise_path(sol, exercises_dir)
        expected_names.add(target.name)
        text = notebooks.dumps(make_exercise(notebooks.read(sol), sol.name))
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            changed.append(target)
            if not check:
                exercises_dir.mkdir(exist_ok=True)
                tmp = target.with_name(f".{target.name}.tmp")
                tmp.write_text(text, encoding="utf-8")
                tmp.replace(target)
    stale = [p for p in exercises_dir.glob("*.ipynb") if p.name not in expected_names]
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
        print("Run `python -m gancourse.assign` to regenerate exercises/ from solutions/.")
        return 1
    if not changed:
        print("exercises/ is in sync with solutions/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
