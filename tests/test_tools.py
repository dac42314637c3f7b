"""tools/run_notebook.py: how notebooks run on the GPU machine, which has torch but no Jupyter."""

import json
import subprocess
import sys

import pytest


def _notebook(path, *sources):
    cells = [{"cell_type": "markdown", "metadata": {}, "source": ["# a title"]}]
    cells += [
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": [s]} for s in sources
    ]
    path.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    return path


def _run(root, path):
    script = root / "tools" / "run_notebook.py"
    return subprocess.run([sys.executable, str(script), str(path)], capture_output=True, text=True, timeout=120)


def test_cells_share_one_namespace_and_magics_are_skipped(tmp_path, root):
    nb = _notebook(
        tmp_path / "ok.ipynb",
        'import sys\nif "google.colab" in sys.modules:\n    %pip install -q nothing\nx = 2',
        "assert x == 2\nprint('x is', x)",
    )
    out = _run(root, nb)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "x is 2" in out.stdout and "[cell 1:" in out.stdout and "OK " in out.stdout


@pytest.mark.parametrize("failing", ["assert 1 == 2, 'a claim that does not hold'", "raise ValueError('boom')"])
def test_a_failing_cell_stops_the_run_and_is_named(tmp_path, root, failing):
    nb = _notebook(tmp_path / "bad.ipynb", "y = 1", failing, "print('never reached')")
    out = _run(root, nb)
    assert out.returncode == 1
    assert "code cell 1" in out.stdout and "never reached" not in out.stdout
    assert ("a claim that does not hold" in out.stderr) or ("boom" in out.stderr)
