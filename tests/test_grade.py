"""The grader: full marks for every solution, zero for every generated exercise, partial credit exact, a whole
class in one command, and one line with exit code 2 for whatever it cannot grade."""

import csv
import json
import shutil

import pytest
from grading_helpers import HAS_BWRAP, ROOT, solved, statuses, student

from gancourse import grade, notebooks
from gancourse.grading import manifest

ASSIGNMENTS = sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))


def _gradebook(out) -> dict[str, dict]:
    with open(out / "gradebook.csv", newline="") as f:
        return {row["file"].rsplit("/", 1)[-1]: row for row in csv.DictReader(f)}


def test_every_solution_gets_full_marks_and_every_exercise_zero(tmp_path):
    """Both folders in one class run, two notebooks at a time: each solution scores its maximum, each
    generated student copy 0 with every exercise "not attempted"."""
    for folder in ("solutions", "exercises"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    out = tmp_path / "out"
    args = [str(tmp_path / "solutions"), str(tmp_path / "exercises"), "--jobs", "2", "--out", str(out)]
    assert grade.main(args) == 0
    for name in ASSIGNMENTS:  # the second notebook of a name gets the suffix -2
        solved, blank = (json.loads((out / f"{stem}.json").read_text()) for stem in (name, f"{name}-2"))
        assert solved["score"] == sum(t["max_score"] for t in solved["tests"]) >= 4, solved
        assert {t["status"] for t in solved["tests"]} == {"passed"}, solved
        assert blank["score"] == 0 and {t["output"] for t in blank["tests"]} == {"not attempted"}, blank
    assert len(_gradebook(out)) == len(ASSIGNMENTS)  # keyed by file name: the two copies share each


def test_one_solved_exercise_gets_exactly_its_points(tmp_path):
    """An honest cell may use IPython's magics, shell escapes and display(), in the cell and inside its function."""
    header, body = solved("0.2").split("\n", 1)
    honest = f"# Exercise 0.2: pixels into [-1, 1]\n%time x = 1\n!echo hi\ndisplay(x)\n{header}\n"
    honest += f"    get_ipython().run_line_magic('time', 'y = 2')\n{body}"
    report = grade.grade(student(tmp_path, {"0.2": honest}))
    assert statuses(report) == {"0.1": "not attempted", "0.2": "passed", "0.3": "not attempted", "0.4": "not attempted"}
    assert (report.total, report.max_total) == (1, 4)


def test_wrong_and_crashing_answers_cost_only_their_exercise(tmp_path, capsys):
    wrong = "# Exercise 0.2: pixels into [-1, 1]\ndef to_course_range(images):\n    return images.float() / 255.0"
    crash = "# Exercise 0.1: the ring's modes\ndef ring_modes_by_hand(n_modes, radius):\n    return undefined_name"
    path = student(tmp_path, {"0.1": crash, "0.2": wrong, "0.3": "solution", "0.4": "solution"})
    out = tmp_path / "new folder" / "grade.json"  # --json creates the folders it needs
    assert grade.main([str(path), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Total: 2/4" in text and ("Sandbox: bubblewrap" in text if HAS_BWRAP else "Not sandboxed" in text)
    result = json.loads(out.read_text())
    by_id = {e["id"]: e for e in result["exercises"]}
    assert by_id["0.1"]["status"] == "failed" and "NameError" in by_id["0.1"]["message"]
    assert by_id["0.2"]["status"] == "failed" and "Hint" in by_id["0.2"]["message"]
    assert [by_id[i]["status"] for i in ("0.3", "0.4")] == ["passed", "passed"]
    assert (result["total"], result["max_total"], result["assignment"]) == (2, 4, "00")


def test_a_class_in_one_command(tmp_path, capsys):
    """An honest notebook, a blank one, a cheat, a hang and a file that is not a notebook, graded two at a time:
    each earns what it earned, the bad file gets a row saying why, and the exit code says a file was bad."""
    folder = tmp_path / "class"
    folder.mkdir()
    shutil.copy(ROOT / "solutions" / "00_warmup.ipynb", folder / "honest.ipynb")
    shutil.copy(ROOT / "exercises" / "00_warmup.ipynb", folder / "blank.ipynb")
    cheat = (
        "# Exercise 0.1: the ring's modes\nimport numpy as np\n"
        "for name in dir(check):\n    setattr(check, name, lambda *a, **k: None)\n"
        "np.allclose = lambda *a, **k: True\n"
        "def ring_modes_by_hand(n_modes, radius):\n    return torch.zeros(n_modes, 2)"
    )
    student(folder, {"0.1": cheat}, name="cheat.ipynb")
    hang = "# Exercise 0.2: pixels into [-1, 1]\nimport signal, time\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nwhile True:\n    time.sleep(0.1)"
    student(folder, {"0.1": "solution", "0.2": hang, "0.3": "solution"}, name="hang.ipynb")
    (folder / "notes.ipynb").write_text("not a notebook")
    out = tmp_path / "grades"
    args = [str(folder), "--jobs", "2", "--cell-timeout", "8", "--timeout", "180", "--out", str(out)]
    assert grade.main(args) == 2
    book = _gradebook(out)
    scores = {name: (row["score"], [row[i] for i in ("0.1", "0.2", "0.3", "0.4")]) for name, row in book.items()}
    assert scores == {
        "honest.ipynb": ("4", ["1", "1", "1", "1"]),
        "blank.ipynb": ("0", ["0", "0", "0", "0"]),
        "cheat.ipynb": ("0", ["0", "0", "0", "0"]),
        "hang.ipynb": ("2", ["1", "0", "1", "0"]),
        "notes.ipynb": ("0", ["", "", "", ""]),
    }
    assert "not a notebook" in book["notes.ipynb"]["error"]
    hung = json.loads((out / "hang.json").read_text())
    assert hung["score"] == 2 and set(hung) >= {"score", "execution_time", "output", "tests"}
    assert hung["tests"][1]["status"] == "failed" and "ran past 8 s" in hung["tests"][1]["output"]
    assert all(set(t) == {"name", "score", "max_score", "status", "output"} for t in hung["tests"])
    assert "not a notebook" in capsys.readouterr().err


@pytest.mark.parametrize(
    "content, says",
    [
        ("{not json", "not JSON"),
        ('{"cells": "no"}', "not a notebook (JSON without a list of cells)"),
        ('["a", "list"]', "not a notebook (JSON without a list of cells)"),
        ('{"cells": [{"cell_type": "code"}], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}', "nbformat"),
    ],
)
def test_a_file_that_is_not_a_notebook_gets_one_line_and_exit_code_2(tmp_path, capsys, content, says):
    path = tmp_path / "05_vanilla_gan.ipynb"
    path.write_text(content)
    assert grade.main([str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and len(err.splitlines()) == 1
    with pytest.raises(grade.InputError, match="not"):
        grade.grade(path)


def test_other_inputs_it_cannot_grade_get_exit_code_2(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert grade.main([str(tmp_path / "empty")]) == 2
    assert grade.main([str(tmp_path / "missing.ipynb")]) == 2
    lecture = tmp_path / "lecture.ipynb"
    notebooks.write(notebooks.read(ROOT / "notebooks" / "00_setup_and_tour.ipynb"), lecture)
    assert grade.main([str(lecture)]) == 2
    assert grade.main([str(ROOT / "exercises" / "00_warmup.ipynb"), "--assignment", "42"]) == 2
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert grade.main([str(ROOT / "exercises" / "00_warmup.ipynb"), "--json", str(blocked / "x.json")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert [line.split(":")[0] for line in err] == ["error"] * 5
    assert "empty folder" in err[0] and "no such file" in err[1] and "--assignment" in err[2]
    assert "no assignment '42'" in err[3] and "cannot write" in err[4]
    huge = tmp_path / "huge.ipynb"
    with open(huge, "wb") as f:
        f.truncate(65 * 2**20)  # sparse: nothing is written
    assert grade.main([str(huge)]) == 2
    assert "too large for a notebook" in capsys.readouterr().err
    assert grade.main([str(ROOT / "exercises" / "00_warmup.ipynb"), "--timeout", "0"]) == 2
    assert "--timeout must be at least 1, got 0" in capsys.readouterr().err
    with pytest.raises(ValueError, match="profile"):
        grade.grade(ROOT / "solutions" / "00_warmup.ipynb", profile="turbo")


def test_the_assignment_comes_from_metadata_file_name_or_headers(tmp_path):
    nb = notebooks.read(ROOT / "exercises" / "05_vanilla_gan.ipynb")
    assert manifest.infer_assignment(tmp_path / "x.ipynb", nb) == ("05", "the notebook's metadata")
    nb.metadata.pop("gancourse")
    assert manifest.infer_assignment(tmp_path / "05_mine.ipynb", nb) == ("05", "the file name")
    assert manifest.infer_assignment(tmp_path / "mine.ipynb", nb) == ("05", "the exercise headers")
    nb.cells = []
    with pytest.raises(manifest.InputError, match="--assignment"):
        manifest.infer_assignment(tmp_path / "mine.ipynb", nb)
