"""Notebook files: reading, cleaning (outputs stripped, metadata minimal) and exercise markers.

Repo policy (README): notebooks are committed with outputs stripped; tests/test_notebooks_clean.py
enforces it and ``python -m gancourse.notebooks`` cleans them in place.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

NB_VERSION = 4
# "# Exercise 1.2: title" or "# Exercise 1.2 (2 points): title" on the first line of a code cell
EXERCISE_RE = re.compile(r"^#\s*Exercise\s+(\d+\.\d+)(?:\s*\((\d+)\s*points?\))?\s*:?\s*(.*)$")
# "# Check 1.2" on the first line of the cell that checks it
CHECK_RE = re.compile(r"^#\s*Check\s+(\d+\.\d+)\b")
KEEP_METADATA = {"kernelspec", "language_info", "colab", "gancourse"}  # gancourse: the assignment (assign.py)
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def read(path: str | Path) -> nbformat.NotebookNode:
    """Read a notebook as nbformat v4."""
    return nbformat.read(str(path), as_version=NB_VERSION)


def first_line(cell) -> str:
    return cell.source.split("\n", 1)[0].strip()


def exercise_of(cell) -> tuple[str, int, str] | None:
    """(id, points, title) if ``cell`` is an exercise cell, else None."""
    if cell.cell_type != "code":
        return None
    m = EXERCISE_RE.match(first_line(cell))
    return (m.group(1), int(m.group(2) or 1), m.group(3).strip()) if m else None


def check_of(cell) -> str | None:
    """The exercise id a check cell checks, else None."""
    if cell.cell_type != "code":
        return None
    m = CHECK_RE.match(first_line(cell))
    return m.group(1) if m else None


def clean(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Strip outputs, execution counts and per-cell metadata; keep kernelspec and language info."""
    nb.metadata = {k: v for k, v in nb.metadata.items() if k in KEEP_METADATA}
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    for cell in nb.cells:
        cell.metadata = {k: v for k, v in cell.metadata.items() if k == "tags" and v}
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    return nb


def dumps(nb: nbformat.NotebookNode) -> str:
    """The exact text a clean notebook is committed as."""
    return nbformat.writes(nb, version=NB_VERSION)


def is_clean(path: str | Path) -> bool:
    """True when the file on disk is exactly its cleaned form."""
    text = Path(path).read_text(encoding="utf-8")
    return text == dumps(clean(nbformat.reads(text, as_version=NB_VERSION)))


def write(nb: nbformat.NotebookNode, path: str | Path) -> None:
    """Write ``nb`` cleaned, atomically (temp file + rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(dumps(clean(nb)), encoding="utf-8")
    tmp.replace(path)


def course_notebooks(root: str | Path) -> list[Path]:
    """Every committed notebook of the course under notebooks/, solutions/ and exercises/."""
    root = Path(root)
    return sorted(p for d in ("notebooks", "solutions", "exercises") for p in (root / d).glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gancourse.notebooks", description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", help="notebooks to clean (default: every course notebook)")
    parser.add_argument("--check", action="store_true", help="only report notebooks that are not clean")
    args = parser.parse_args(argv)
    paths = [Path(p) for p in args.paths] or course_notebooks(Path.cwd())
    dirty = [p for p in paths if not is_clean(p)]
    if args.check:
        for p in dirty:
            print(f"not clean: {p}")
        return 1 if dirty else 0
    for p in dirty:
        write(read(p), p)
        print(f"cleaned {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
