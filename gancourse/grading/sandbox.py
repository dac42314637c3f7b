"""Where a notebook's code runs: a bubblewrap sandbox when the machine has ``bwrap``, else a plain process.

The sandbox (Debian's bubblewrap): the whole file system read-only, with home folders, the folders being graded
and the output folder hidden (empty), except the Python installation and the package, which stay visible
read-only; /tmp empty; one scratch folder holding a copy of the notebook writable; its own PID namespace, so
nothing the notebook starts outlives it or sees the grader; no network; no capabilities; a new session (no
terminal). The memory limit (RLIMIT_AS) is set by the runner before any student code runs.
Without bwrap (macOS, or a machine that forbids its namespaces) the notebook runs as a plain process in its own
session, under a forked shepherd so that its parent is not the grader, and the report says it was not sandboxed.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

HIDDEN = ("/root", "/home", "/mnt", "/media", "/srv")


@functools.lru_cache(maxsize=1)
def bwrap() -> str | None:
    """The path of a working ``bwrap``, or None."""
    path = shutil.which("bwrap")
    if path is None:
        return None
    probe = [path, "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net", "--die-with-parent", "--cap-drop", "ALL"]
    try:
        ok = subprocess.run([*probe, "--", "true"], capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        ok = False
    return path if ok else None


def describe(sandboxed: bool, memory_bytes: int) -> str:
    """The report's one line on how the notebook's code was confined."""
    memory = f"{memory_bytes / 2**30:g} GiB of address space" if memory_bytes else "no memory limit"
    if sandboxed:
        return f"Sandbox: bubblewrap (read-only file system, no network, own PID namespace; {memory})"
    why = "sandbox off" if bwrap() else "no working bwrap on this machine"
    return f"Not sandboxed ({why}): the notebook's code ran with the grader's permissions ({memory})"


def _keep_paths() -> list[Path]:
    """What the notebook's Python needs to see: the interpreter's installation and the gancourse package."""
    import gancourse

    paths = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)}
    paths.add(Path(sys.executable).resolve().parent.parent)
    paths.add(Path(gancourse.__file__).resolve().parent)
    for entry in sys.path:  # site-packages and any editable install's folders
        if entry and Path(entry).is_dir() and "site-packages" in entry:
            paths.add(Path(entry).resolve())
    return sorted(paths)


def command(argv: list[str], scratch: Path, hide: list[Path]) -> list[str]:
    """bwrap's command line around ``argv``: folders hidden (an empty tmpfs), then what is kept visible inside them
    (outermost first, so a folder hidden inside a kept one stays hidden), then the writable scratch folder."""
    hides = {Path("/tmp")} | {Path(h) for h in HIDDEN if Path(h).is_dir()} | {Path(h).resolve() for h in hide}
    keeps = {k for k in _keep_paths() if any(k.is_relative_to(h) for h in hides)}
    mounts = sorted([(h, "hide") for h in hides] + [(k, "keep") for k in keeps], key=lambda m: (len(m[0].parts), m[1]))
    args = [bwrap(), "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
    for path, what in mounts:
        args += ["--tmpfs", str(path)] if what == "hide" else ["--ro-bind", str(path), str(path)]
    if Path("/etc/shadow").exists():
        args += ["--ro-bind", "/dev/null", "/etc/shadow"]
    args += ["--bind", str(scratch), str(scratch), "--chdir", str(scratch)]
    args += ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    args += ["--die-with-parent", "--new-session", "--cap-drop", "ALL", "--"]
    return args + argv


def _parents() -> dict[int, int]:
    """{pid: parent pid} of every live process (zombies left out), from /proc (empty where there is none)."""
    out = {}
    try:
        entries = os.listdir("/proc")
    except OSError:
        return out
    for name in entries:
        if name.isdigit():
            try:
                stat = Path(f"/proc/{name}/stat").read_text()
                state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
                if state != "Z":
                    out[int(name)] = int(ppid)
            except (OSError, ValueError, IndexError):
                continue
    return out


class Box:
    """One notebook's process tree: started, counted, killed."""

    def __init__(self, argv: list[str], *, sandboxed: bool, scratch: Path, hide: list[Path], env: dict, fds: tuple):
        self.sandboxed = sandboxed
        full = command(argv, scratch, hide) if sandboxed else argv
        self.proc = subprocess.Popen(
            full,
            env=env,
            cwd=scratch,
            pass_fds=fds,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.core: set[int] = set()

    def descendants(self) -> list[int]:
        parents = _parents()
        found, frontier = [], [self.proc.pid]
        while frontier:
            pid = frontier.pop()
            children = [p for p, q in parents.items() if q == pid]
            found += children
            frontier += children
        return found

    def settle(self) -> None:
        """Record the processes the grader itself started (bwrap's init, the runner): the rest are the notebook's."""
        self.core = set(self.descendants())

    def strays(self) -> list[int]:
        """Processes the notebook's code started that are still running."""
        return [p for p in self.descendants() if p not in self.core]

    def stop(self, pids: list[int]) -> None:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def kill(self) -> None:
        """End every process of this notebook, the sandbox with it."""
        self.stop(self.descendants())
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.stop([self.proc.pid])
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            pass
