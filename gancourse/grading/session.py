"""Grade one notebook: run it in a sandbox under time limits, and accept only the verdicts the grader asked for.

The grader sends the runner the course's cells with the student's exercise cells in place. Before each check
it asks: the runner says it is ready, the grader stops any process the notebook left running and answers with a
fresh nonce, and the one verdict it then accepts for that check must carry it. Anything else on the channel
ends the notebook (the exercises already graded keep their verdicts). A cell that ignores its time limit, or a
process that dies, costs the step it was in: the grader kills the sandbox and starts a fresh one that skips
that step (the exercises already graded are not run again) until the notebook's own time limit runs out.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import signal
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from gancourse.grading import manifest as manifests
from gancourse.grading import sandbox
from gancourse.grading.report import FAILED, NOT_ATTEMPTED, NOT_RUN, PASSED, ExerciseResult, Report

BOOT = "import sys; del sys.path[0]; from gancourse.grading.runner import main; main(sys.argv[1:])"
GRACE = 10.0  # seconds a cell gets after its limit to stop by itself before the grader kills its process
LINE_LIMIT = 1 << 20  # the longest message the grader reads from a notebook's process
STATUSES = (PASSED, FAILED, NOT_ATTEMPTED, NOT_RUN)
_WAIT = object()  # nothing came yet


@dataclass
class Limits:
    profile: str = "fast"
    timeout: float = 600.0  # seconds for the whole notebook, restarts included
    cell_timeout: float = 120.0  # seconds for one cell or one check
    memory_bytes: int = 8 * 2**30
    sandbox: bool | None = None  # None: bubblewrap when this machine has it
    threads: int | None = None  # CPU threads the notebook may use (OMP_NUM_THREADS)
    hide: list[Path] = field(default_factory=list)  # more folders the notebook may not see (the class's)


@dataclass
class Outcome:
    """How one run of the sandbox ended: finished, or which step it was in and why it stopped."""

    finished: bool = False
    step: int | None = None
    reason: str = ""
    fatal: bool = False  # no fresh start would help (tampering, the notebook's time ran out, set-up failed)


class Session:
    def __init__(self, path: Path, manifest: manifests.Manifest, sources: dict[str, str], limits: Limits):
        self.path, self.manifest, self.limits = path, manifest, limits
        self.steps = [
            {**s, "source": sources[s["id"]]} if s["kind"] == "exercise" and s["id"] in sources else dict(s)
            for s in manifest.steps
        ]
        self.results = {e.id: ExerciseResult(e.id, e.title, e.points) for e in manifest.exercises}
        self.verdicts: dict[str, tuple[str, str]] = {}
        self.cell_errors: dict[str, str] = {}
        self.notes: list[str] = []
        self.skip: dict[int, str] = {}
        self.sandboxed = bool(sandbox.bwrap()) if limits.sandbox is None else limits.sandbox
        self.log = b""
        self.deadline = 0.0

    # ------------------------------------------------------------------ labels

    def _label(self, step: int | None) -> str:
        if step is None:
            return "start-up"
        s = self.steps[step]
        if s["kind"] == "exercise":
            return f"exercise {s['id']}'s cell"
        if s["kind"] == "check":
            return f"the check of exercise {s['id']}"
        return f"the course's cell {step}"

    # ------------------------------------------------------------------ one run of the sandbox

    def _env(self, scratch: Path) -> dict:
        root = str(Path(manifests.__file__).resolve().parents[2])
        threads = self.limits.threads or os.environ.get("OMP_NUM_THREADS") or str(os.cpu_count() or 1)
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(scratch),
            "TMPDIR": "/tmp" if self.sandboxed else str(scratch),
            "LANG": "C.UTF-8",
            "PYTHONPATH": root,
            "PYTHONHASHSEED": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
            "GANCOURSE_PROFILE": self.limits.profile,
            "MPLBACKEND": "Agg",
            "MPLCONFIGDIR": str(scratch / ".matplotlib"),
            "OMP_NUM_THREADS": str(threads),
        }

    def _program(self) -> dict:
        return {
            "check_module": self.manifest.check_module,
            "steps": self.steps,
            "skip": sorted(self.skip),
            "exercises": [
                {"id": e.id, "check": e.check, "args": list(e.args), "own_code": list(e.own_code)}
                for e in self.manifest.exercises
            ],
            "cell_timeout": self.limits.cell_timeout,
            "memory_bytes": self.limits.memory_bytes,
            "shepherd": not self.sandboxed,
        }

    def _read_events(self, fd: int, events: queue.Queue) -> None:
        buffer = b""
        with os.fdopen(fd, "rb", buffering=0) as pipe:
            while True:
                chunk = pipe.read(1 << 16)
                if not chunk:
                    break
                buffer += chunk
                while b"\n" in buffer:
                    line, _, buffer = buffer.partition(b"\n")
                    try:
                        events.put(json.loads(line))
                    except ValueError:
                        events.put({"event": "garbage"})
                if len(buffer) > LINE_LIMIT:
                    events.put({"event": "garbage"})
                    break
        events.put(None)

    def _read_log(self, pipe) -> None:
        for chunk in iter(lambda: pipe.read1(1 << 16), b""):
            self.log = (self.log + chunk)[-16384:]

    def _run_once(self) -> Outcome:
        scratch = Path(tempfile.mkdtemp(prefix="gancourse-grade-"))
        shutil.copy(self.path, scratch / "submission.ipynb")
        ctl_r, ctl_w = os.pipe()
        evt_r, evt_w = os.pipe()
        argv = [sys.executable, "-B", "-s", "-c", BOOT, str(ctl_r), str(evt_w)]
        try:
            box = sandbox.Box(
                argv,
                sandboxed=self.sandboxed,
                scratch=scratch,
                hide=self.limits.hide,
                env=self._env(scratch),
                fds=(ctl_r, evt_w),
            )
        finally:
            os.close(ctl_r)
            os.close(evt_w)
        events: queue.Queue = queue.Queue()
        readers = [
            threading.Thread(target=self._read_events, args=(evt_r, events), daemon=True),
            threading.Thread(target=self._read_log, args=(box.proc.stdout,), daemon=True),
        ]
        for t in readers:
            t.start()
        control = os.fdopen(ctl_w, "wb", buffering=0)
        try:
            control.write((json.dumps(self._program()) + "\n").encode())
            return self._converse(box, control, events)
        except (BrokenPipeError, OSError) as err:
            return Outcome(reason=f"the notebook's process stopped listening ({err})")
        finally:
            box.kill()
            control.close()
            for t in readers:
                t.join(timeout=5)
            box.proc.stdout.close()
            shutil.rmtree(scratch, ignore_errors=True)

    def _converse(self, box: sandbox.Box, control, events: queue.Queue) -> Outcome:
        limit = self.limits.cell_timeout + GRACE
        ready = False
        step: int | None = None  # the step running now
        last = -1  # steps only move forward
        pending: tuple[str, str] | None = None  # (exercise id, nonce) of the check the grader cleared to run
        step_deadline = time.monotonic() + max(limit, 60.0)  # start-up imports PyTorch
        while True:
            now = time.monotonic()
            where = step if step is not None else last if last >= 0 else None  # between steps: the last one
            if now >= self.deadline:
                return Outcome(
                    step=where,
                    fatal=True,
                    reason=f"the notebook's time limit ({self.limits.timeout:g} s) ran out during {self._label(where)}",
                )
            if now >= step_deadline:
                return Outcome(
                    step=where,
                    reason=f"{self._label(where)} ran past {self.limits.cell_timeout:g} s and did not stop "
                    "when interrupted; the grader ended its process",
                )
            try:
                message = events.get(timeout=min(1.0, self.deadline - now, step_deadline - now))
            except queue.Empty:  # the pipe can outlive the process (a child of it holds it): ask the process too
                message = None if box.proc.poll() is not None and events.empty() else _WAIT
            if message is _WAIT:
                continue
            if message is None:
                how = self._how(box.proc.wait())
                return Outcome(step=where, reason=f"the notebook's process ended during {self._label(where)} ({how})")
            kind = message.get("event") if isinstance(message, dict) else None
            step_deadline = time.monotonic() + limit
            if kind == "ready" and not ready:
                box.settle()
                ready = True
            elif kind == "start" and ready and self._valid_step(message, last, ("code", "exercise")):
                step = last = message["step"]
            elif kind == "done" and message.get("step") == step and step is not None and pending is None:
                error = message.get("error")
                if isinstance(error, str) and self.steps[step]["kind"] == "exercise":
                    self.cell_errors[self.steps[step]["id"]] = error
                step = None
            elif kind == "check" and ready and self._valid_step(message, last, ("check",)) and pending is None:
                step = last = message["step"]
                ident = self.steps[step]["id"]
                if message.get("id") != ident:
                    return self._tampered(step)
                strays = box.strays()
                if strays:
                    box.stop(strays)
                    self.notes.append(
                        f"before the check of exercise {ident}, the grader stopped {len(strays)} process(es) "
                        "the notebook's code had left running"
                    )
                pending = (ident, secrets.token_hex(16))
                control.write((json.dumps({"nonce": pending[1]}) + "\n").encode())
            elif kind == "verdict" and pending and self._valid_verdict(message, pending):
                self.verdicts[pending[0]] = (message["status"], message["message"])
                if message.get("restored"):
                    names = ", ".join(map(str, message["restored"][:5]))
                    self.notes.append(
                        f"before the check of exercise {pending[0]}, the grader put back what the notebook's code "
                        f"had changed: {names}" + (" and more" if len(message["restored"]) > 5 else "")
                    )
                pending, step = None, None
            elif kind == "end" and step is None and pending is None:
                return Outcome(finished=True)
            else:
                if kind == "verdict" and message.get("id") in self.verdicts:  # a second verdict: neither counts
                    self.verdicts[message["id"]] = (FAILED, "0 points: two verdicts arrived for its check")
                return self._tampered(step)

    def _how(self, code: int) -> str:
        """How a process ended, from its exit code (bwrap passes a signal on as 128 + its number)."""
        number = -code if code < 0 else code - 128 if self.sandboxed and code > 128 else 0
        if number in {s.value for s in signal.Signals}:
            return f"killed by {signal.Signals(number).name}"
        return f"exit code {code}"

    def _valid_step(self, message: dict, last: float, kinds: tuple[str, ...]) -> bool:
        step = message.get("step")
        return (
            isinstance(step, int)
            and last < step < len(self.steps)
            and step not in self.skip
            and self.steps[step]["kind"] in kinds
        )

    def _valid_verdict(self, message: dict, pending: tuple[str, str]) -> bool:
        return (
            message.get("id") == pending[0]
            and message.get("nonce") == pending[1]
            and message.get("status") in STATUSES
            and isinstance(message.get("message"), str)
            and isinstance(message.get("restored", []), list)
        )

    def _tampered(self, step: int | None) -> Outcome:
        return Outcome(
            step=step,
            fatal=True,
            reason="the notebook's process sent the grader a message it had not asked for (tampering with the "
            "grader's channel); grading stopped there",
        )

    # ------------------------------------------------------------------ the whole notebook

    def grade(self) -> Report:
        start = time.monotonic()
        self.deadline = start + self.limits.timeout
        final_reason = ""
        while True:
            outcome = self._run_once()
            if outcome.finished:
                break
            culprit = outcome.step
            stuck = culprit is None or culprit in self.skip  # a fresh start would end the same way
            if stuck or outcome.fatal or self.steps[culprit]["kind"] == "code":
                final_reason = outcome.reason
                if culprit is None and not self.verdicts and not outcome.fatal:
                    tail = self.log.decode(errors="replace").strip().splitlines()[-3:]
                    final_reason += ("; its last output: " + " | ".join(tail)) if tail else ""
                break
            self._skip(culprit, outcome.reason)
            if all(ident in self.verdicts for ident in self.results):
                break
        for ident, result in self.results.items():
            status, message = self.verdicts.get(ident, (NOT_RUN, final_reason or "it did not run"))
            if status == FAILED and ident in self.cell_errors:
                message = f"{message}\n(its cell raised {self.cell_errors[ident]})"
            result.status, result.message = status, message
            result.points = result.max_points if status == PASSED else 0
            if status == NOT_ATTEMPTED:
                result.message = ""
        report = Report(
            notebook=str(self.path),
            profile=self.limits.profile,
            sandbox=sandbox.describe(self.sandboxed, self.limits.memory_bytes),
            exercises=list(self.results.values()),
            notes=self.notes,
            seconds=time.monotonic() - start,
        )
        return report

    def _skip(self, step: int, reason: str) -> None:
        """Skip a step that killed (or hung) the notebook's process in the next run; its exercise is not run."""
        s = self.steps[step]
        ident = s["id"]
        self.skip[step] = reason
        if s["kind"] == "exercise":
            self.skip.update({i: reason for i, t in enumerate(self.steps) if t["kind"] == "check" and t["id"] == ident})
        self.verdicts.setdefault(ident, (NOT_RUN, reason))  # a check graded before the process died keeps its verdict
        for i, t in enumerate(self.steps):  # checks already graded are not run again
            if t["kind"] == "check" and t["id"] in self.verdicts:
                self.skip.setdefault(i, "graded")


def grade(
    path: str | Path,
    *,
    assignment: str | None = None,
    profile: str = "fast",
    timeout: float = 600.0,
    cell_timeout: float = 120.0,
    memory_gb: float = 8.0,
    sandbox: bool | None = None,
    hide: list[Path] | None = None,
    threads: int | None = None,
) -> Report:
    """Grade the notebook at ``path`` against the course's copy of its assignment (``InputError`` if it cannot)."""
    if profile not in ("fast", "cpu", "gpu"):
        raise ValueError(f"profile must be 'fast', 'cpu' or 'gpu', got {profile!r}")
    for name, value in (("timeout", timeout), ("cell_timeout", cell_timeout)):
        if not value > 0:
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
    path = Path(path)
    nb = manifests.read_submission(path)
    if assignment is None:
        assignment, how = manifests.infer_assignment(path, nb)
    else:
        how = "--assignment"
    manifest = manifests.load(assignment)
    sources, notes = manifests.student_sources(nb, manifest)
    limits = Limits(
        profile=profile,
        timeout=timeout,
        cell_timeout=min(cell_timeout, timeout),
        memory_bytes=int(memory_gb * 2**30) if memory_gb else 0,
        sandbox=sandbox,
        threads=threads,
        hide=list(hide or []),
    )
    report = Session(path, manifest, sources, limits).grade()
    report.assignment, report.assignment_from = manifest.assignment, how
    report.notes = notes + report.notes
    tagged = nb.metadata.get("gancourse", {})
    if isinstance(tagged, dict) and tagged.get("manifest") not in (None, manifest.digest[:16]):
        report.notes.append("the notebook was made from another version of the assignment than the one graded")
    return report
