"""ruff (check and format) over the package, the tests and every notebook."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TARGETS = ["gancourse", "tests", "notebooks", "solutions", "exercises"]


def _ruff():
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        pytest.fail("ruff is not installed: pip install -r requirements.txt")
    return exe


@pytest.mark.parametrize("args", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(args):
    result = subprocess.run([_ruff(), *args, *TARGETS], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


# Pages the website generates (gancourse.site), not files of the repository.
SITE_PAGES = {"index.md", "about.md"}
WRITTEN = {"figures.md"}  # pages a tool writes (tools/gpu_report.py), not pages a reader is sent to


def test_no_file_cites_a_markdown_page_the_repository_does_not_have():
    # Comments and prose once cited planning notes that were never in the repository; a reader could not follow them.
    import re

    have = {p.name for p in ROOT.rglob("*.md") if ".venv" not in p.parts} | SITE_PAGES | WRITTEN
    cited = re.compile(r"[A-Za-z0-9_./-]+\.md\b")
    missing = []
    for folder in [*TARGETS, "docs", "tools", ".github", ".ci"]:
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".ipynb", ".md", ".sh", ".yml", ".toml", ""}:
                text = path.read_text(encoding="utf-8", errors="ignore")
                missing += [f"{path.relative_to(ROOT)}: {m}" for m in cited.findall(text) if Path(m).name not in have]
    for path in (ROOT / "README.md", ROOT / "pyproject.toml"):
        missing += [
            f"{path.name}: {m}" for m in cited.findall(path.read_text(encoding="utf-8")) if Path(m).name not in have
        ]
    assert not missing, "cited but not in the repository:\n" + "\n".join(missing)
