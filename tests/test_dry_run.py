"""Every lecture's gpu-profile code, run on a CPU with training cut to a few steps: the dry run.

``GANCOURSE_PROFILE=gpu GANCOURSE_DRYRUN=1`` gives every size as the gpu profile has it (data, samples, widths,
batch sizes) and cuts every training length to a few steps (gancourse.runtime.train_steps); claims about what
training achieved are printed, not judged (gancourse.runtime.claim). So a size, shape or path mistake of the gpu
branch fails here, in CI, rather than on a learner's GPU. Solutions and checks do not read the profile (tested
below), so the fast profile's run of them under nbval is already their gpu run.
"""

import re
from pathlib import Path

import pytest

from gancourse import notebooks

ROOT = Path(__file__).resolve().parents[1]
LECTURES = sorted((ROOT / "notebooks").glob("*.ipynb"))
CELL_TIMEOUT = 900  # seconds: the gpu profile's sizes on one CPU thread


def ids(p):
    return p.stem


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """One checkpoint folder for the module's lectures, as $GANCOURSE_CHECKPOINTS: lecture 08 writes, 09 reads."""
    return tmp_path_factory.mktemp("checkpoints")


def dry_run(path: Path, env: dict, timeout: int = CELL_TIMEOUT):
    """Run the notebook at ``path`` in a fresh kernel with ``env``, from its own folder; return it run."""
    from nbclient import NotebookClient

    nb = notebooks.read(path)
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    client.execute(env=env)
    return nb


def outputs(nb) -> str:
    return "\n".join(out.get("text", "") for cell in nb.cells for out in cell.get("outputs", []) if out.get("name"))


@pytest.mark.parametrize("path", LECTURES, ids=ids)
def test_the_gpu_profile_runs_dry_on_a_cpu(path, checkpoints, monkeypatch):
    import os

    env = {**os.environ, "GANCOURSE_PROFILE": "gpu", "GANCOURSE_DRYRUN": "1", "GANCOURSE_CHECKPOINTS": str(checkpoints)}
    env["MPLBACKEND"] = "Agg"
    nb = dry_run(path, env)
    text = outputs(nb)
    assert "profile gpu (dry run: training cut to a few steps)" in text, "the setup cell says it is a dry run"


def test_the_dry_run_covers_every_lecture():
    assert [p.name[:2] for p in LECTURES] == [f"{i:02d}" for i in range(11)]


@pytest.mark.parametrize("path", sorted((ROOT / "solutions").glob("*.ipynb")), ids=ids)
def test_solutions_do_not_read_the_profile(path):
    source = "\n".join(c.source for c in notebooks.read(path).cells if c.cell_type == "code")
    assert not re.search(r"\b(budget|train_steps|profile|claim)\(", source), (
        f"{path.name} reads the run profile: add it to the dry run (tests/test_dry_run.py)"
    )


def test_checks_do_not_read_the_profile():
    for module in sorted((ROOT / "gancourse" / "checks").glob("*.py")):
        source = module.read_text(encoding="utf-8")
        assert not re.search(r"\b(budget|train_steps|profile|dry_run)\(", source), module.name
