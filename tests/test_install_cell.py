"""Every notebook's first cell: it installs the pinned release where gancourse is missing, and only then.

The cell is run here as it is written into the notebooks, with pip replaced by a stand-in that records what it was
asked (no network in tests): where gancourse imports it does nothing; where it is missing it installs the missing
needs (keeping the torch that is there) and then the release; a failing pip stops it with pip's own reason.
"""

import importlib.metadata
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import pytest

import gancourse
from gancourse import notebooks

ROOT = Path(__file__).resolve().parents[1]
ALL = notebooks.course_notebooks(ROOT)
URL = f"https://github.com/gancourse/gancourse/archive/refs/tags/v{gancourse.__version__}.tar.gz"


def ids(p):
    return f"{p.parent.name}/{p.name}"


@pytest.mark.parametrize("path", ALL, ids=ids)
def test_every_notebook_starts_with_the_current_install_cell(path):
    nb = notebooks.read(path)
    assert notebooks.install_cell_is_current(nb), (
        f"{path.name}: the first code cell is not the install cell: run `python -m gancourse.notebooks`"
    )
    assert nb.cells[0].cell_type == "markdown" and nb.cells[1] is notebooks.first_code_cell(nb)


def test_the_cell_pins_one_release_from_one_place():
    source = notebooks.install_source()
    assert notebooks.release() == f"v{gancourse.__version__}"
    assert source.count(URL) == 1 and source.count("/archive/refs/tags/") == 1
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(rf'^version = "{re.escape(gancourse.__version__)}"$', pyproject, re.M), (
        "pyproject.toml's version and gancourse.__version__ differ: the notebooks install v + __version__"
    )
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"release `{notebooks.release()}`" in readme, "the README names the release the notebooks install"
    needs = notebooks.requirements()
    assert needs[0].startswith("torch>=") and "mlxtend>=0.23,<1" in needs
    assert all(f'"{need}"' in source for need in needs)


class FakePip:
    """subprocess.run's stand-in: records each command, answers with ``returncode`` and ``stderr``."""

    def __init__(self, returncode=0, stderr=""):
        self.calls, self.returncode, self.stderr = [], returncode, stderr

    def __call__(self, args, **kwargs):
        assert args[:4] == [sys.executable, "-m", "pip", "install"], args
        self.calls.append(args[4:])
        return subprocess.CompletedProcess(args, self.returncode, "", self.stderr)


def run_cell(monkeypatch, *, absent=(), pip=None):
    """Run the install cell with the modules in ``absent`` unimportable and pip replaced; return the stand-in."""
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name in absent else real(name, *a))
    pip = pip or FakePip()
    monkeypatch.setattr(subprocess, "run", pip)
    exec(compile(notebooks.install_source(), "install cell", "exec"), {"__name__": "__main__"})
    return pip


def test_where_gancourse_imports_the_cell_does_nothing(monkeypatch, capsys):
    pip = run_cell(monkeypatch)
    assert pip.calls == [] and capsys.readouterr().out == ""


def test_where_gancourse_is_missing_it_installs_the_release_and_keeps_torch(monkeypatch, capsys):
    with pytest.raises(RuntimeError, match="does not see it yet: restart"):  # the stand-in installs nothing
        pip = FakePip()
        run_cell(monkeypatch, absent={"gancourse", "mlxtend"}, pip=pip)
    torch_pin = f"torch=={importlib.metadata.version('torch')}"
    assert pip.calls == [["-q", "mlxtend>=0.23,<1", torch_pin], ["-q", "--no-deps", URL]]
    assert f"installing gancourse v{gancourse.__version__}, mlxtend>=0.23,<1 ..." in capsys.readouterr().out


def test_with_every_need_there_only_the_release_is_installed(monkeypatch):
    pip = FakePip()
    with pytest.raises(RuntimeError, match="restart"):
        run_cell(monkeypatch, absent={"gancourse"}, pip=pip)
    assert pip.calls == [["-q", "--no-deps", URL]], "the torch that is there is not even mentioned"


def test_a_failed_install_stops_with_pips_reason(monkeypatch):
    pip = FakePip(returncode=1, stderr="ERROR: Could not find a version that satisfies the requirement mlxtend")
    with pytest.raises(RuntimeError, match="pip could not install mlxtend.*\n.*Could not find a version"):
        run_cell(monkeypatch, absent={"gancourse", "mlxtend"}, pip=pip)
    assert len(pip.calls) == 1, "nothing else is tried after a failure"


def test_the_generator_replaces_an_old_first_cell_and_reports_a_stale_one(tmp_path, capsys):
    nb = notebooks.read(ROOT / "notebooks" / "03_xy_game.ipynb")
    old = 'import sys\n\nif "google.colab" in sys.modules:\n    %pip install -q --no-deps "gancourse @ git+https://x"'
    notebooks.first_code_cell(nb).source = old
    notebooks.first_code_cell(nb).metadata = {}
    n_cells = len(nb.cells)
    path = tmp_path / "03_xy_game.ipynb"
    notebooks.write(nb, path)
    assert notebooks.main([str(path), "--check"]) == 1 and "old first cell" in capsys.readouterr().out
    assert notebooks.main([str(path)]) == 0
    fixed = notebooks.read(path)
    assert notebooks.install_cell_is_current(fixed) and len(fixed.cells) == n_cells
    assert notebooks.main([str(path), "--check"]) == 0


def test_a_notebook_without_an_install_cell_gets_one(tmp_path):
    nb = notebooks.nbformat.v4.new_notebook(
        cells=[notebooks.nbformat.v4.new_markdown_cell("# 99 · t\n> x"), notebooks.nbformat.v4.new_code_cell("x = 1")]
    )
    nb = notebooks.with_install_cell(nb)
    assert [c.cell_type for c in nb.cells] == ["markdown", "code", "code"] and nb.cells[2].source == "x = 1"
    assert notebooks.install_cell_is_current(nb)
