"""The sandbox itself, without a notebook: what a process inside it can see, write, reach and signal."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
from grading_helpers import HAS_BWRAP, ROOT

from gancourse.grading import sandbox

PROBE = r"""
import json, os, socket, sys
out = {"pid": os.getpid(), "processes": sorted(int(p) for p in os.listdir("/proc") if p.isdigit())}
def writable(path):
    try:
        with open(path, "a"):
            return True
    except OSError:
        return False
out["scratch"] = writable(sys.argv[1] + "/x")
out["package"] = writable(sys.argv[2])
out["hidden"] = os.listdir(sys.argv[3])
out["tmp"] = os.listdir("/tmp")
out["home"] = os.path.isdir("/root") and os.listdir("/root")
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    out["network"] = True
except OSError:
    out["network"] = False
out["capabilities"] = [l.split()[1] for l in open("/proc/self/status") if l.startswith("CapEff")][0]
try:
    out["shadow"] = open("/etc/shadow").read()
except OSError:
    out["shadow"] = ""
print(json.dumps(out))
"""


@pytest.mark.skipif(not HAS_BWRAP, reason="the sandbox needs bubblewrap (.ci/run installs it)")
def test_inside_the_sandbox_only_the_scratch_folder_is_writable_and_nothing_is_reachable(tmp_path):
    scratch, hidden = tmp_path / "scratch", tmp_path / "class"
    scratch.mkdir()
    hidden.mkdir()
    (hidden / "other_student.ipynb").write_text("{}")
    package_file = str(ROOT / "gancourse" / "grade.py")
    argv = [sys.executable, "-c", PROBE, str(scratch), package_file, str(hidden)]
    done = subprocess.run(sandbox.command(argv, scratch, [hidden]), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["scratch"] and not seen["package"]
    scratch_root = {scratch.parts[2]} if scratch.is_relative_to("/tmp") else set()  # the way to the scratch folder
    kept = sandbox._keep_paths()  # the package and the interpreter: e.g. ~/.pyenv, or a clone of the course in /tmp
    kept_in_tmp = {p.parts[2] for p in kept if p.is_relative_to("/tmp")}
    kept_in_root = {p.parts[2] for p in kept if p.is_relative_to("/root")}
    assert seen["hidden"] == [] and set(seen["home"] or []) <= kept_in_root
    assert scratch_root <= set(seen["tmp"]) <= scratch_root | kept_in_tmp, seen["tmp"]
    assert seen["shadow"] == ""
    assert not seen["network"]
    assert seen["pid"] == 2 and seen["processes"] == [1, 2]  # bwrap's init and the probe: nothing of the host
    assert int(seen["capabilities"], 16) == 0


def test_a_kept_folder_inside_a_hidden_one_is_mounted_after_it(tmp_path, monkeypatch):
    """Hiding the folder that holds the course (graded from its root) keeps the package visible inside it."""
    monkeypatch.setattr(sandbox, "bwrap", lambda: "bwrap")
    course = Path(sandbox.__file__).resolve().parents[2]
    args = sandbox.command(["python"], tmp_path / "scratch", [course, course / "submissions"])
    mounts = [(args[i], args[i + 1]) for i in range(len(args) - 1) if args[i] in ("--tmpfs", "--ro-bind", "--bind")]
    order = [m for m in mounts if m[1].startswith(str(course))]
    assert order[0] == ("--tmpfs", str(course)) and ("--ro-bind", str(course / "gancourse")) in order
    for i, (_, outer) in enumerate(mounts):  # a folder is mounted before anything inside it
        assert not any(Path(outer).is_relative_to(inner) and outer != inner for _, inner in mounts[i + 1 :])
    assert mounts[-1] == ("--bind", str(tmp_path / "scratch"))
