"""Every cheat the grader was tried with earns nothing; every fault costs only its own exercise; grading finishes.

Each test grades one submission of assignment 00 (4 exercises, 1 point each) that carries a few related cheats,
one per exercise, each with a WRONG answer or none: a cheat that worked would show as a point.
"""

import hashlib
import json
import os
import time

import pytest
from grading_helpers import HAS_BWRAP, solved, statuses, student

from gancourse import grade

WRONG = {  # answers that fail their checks: whatever a cheat does, they must stay failed
    "0.1": "def ring_modes_by_hand(n_modes, radius):\n    return torch.zeros(n_modes, 2)",
    "0.2": "def to_course_range(images):\n    return images.float()",
    "0.3": "def high_quality_fraction(samples, modes, std):\n    return 0.5",
    "0.4": "def real_fraction(k):\n    return 0.5",
}
HEADERS = {
    "0.1": "# Exercise 0.1: the ring's modes",
    "0.2": "# Exercise 0.2: pixels into [-1, 1]",
    "0.3": "# Exercise 0.3: the high-quality fraction",
    "0.4": "# Exercise 0.4: the share of real samples within k std of their mode",
}


def cell(ident: str, cheat: str, answer: str | None = None) -> str:
    """Exercise ``ident``'s cell: its header, the cheat, then a wrong answer (or ``answer``)."""
    return f"{HEADERS[ident]}\n{cheat.strip()}\n{WRONG[ident] if answer is None else answer}"


def _grade(path, **kwargs):
    report = grade.grade(path, cell_timeout=kwargs.pop("cell_timeout", 30), **kwargs)
    return report, {e.id: e for e in report.exercises}


def test_the_students_check_cells_headers_and_copies_count_for_nothing(tmp_path):
    """Check cells emptied or wrapped in try/except, a header claiming 100 points, an added bonus exercise with
    its own check, and one solved cell pasted four times: the course's copy decides what runs and what counts."""
    path = student(
        tmp_path,
        {"0.1": "solution", "0.3": cell("0.3", "", WRONG["0.3"]).replace("0.3:", "0.3 (100 points):", 1)},
        checks={
            "0.2": "# Check 0.2\npass",
            "0.3": "# Check 0.3\ntry:\n    check.high_quality_fraction(high_quality_fraction)\nexcept Exception:\n    pass",
        },
        add=(
            "# Exercise 0.9 (50 points): bonus\npass",
            "# Check 0.9\npass",
            *[f"{HEADERS['0.1']}\n# a copy\nring_modes_by_hand = ring_modes_by_hand"] * 3,
        ),
    )
    report, by_id = _grade(path)
    assert statuses(report) == {"0.1": "passed", "0.2": "not attempted", "0.3": "failed", "0.4": "not attempted"}
    assert (report.total, report.max_total) == (1, 4)
    notes = " ".join(report.notes)
    assert "claims 100 points" in notes and "'0.9'" in notes and "3 more cells for exercise 0.1" in notes


def test_replacing_the_checks_and_the_comparisons_earns_nothing(tmp_path):
    """The check functions replaced, the name `check` and sys.modules rebound, NumPy's and PyTorch's comparisons
    replaced in a cell (put back before the check) and inside the answer while its check runs (the verdict is
    void), behind the modules' backs through vars(), and undone again before the check ends."""
    replace_checks = "for _name in dir(check):\n    if not _name.startswith('__'):\n        setattr(check, _name, lambda *a, **k: None)"
    rebind = (
        "import sys, types\n"
        "_fake = types.ModuleType('fake')\n_fake.to_course_range = lambda fn: None\n"
        "sys.modules['gancourse.checks.ex00'] = _fake\ncheck = _fake\n"
        "import gancourse.checks\ngancourse.checks.ex00 = _fake"
    )
    during = (
        "import numpy as np\n"
        "def high_quality_fraction(samples, modes, std):\n"
        "    np.allclose = np.isclose = lambda *a, **k: True\n"
        "    return 0.5"
    )
    undone = (
        "import numpy as np\nfrom gancourse import checks as _checks\n"
        "_real = _checks.expect_close\n"
        "def _fake(*a, **k):\n"
        "    vars(_checks)['expect_close'] = _real  # undoes itself: the module is as it was when the check ends\n"
        "vars(_checks)['expect_close'] = _fake\n"
        "vars(np)['allclose'] = lambda *a, **k: True"
    )
    path = student(
        tmp_path,
        {
            "0.1": cell(
                "0.1",
                replace_checks + "\nimport numpy as np, torch\nnp.allclose = torch.allclose = lambda *a, **k: True",
            ),
            "0.2": cell("0.2", rebind),
            "0.3": cell("0.3", "", during),
            "0.4": cell("0.4", undone),
        },
    )
    report, by_id = _grade(path)
    assert report.total == 0 and set(statuses(report).values()) == {"failed"}, report.text()
    assert "Hint" in by_id["0.1"].message and "Hint" in by_id["0.2"].message  # the real checks ran
    assert "changed numpy.allclose" in by_id["0.3"].message
    assert "0 points" in by_id["0.4"].message or "Hint" in by_id["0.4"].message
    notes = " ".join(report.notes)
    for name in ("torch.allclose", "gancourse.checks.ex00.np", "sys.modules['gancourse.checks.ex00']", "numpy.isclose"):
        assert name in notes


def test_an_answer_that_undoes_its_tampering_before_the_check_ends_earns_nothing(tmp_path):
    """Changes made from inside the answer while its check runs, undone by code that runs later in the check:
    caught when the answer returns, whether made by assignment or behind the module's back."""
    sneaky_np = (
        "import numpy as np\n_real = np.allclose\n"
        "def _once(*a, **k):\n    vars(np)['allclose'] = _real\n    return True\n"
        "def to_course_range(images):\n    vars(np)['allclose'] = _once\n    return images.float()"
    )
    sneaky_check = (
        "from gancourse import checks as _checks\n_real = _checks.expect_close\n"
        "def _once(*a, **k):\n    _checks.expect_close = _real\n"
        "def high_quality_fraction(samples, modes, std):\n    _checks.expect_close = _once\n    return 0.5"
    )
    mode = (
        "from torch.overrides import TorchFunctionMode\n"
        "class _Mode(TorchFunctionMode):\n"
        "    def __torch_function__(self, func, types, args=(), kwargs=None):\n"
        "        return func(*args, **(kwargs or {}))\n"
        "def ring_modes_by_hand(n_modes, radius):\n    _Mode().__enter__()\n    return torch.zeros(n_modes, 2)"
    )
    path = student(
        tmp_path,
        {"0.1": cell("0.1", "", mode), "0.2": cell("0.2", "", sneaky_np), "0.3": cell("0.3", "", sneaky_check)},
    )
    report, by_id = _grade(path)
    assert report.total == 0, report.text()
    assert "mode" in by_id["0.1"].message
    assert "changed numpy.allclose" in by_id["0.2"].message
    assert "changed gancourse.checks.expect_close" in by_id["0.3"].message


def test_changing_the_checks_cases_and_the_packages_constants_earns_nothing(tmp_path):
    """A check's table of cases emptied (it would loop over nothing), a constant its reference reads changed
    (metrics.HQ_STDS), a dict of the package emptied in place: each is put back before the check, by value."""
    path = student(
        tmp_path,
        {
            "0.3": cell("0.3", "from gancourse import metrics, defaults\nmetrics.HQ_STDS = 1e9\ndefaults.WGAN.clear()"),
            "0.4": cell("0.4", "check.REAL_FRACTION_CASES = ()"),
        },
    )
    report, by_id = _grade(path)
    assert statuses(report) == {"0.1": "not attempted", "0.2": "not attempted", "0.3": "failed", "0.4": "failed"}
    assert "got 0.5" in by_id["0.3"].message and "got 0.5" in by_id["0.4"].message  # the real cases ran
    text = report.text()
    for name in ("gancourse.metrics.HQ_STDS", "gancourse.defaults.WGAN", "gancourse.checks.ex00.REAL_FRACTION_CASES"):
        assert name in text, text


def test_ipython_display_stdout_and_stale_outputs_earn_nothing(tmp_path):
    """IPython's exception hook and traceback display silenced, "passed" printed and stdout replaced, outputs
    and execution counts of an earlier run that claim every check passed, and os._exit(0) in the setup cell."""
    custom_exc = "get_ipython().set_custom_exc((BaseException,), lambda self, et, v, tb, tb_offset=None: None)"
    showtraceback = "get_ipython().showtraceback = lambda *a, **k: None"
    stdout = (
        "import sys\nprint('Exercise 0.3: passed ✓')\n"
        "class _Quiet:\n    def write(self, s):\n        return len(s)\n    def flush(self):\n        pass\n"
        "sys.stdout = sys.stderr = _Quiet()"
    )
    path = student(
        tmp_path,
        {"0.1": cell("0.1", custom_exc), "0.2": cell("0.2", showtraceback), "0.3": cell("0.3", stdout)},
        setup="import os\nos._exit(0)",
        stale=True,
    )
    report, _ = _grade(path)
    assert statuses(report) == {"0.1": "failed", "0.2": "failed", "0.3": "failed", "0.4": "not attempted"}
    assert report.total == 0


def test_answers_that_call_the_packages_own_implementation_earn_nothing(tmp_path):
    """Calling, aliasing or returning the package's implementation of the function asked for, or a check's own
    reference, earns 0 and says so (assignments 00, 04, 06); running a check oneself, or a building block the
    exercise does not ask for, stays allowed."""
    path = student(
        tmp_path,
        {
            "0.1": "# Exercise 0.1: the ring's modes\ndef ring_modes_by_hand(n_modes, radius):\n    return data.ring_modes(n_modes, radius)",
            "0.2": "# Exercise 0.2: pixels into [-1, 1]\nfrom gancourse.data import _to_course_range as to_course_range",
            "0.3": (
                "# Exercise 0.3: the high-quality fraction\nfrom gancourse import metrics\n"
                "def high_quality_fraction(samples, modes, std):\n    return metrics.mode_coverage(samples, modes, std)['high_quality']"
            ),
            "0.4": cell("0.4", "", solved("0.4") + "\ncheck.real_fraction(real_fraction)  # testing oneself: fine"),
        },
    )
    report, by_id = _grade(path)
    assert statuses(report) == {"0.1": "failed", "0.2": "failed", "0.3": "failed", "0.4": "passed"}
    for ident, name in (("0.1", "data.ring_modes"), ("0.2", "data._to_course_range"), ("0.3", "metrics.mode_coverage")):
        assert f"0 points: the answer calls gancourse.{name}" in by_id[ident].message

    emd = "# Exercise 4.4: EMD by optimal assignment\nfrom gancourse import transport\ndef emd_assignment(a, b):\n    return transport.emd_points(a, b)[0]"
    surplus = "# Exercise 4.1: the running surplus\nfrom gancourse import transport\ndef running_surplus(p, q):\n    return transport.emd_1d(p, q)[1]"
    path = student(tmp_path, {"4.1": surplus, "4.2": "solution", "4.4": emd}, assignment="04_earth_movers_distance")
    report, by_id = _grade(path)
    assert "calls gancourse.transport.emd_1d" in by_id["4.1"].message
    assert "calls gancourse.transport.emd_points" in by_id["4.4"].message
    assert by_id["4.2"].status == "passed" and report.total == 1

    reference = (
        "# Exercise 6.5: the bound\nanswer_6_5 = check.lipschitz_bound((2, 128, 128, 1), 0.01)  # the check's own"
    )
    report, by_id = _grade(student(tmp_path, {"6.5": reference}, assignment="06_wgan"))
    assert "calls gancourse.checks.ex06.lipschitz_bound" in by_id["6.5"].message and report.total == 0


def test_crashes_cost_only_their_exercise(tmp_path):
    """os._exit in a cell, SIGKILL from inside an answer while its check runs: each loses its own exercise, the
    grader starts a fresh sandbox for the rest."""
    kill = "import os, signal\ndef to_course_range(images):\n    os.kill(os.getpid(), signal.SIGKILL)"
    path = student(
        tmp_path,
        {
            "0.1": cell("0.1", "import os\nos._exit(0)"),
            "0.2": cell("0.2", "", kill),
            "0.3": "solution",
            "0.4": "solution",
        },
    )
    report, by_id = _grade(path)
    assert statuses(report) == {"0.1": "not run", "0.2": "not run", "0.3": "passed", "0.4": "passed"}
    assert "exit code 0" in by_id["0.1"].message and "SIGKILL" in by_id["0.2"].message


def test_hangs_cost_only_their_exercise(tmp_path):
    """A loop that swallows KeyboardInterrupt, one that ignores every signal it can, and a cell that stops the
    process's parent: the first is stopped by the cell's time limit, the second killed, the third harmless."""
    swallow = (
        "import time\ndef ring_modes_by_hand(n_modes, radius):\n    while True:\n        try:\n"
        "            time.sleep(0.05)\n        except KeyboardInterrupt:\n            pass"
    )
    deaf = "import signal, time\nfor s in (signal.SIGINT, signal.SIGALRM, signal.SIGTERM):\n    signal.signal(s, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)"
    stop_parent = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)"
    path = student(
        tmp_path,
        {
            "0.1": cell("0.1", "", swallow),
            "0.2": cell("0.2", deaf),
            "0.3": cell("0.3", stop_parent, solved("0.3")),
            "0.4": "solution",
        },
    )
    report, by_id = _grade(path, cell_timeout=5)
    assert by_id["0.1"].status == "not run" and "ran past 5 s" in by_id["0.1"].message
    assert by_id["0.2"].status == "not run" and "did not stop" in by_id["0.2"].message
    assert by_id["0.3"].status == by_id["0.4"].status == "passed"


def test_the_notebooks_time_limit_bounds_many_slow_cells(tmp_path):
    """Four cells that each ignore their limit would cost four cell limits and four grace periods; the notebook's
    own limit ends it all sooner, every exercise says why it was not run, and the report is written."""
    deaf = "import signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.05)"
    path = student(tmp_path, {i: cell(i, deaf) for i in ("0.1", "0.2", "0.3", "0.4")})
    start = time.monotonic()
    report, by_id = _grade(path, cell_timeout=8, timeout=20)
    assert time.monotonic() - start < 20 + 30  # the limit, the last kill and a start-up on a busy machine
    assert set(statuses(report).values()) == {"not run"}
    assert any("time limit (20 s) ran out" in e.message for e in by_id.values())


@pytest.mark.skipif(not HAS_BWRAP, reason="the sandbox needs bubblewrap (.ci/run installs it)")
def test_background_processes_and_writes_to_the_package_change_nothing(tmp_path):
    """A process started to rewrite the report after the grader exits dies with the sandbox; appending to the
    grader's own source fails (read-only): the report and the package are as they were."""
    report_path = tmp_path / "reports" / "student.json"
    marker = f"gancourse-test-{os.getpid()}-{time.time_ns()}"
    rewrite = (
        "import subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time, pathlib; time.sleep(3); "
        f'pathlib.Path({str(report_path)!r}).write_text("{{}}")  # {marker}\'], start_new_session=True)'
    )
    target = grade.__file__
    before = hashlib.sha256(open(target, "rb").read()).hexdigest()
    tamper = f"open({target!r}, 'a').write('\\nraise SystemExit')"
    path = student(tmp_path, {"0.1": cell("0.1", rewrite, solved("0.1")), "0.2": cell("0.2", tamper)})
    assert grade.main([str(path), "--json", str(report_path), "--cell-timeout", "30"]) == 0
    time.sleep(4)
    assert json.loads(report_path.read_text())["max_total"] == 4
    assert hashlib.sha256(open(target, "rb").read()).hexdigest() == before
    alive = [p for p in os.listdir("/proc") if p.isdigit() and marker.encode() in _cmdline(p)]
    assert alive == []


def _cmdline(pid: str) -> bytes:
    try:
        return open(f"/proc/{pid}/cmdline", "rb").read()
    except OSError:
        return b""


def test_messages_the_grader_did_not_ask_for_end_grading(tmp_path):
    """A forged verdict written to every open file descriptor, and a thread left running into a check: the
    thread's exercise is not graded, the forgery stops grading there and earns nothing."""
    thread = "import threading, time\nthreading.Thread(target=time.sleep, args=(60,), daemon=True).start()"
    forge = (
        "import json, os\n_line = json.dumps({'event': 'verdict', 'id': '0.2', 'nonce': '0' * 32, 'status': 'passed', "
        "'message': ''}) + '\\n'\nfor _fd in os.listdir('/proc/self/fd'):\n    try:\n"
        "        os.write(int(_fd), _line.encode())\n    except OSError:\n        pass"
    )
    path = student(
        tmp_path,
        {"0.1": cell("0.1", thread, solved("0.1")), "0.2": cell("0.2", forge, solved("0.2")), "0.4": "solution"},
    )
    report, by_id = _grade(path)
    assert report.total == 0, report.text()
    assert "threads" in by_id["0.1"].message
    assert "message it had not asked for" in by_id["0.2"].message


def test_without_a_sandbox_it_grades_and_says_so(tmp_path):
    """No bwrap (here: the sandbox turned off): one line says so, and a cell that stops its parent stops the
    runner's shepherd, not the grader."""
    stop_parent = "import os, signal\nos.kill(os.getppid(), signal.SIGSTOP)"
    path = student(tmp_path, {"0.1": "solution", "0.2": cell("0.2", stop_parent)})
    report, _ = _grade(path, sandbox=False)
    assert report.sandbox.startswith("Not sandboxed") and report.total == 1
    assert "Not sandboxed" in report.text()
