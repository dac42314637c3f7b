"""Notebook files: reading, cleaning (outputs stripped, metadata minimal), the first cell, and exercise markers.

Repo policy (README): notebooks are committed with outputs stripped; tests/test_notebooks_clean.py
enforces it and ``python -m gancourse.notebooks`` cleans them in place. The same command writes every
notebook's first code cell, ``install_source()``: where ``gancourse`` cannot be imported it installs the
release ``release()`` (``v`` + the package's ``__version__``, the one place it is set) from ``REPOSITORY``,
and whatever of the package's needs (pyproject.toml's dependencies) is missing, never replacing the torch
that is there; a failed install raises with pip's reason. Where ``gancourse`` imports it does nothing.
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
REPOSITORY = "https://github.com/gancourse/gancourse"
PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
INSTALL_TAGS = ["remove-cell"]  # the website, which has run everything, hides the cell (Jupyter Book's tag)
INSTALL_CELL = """\
# Installs the course's helper package, release {release}, where this Python lacks it (Colab, Kaggle, Binder, a plain
# Jupyter), with whatever else it needs that is missing: the torch you have is never replaced. Where gancourse is
# already installed it does nothing. Written by `python -m gancourse.notebooks` (the release: README, "Installing").
import importlib.metadata
import importlib.util
import re
import subprocess
import sys

if importlib.util.find_spec("gancourse") is None:
    needs = {needs}
    missing = [need for need in needs if importlib.util.find_spec(re.split("[<>=!~ ]", need)[0]) is None]
    print("installing gancourse {release}" + "".join(", " + need for need in missing), "...")
    if missing and importlib.util.find_spec("torch") is not None:  # whatever else comes, the torch you have stays
        missing.append(f"torch=={{importlib.metadata.version('torch')}}")
    for args in (missing, ["--no-deps", "{url}"]):
        if args:
            pip = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *args], capture_output=True, text=True)
            if pip.returncode != 0:
                raise RuntimeError(f"pip could not install {{' '.join(args)}}:\\n{{pip.stderr.strip()[-3000:]}}")
    importlib.invalidate_caches()
    if importlib.util.find_spec("gancourse") is None:
        raise RuntimeError("gancourse is installed, but this kernel does not see it yet: restart it and run again")"""


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


def release() -> str:
    """The release tag every notebook's first cell installs: ``v`` + gancourse.__version__."""
    from gancourse import __version__

    return f"v{__version__}"


def requirements(pyproject: str | Path = PYPROJECT) -> list[str]:
    """The package's needs: the ``dependencies`` of pyproject.toml, as written there."""
    text = Path(pyproject).read_text(encoding="utf-8")
    block = re.search(r"^dependencies = \[(.*?)^\]", text, re.DOTALL | re.MULTILINE)
    if block is None:
        raise ValueError(f"{pyproject} has no 'dependencies = [...]' list")
    return re.findall(r'"([^"]+)"', block.group(1))


def install_source(pyproject: str | Path = PYPROJECT) -> str:
    """The source of every notebook's first code cell (see the module's docstring)."""
    url = f"{REPOSITORY}/archive/refs/tags/{release()}.tar.gz"
    needs = requirements(pyproject)
    modules = [re.split("[<>=!~ ]", need)[0] for need in needs]
    if not all(m.isidentifier() for m in modules):
        raise ValueError(f"the first cell finds a requirement by its import name; these are not names: {modules}")
    needs_text = "[\n" + "".join(f'        "{need}",\n' for need in needs) + "    ]"
    return INSTALL_CELL.format(release=release(), url=url, needs=needs_text)


def first_code_cell(nb: nbformat.NotebookNode):
    """The notebook's first code cell, or None."""
    return next((c for c in nb.cells if c.cell_type == "code"), None)


def install_cell_is_current(nb: nbformat.NotebookNode, source: str | None = None) -> bool:
    """True when the first code cell is exactly the install cell (source and tags)."""
    cell = first_code_cell(nb)
    source = install_source() if source is None else source
    return cell is not None and cell.source == source and cell.metadata.get("tags") == INSTALL_TAGS


def with_install_cell(nb: nbformat.NotebookNode, source: str | None = None) -> nbformat.NotebookNode:
    """``nb`` with the install cell as its first code cell: the old install cell replaced, else one inserted."""
    source = install_source() if source is None else source
    cell = first_code_cell(nb)
    if cell is None or not _is_install_cell(cell.source):
        cell = nbformat.v4.new_code_cell()
        first = next((i for i, c in enumerate(nb.cells) if c.cell_type == "code"), len(nb.cells))
        nb.cells.insert(first, cell)
    cell.source = source
    cell.metadata["tags"] = list(INSTALL_TAGS)
    return nb


def _is_install_cell(source: str) -> bool:
    """An install cell of this generator or its predecessor (the Colab-only %pip cell)."""
    return 'find_spec("gancourse")' in source or ("pip install" in source and "gancourse" in source)


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
    source = install_source()
    dirty = [p for p in paths if not is_clean(p) or not install_cell_is_current(read(p), source)]
    if args.check:
        for p in dirty:
            print(f"not clean (outputs, metadata or an old first cell): {p}")
        return 1 if dirty else 0
    for p in dirty:
        write(with_install_cell(read(p), source), p)
        print(f"cleaned {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
