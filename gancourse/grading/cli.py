"""``python -m gancourse.grade``: one notebook (a text report) or a whole class (Gradescope JSON and a gradebook).

A malformed input (a missing path, an empty folder, a file that is not a notebook, an unknown assignment) is said
in one line on stderr and makes the exit code 2; in a class the other notebooks are graded all the same, and
the bad one gets a row saying why.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

from gancourse.grading import sandbox
from gancourse.grading.manifest import InputError, available, load
from gancourse.grading.report import ExerciseResult, Report
from gancourse.grading.session import grade

USAGE = """examples:
  python -m gancourse.grade exercises/00_warmup.ipynb
  python -m gancourse.grade submissions/ --assignment 05 --jobs 2 --out grades/
"""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m gancourse.grade",
        description="Grade assignment notebooks against the course's own copy, in a sandbox.",
        epilog=USAGE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "paths", nargs="+", metavar="PATH", help="a notebook, or a folder of notebooks (searched recursively)"
    )
    p.add_argument("--assignment", metavar="NN", help="the assignment (default: told from each notebook)")
    p.add_argument("--jobs", type=int, default=1, metavar="N", help="notebooks graded at once (default: 1)")
    p.add_argument("--timeout", type=float, default=600, metavar="S", help="seconds per notebook (default: 600)")
    p.add_argument("--cell-timeout", type=float, default=120, metavar="S", help="seconds per cell (default: 120)")
    p.add_argument(
        "--memory", type=float, default=8, metavar="GB", help="address space per notebook (default: 8; 0: no limit)"
    )
    p.add_argument("--profile", default="fast", choices=("fast", "cpu", "gpu"), help="run profile (default: fast)")
    p.add_argument(
        "--sandbox",
        default="auto",
        choices=("auto", "require", "off"),
        help="bubblewrap when available (auto), or refuse to grade without it (require), or never (off)",
    )
    p.add_argument("--out", metavar="DIR", help="write DIR/<notebook>.json (Gradescope) and DIR/gradebook.csv")
    p.add_argument("--json", metavar="FILE", help="also write the report(s) as JSON (for an LMS)")
    return p


def _notebooks(paths: list[str]) -> tuple[list[Path], list[str]]:
    """The notebooks the paths name, and a line for each path that names none."""
    found, errors = [], []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
            found += inside
            if not inside:
                errors.append(f"{path}: an empty folder (no .ipynb files in it)")
        elif path.is_file():
            found.append(path)
        else:
            errors.append(f"{path}: no such file or folder")
    return list(dict.fromkeys(found)), errors


def _out_names(paths: list[Path]) -> list[str]:
    names, used = [], set()
    for p in paths:
        name, n = p.stem, 1
        while name in used:
            n += 1
            name = f"{p.stem}-{n}"
        used.add(name)
        names.append(name)
    return names


def _prepare_file(path: Path) -> None:
    """Create the folders a report will be written into, now, so a bad path fails before any grading."""
    path.parent.mkdir(parents=True, exist_ok=True)
    probe = path.with_name(f".{path.name}.probe")
    probe.write_text("")
    probe.unlink()


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def _error_report(path: Path, error: str, assignment: str | None) -> Report:
    report = Report(notebook=str(path), error=error)
    if assignment:
        try:
            manifest = load(assignment)
            report.assignment, report.assignment_from = manifest.assignment, "--assignment"
            report.exercises = [
                ExerciseResult(e.id, e.title, e.points, message="not graded") for e in manifest.exercises
            ]
        except InputError:
            pass
    return report


def _gradebook(reports: list[Report]) -> str:
    order = {k: i for i, k in enumerate(available())}
    columns: dict[tuple, str] = {}
    for r in reports:
        for e in r.exercises:
            columns[(order.get(r.assignment, 99), tuple(int(x) for x in e.id.split(".")))] = e.id
    ids = [columns[k] for k in sorted(columns)]
    lines: list[list] = [["file", "assignment", "score", "max_score", *ids, "error"]]
    for r in reports:
        points = {e.id: e.points for e in r.exercises}
        lines.append([r.notebook, r.assignment, r.total, r.max_total, *(points.get(i, "") for i in ids), r.error])
    buffer = StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(lines)
    return buffer.getvalue()


def _refused(args) -> str | None:
    """What is wrong with the command line before any notebook is read (None when nothing is)."""
    for name, value, least in (
        ("--jobs", args.jobs, 1),
        ("--timeout", args.timeout, 1),
        ("--cell-timeout", args.cell_timeout, 1),
        ("--memory", args.memory, 0),
    ):
        if not value >= least:
            return f"{name} must be at least {least}, got {value:g}"
    if args.sandbox == "require" and not sandbox.bwrap():
        return "--sandbox require, but this machine has no working bwrap (apt-get install bubblewrap)"
    if args.assignment:
        try:
            load(args.assignment)
        except InputError as err:
            return str(err)
    return None


def _grade_class(paths: list[Path], one, jobs: int, out: Path, json_path: str | None, errors: list[str]) -> int:
    """Grade many notebooks, ``jobs`` at a time; write one Gradescope report each, gradebook.csv and ``json_path``."""
    from tqdm.auto import tqdm

    with ThreadPoolExecutor(jobs) as pool, tqdm(total=len(paths), unit="notebook", file=sys.stderr) as bar:
        futures = [pool.submit(one, p) for p in paths]
        for f in futures:
            f.add_done_callback(lambda _: bar.update())
        reports = [f.result() for f in futures]
    for name, report in zip(_out_names(paths), reports):
        _write(out / f"{name}.json", json.dumps(report.gradescope(), indent=2) + "\n")
        print(
            f"{report.total:>4}/{report.max_total:<4} {report.notebook}"
            + (f"  ({report.error})" if report.error else "")
        )
    _write(out / "gradebook.csv", _gradebook(reports))
    if json_path:
        _write(Path(json_path), json.dumps([r.to_dict() for r in reports], indent=2) + "\n")
    print(f"wrote {len(reports)} reports and gradebook.csv to {out}")
    return 2 if errors else 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    refused = _refused(args)
    if refused:
        print(f"error: {refused}", file=sys.stderr)
        return 2
    paths, errors = _notebooks(args.paths)
    for line in errors:
        print(f"error: {line}", file=sys.stderr)
    if not paths:
        return 2
    single = len(paths) == 1 and not any(Path(p).is_dir() for p in args.paths) and not args.out
    out = Path(args.out or "grades")
    try:
        if not single:
            _prepare_file(out / "gradebook.csv")
        if args.json:
            _prepare_file(Path(args.json))
    except OSError as err:
        print(f"error: cannot write the reports: {err}", file=sys.stderr)
        return 2
    hide = sorted({p.resolve().parent for p in paths} | {Path(p).resolve() for p in args.paths if Path(p).is_dir()})
    hide += [out.resolve()] if not single else []
    hide += [Path(args.json).resolve().parent] if args.json else []
    threads = None if args.jobs == 1 else max(1, (os.cpu_count() or 1) // args.jobs)

    def one(path: Path) -> Report:
        try:
            return grade(
                path,
                assignment=args.assignment,
                profile=args.profile,
                timeout=args.timeout,
                cell_timeout=args.cell_timeout,
                memory_gb=args.memory,
                sandbox=None if args.sandbox == "auto" else args.sandbox == "require",
                hide=hide,
                threads=threads,
            )
        except InputError as err:
            print(f"error: {err}", file=sys.stderr)
            errors.append(str(err))
            return _error_report(path, str(err), args.assignment)
        except Exception as err:  # the grader's own failure on one notebook must not stop the class
            if single:
                raise
            line = f"{path}: the grader failed on this notebook ({type(err).__name__}: {err})"
            print(f"error: {line}", file=sys.stderr)
            errors.append(line)
            return _error_report(path, line, args.assignment)

    if not single:
        return _grade_class(paths, one, args.jobs, out, args.json, errors)
    report = one(paths[0])
    if report.error:
        return 2
    print(report.text())
    if args.json:
        _write(Path(args.json), json.dumps(report.to_dict(), indent=2) + "\n")
    return 0
