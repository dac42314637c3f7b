"""Grade a student's assignment notebook: run it in a fresh kernel, score each exercise.

``python -m gancourse.grade exercises/01_kl_js_divergence.ipynb [--json FILE]``

An exercise is *passed* when its cell and every ``# Check N.k`` cell ran without error,
*not attempted* when it still raises its ``NotImplementedError("Exercise N.k")`` stub, and
*failed* otherwise (with the check's message). Cells run with errors allowed, so a crash
costs only the exercise it belongs to. The kernel runs in the ``fast`` profile by default.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from gancourse import notebooks

PASSED, FAILED, NOT_ATTEMPTED = "passed", "failed", "not attempted"


@dataclass
class ExerciseResult:
    id: str
    title: str
    max_points: int
    points: int = 0
    status: str = NOT_ATTEMPTED
    message: str = ""


@dataclass
class Report:
    notebook: str
    profile: str
    exercises: list[ExerciseResult] = field(default_factory=list)
    error: str = ""

    @property
    def total(self) -> int:
        return sum(e.points for e in self.exercises)

    @property
    def max_total(self) -> int:
        return sum(e.max_points for e in self.exercises)

    def to_dict(self) -> dict:
        return {**asdict(self), "total": self.total, "max_total": self.max_total}

    def text(self) -> str:
        lines = [f"Grading {self.notebook} (profile {self.profile})"]
        width = max([len(e.title) for e in self.exercises] + [10])
        for e in self.exercises:
            line = f"  Exercise {e.id:<5} {e.title:<{width}}  {e.points}/{e.max_points}  {e.status}"
            if e.message:
                line += ": " + e.message.replace("\n", "\n" + " " * 10)
            lines.append(line)
        if self.error:
            lines.append(f"  Note: {self.error}")
        lines.append(f"Total: {self.total}/{self.max_total}")
        return "\n".join(lines)


def _error_of(cell) -> tuple[str, str] | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return out.get("ename", "Error"), out.get("evalue", "")
    return None


def _is_stub(error: tuple[str, str] | None, ident: str) -> bool:
    return error is not None and error[0] == "NotImplementedError" and f"Exercise {ident}" in error[1]


@contextlib.contextmanager
def _environ(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def grade(path: str | Path, *, profile: str = "fast", cell_timeout: int = 600) -> Report:
    """Execute the notebook at ``path`` in a fresh kernel and score its exercises."""
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    if profile not in ("fast", "cpu", "gpu"):
        raise ValueError(f"profile must be 'fast', 'cpu' or 'gpu', got {profile!r}")
    nb = notebooks.read(path)
    report = Report(notebook=str(path), profile=profile)
    cells_of: dict[str, list] = {}
    checks_of: dict[str, list] = {}
    for cell in nb.cells:
        exercise = notebooks.exercise_of(cell)
        if exercise:
            report.exercises.append(ExerciseResult(id=exercise[0], title=exercise[2], max_points=exercise[1]))
            cells_of.setdefault(exercise[0], []).append(cell)
        ident = notebooks.check_of(cell)
        if ident:
            checks_of.setdefault(ident, []).append(cell)
    if not report.exercises:
        raise ValueError(f"{path} has no exercise cells ('# Exercise N.k: title' on a code cell's first line)")
    for e in report.exercises:
        if e.id not in checks_of:
            raise ValueError(f"{path}: Exercise {e.id} has no '# Check {e.id}' cell, so it cannot be graded")

    client = NotebookClient(
        nb,
        timeout=cell_timeout,
        interrupt_on_timeout=True,
        allow_errors=True,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent.resolve())}},
    )
    with _environ(GANCOURSE_PROFILE=profile, PYTHONHASHSEED="0"):
        try:
            client.execute()
        except DeadKernelError as err:
            report.error = f"the kernel died ({err}); exercises after that point were not run"

    for e in report.exercises:
        own = [_error_of(c) for c in cells_of[e.id]]
        checks = [(c, _error_of(c)) for c in checks_of[e.id]]
        ran = all(c.get("execution_count") is not None for c, _ in checks) and all(
            c.get("execution_count") is not None for c in cells_of[e.id]
        )
        errors = [err for err in own + [err for _, err in checks] if err is not None]
        if any(_is_stub(err, e.id) for err in errors):
            e.status, e.message = NOT_ATTEMPTED, ""
        elif errors:
            name, value = errors[0]
            e.status = FAILED
            e.message = value if name == "CheckFailed" else f"{name}: {value}"
        elif not ran:
            e.status, e.message = FAILED, "its cells did not run (see the note below)"
        else:
            e.status, e.points = PASSED, e.max_points
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gancourse.grade", description=__doc__.splitlines()[0])
    parser.add_argument("notebook", help="the student's notebook (.ipynb)")
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON (for an LMS)")
    parser.add_argument("--profile", default="fast", choices=("fast", "cpu", "gpu"), help="run profile (default: fast)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default: 600)")
    args = parser.parse_args(argv)
    try:
        report = grade(args.notebook, profile=args.profile, cell_timeout=args.timeout)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(report.text())
    if args.json:
        out = Path(args.json)
        tmp = out.with_name(f".{out.name}.tmp")
        tmp.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
        tmp.replace(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
