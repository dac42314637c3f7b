"""The course as a static website, with every lecture's results: ``python -m gancourse.site OUT [--profile P]``.

Each lecture runs top to bottom in a fresh kernel in the chosen run profile (its asserts must hold); the
exercises are shown as text, without solutions and unexecuted. Sphinx, myst-nb and sphinx-book-theme render
them: the lectures in order, search, "open in Colab" and download buttons on every page, the README's front
matter as the landing page. Nothing a page shows is fetched from the network: MathJax is copied from Debian's
``libjs-mathjax`` (or ``--mathjax DIR``), widgets become static snapshots of their last state, remote images
become links. The site is built in a temporary folder and moved to OUT only when it is complete.
"""

from __future__ import annotations

import argparse
import copy
import html
import os
import posixpath
import re
import shutil
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import nbformat

from gancourse import notebooks
from gancourse.runtime import PROFILES

ROOT = Path(__file__).resolve().parents[1]
REPOSITORY = "gancourse/gancourse"  # as in the notebooks' Colab badges
MATHJAX = Path("/usr/share/javascript/mathjax")  # Debian's libjs-mathjax (MathJax 2.7)
MATHJAX_FILES = [  # what TeX input and CommonHTML output need: 1.5 MB of the package's 54
    "MathJax.js",
    "config/TeX-AMS_CHTML.js",
    "extensions",
    "jax/input/TeX",
    "jax/output/CommonHTML",
    "jax/element",
    "fonts/HTML-CSS/TeX/woff",
    "localization/en",
]
LANDING_END = "<!-- the website's landing page ends here -->"  # in README.md; the rest becomes the page "about"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
CSS = """/* MathJax 2's display math fills the line and is centred (the theme lays out div.math for MathJax 3) */
div.math > .MJXc-display { flex-grow: 1; }
"""
EXERCISE_NOTE = """```{note}
This page shows the assignment's text without its solutions, and without running it. To solve it, open it in
Colab or download the notebook (the buttons at the top of the page), replace each
`raise NotImplementedError(...)` with your code, and run the check cell below it.
```"""


# --- Markdown: links that work on the site, no image from the network ---------------------------------------

LINKED_IMAGE = re.compile(r"\[!\[([^\]]*)\]\(https?://[^)\s]+\)\]\(([^)\s]+)\)")  # a badge: [![alt](img)](url)
REMOTE_IMAGE = re.compile(r"!\[([^\]]*)\]\((https?://[^)\s]+)\)")
LINK = re.compile(r"(?<!!)\[([^\]]*)\]\(([^)\s]+)\)")
CODE_PATH = re.compile(r"`((?:notebooks|exercises|docs)/[\w.-]+\.(?:ipynb|md))`")
DISPLAY_MATH = re.compile(r"^\$\$(.+?)\$\$", re.DOTALL | re.MULTILINE)  # $$...$$ from the start of a line


def site_markdown(text: str, where: str, pages: set[str]) -> str:
    """Markdown of the repository file ``where`` as the site shows it.

    Remote images become links (a page loads nothing from the network), links to files that are not pages
    of the site point at the repository on GitHub, and code-formatted paths of pages become links. Display math
    becomes a block of its own, as Jupyter shows it: inside a paragraph, a formula's line that starts with "+ "
    would start a list.
    """
    folder = posixpath.dirname(where)

    def target(path: str) -> str:
        if re.match(r"[a-z][a-z0-9+.-]*:", path) or path.startswith("#"):
            return path
        file, _, anchor = path.partition("#")
        repo_path = posixpath.normpath(posixpath.join(folder, file))
        if repo_path == "README.md":
            return posixpath.relpath("index.md", folder or ".") + (f"#{anchor}" if anchor else "")
        if repo_path in pages:
            return path
        return f"https://github.com/{REPOSITORY}/blob/main/{repo_path}" + (f"#{anchor}" if anchor else "")

    text = DISPLAY_MATH.sub(lambda m: "\n\n$$\n" + m.group(1).strip() + "\n$$\n\n", text)
    text = LINKED_IMAGE.sub(r"[\1](\2)", text)
    text = REMOTE_IMAGE.sub(r"[\1](\2)", text)
    text = LINK.sub(lambda m: f"[{m.group(1)}]({target(m.group(2))})", text)

    def code_link(m: re.Match) -> str:
        if m.group(1) not in pages:
            return m.group(0)
        return f"[`{m.group(1)}`]({posixpath.relpath(m.group(1), folder or '.')})"

    return CODE_PATH.sub(code_link, text)


def landing_pages(readme: str, pages: set[str]) -> tuple[str, str]:
    """The landing page (the README up to LANDING_END) and the page "about" (the rest), as site Markdown."""
    front, marker, rest = readme.partition(LANDING_END)
    about = "# About the course\n\n" + rest.strip() + "\n" if marker else ""
    return site_markdown(front.strip() + "\n", "README.md", pages), site_markdown(about, "README.md", pages)


# --- Widgets: a static snapshot of each widget's last state -------------------------------------------------

TEXT_WIDGETS = {"HTMLModel", "HTMLMathModel", "LabelModel"}
QUIET_WIDGETS = {"FloatProgressModel", "IntProgressModel", "ButtonModel", "OutputModel"}


def _walk_widget(model_id: str, state: dict, texts: list[str], outputs: list, controls: list[str]) -> None:
    model = state.get(model_id)
    if model is None:
        return
    name, values = model.get("model_name"), model.get("state", {})
    if name == "OutputModel":
        outputs.extend(nbformat.from_dict(out) for out in values.get("outputs", []))
    elif name in TEXT_WIDGETS:
        text = html.unescape(re.sub(r"<[^>]+>", "", str(values.get("value", "")))).replace("\xa0", " ").strip()
        if text:
            texts.append(text)
    elif name not in QUIET_WIDGETS and ("value" in values or "index" in values):
        value = values.get("value")
        if "_options_labels" in values and values.get("index") is not None:
            value = values["_options_labels"][values["index"]]
        elif isinstance(value, float) and values.get("readout_format"):
            value = format(value, values["readout_format"])
        controls.append(f"{values.get('description') or name.removesuffix('Model')} = {value}")
    for child in values.get("children", []):
        _walk_widget(str(child).removeprefix("IPY_MODEL_"), state, texts, outputs, controls)


def widget_snapshot(model_id: str, state: dict) -> list:
    """The outputs that show widget ``model_id`` as it was last: a line of its texts and controls, then its outputs."""
    texts, outputs, controls = [], [], []
    _walk_widget(model_id, state, texts, outputs, controls)
    line = "  ".join(texts)
    if controls:
        line = (line + "  " if line else "") + "Widget snapshot: " + ", ".join(controls)
        line += " (run the notebook to move the controls)"
    head = [nbformat.v4.new_output("stream", name="stdout", text=line + "\n")] if line else []
    return head + outputs


def snapshot_widgets(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Replace every widget in ``nb``'s outputs by its static snapshot and drop the widget state (no widget JS)."""
    state = nb.metadata.pop("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.outputs:
            view = out.get("data", {}).get(WIDGET_VIEW)
            outputs.extend(widget_snapshot(view["model_id"], state) if view else [out])
        cell.outputs = outputs
    return nb


# --- Pages ---------------------------------------------------------------------------------------------------


REMOTE_STYLESHEET = re.compile(r"""<link\b[^>]*\bhref=["']?(?:https?:)?//[^>]*>""", re.IGNORECASE)


def page_notebook(nb: nbformat.NotebookNode, where: str, pages: set[str], *, exercise: bool = False):
    """A notebook as a page: site Markdown, the Colab install cell hidden, an exercise's note under its title.

    An HTML output's stylesheet link to a CDN is dropped: matplotlib's animation player links Font Awesome 4 for
    its buttons, and the theme's own Font Awesome draws them.
    """
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = site_markdown(cell.source, where, pages)
            continue
        if '"google.colab" in sys.modules' in cell.source:
            cell.metadata.setdefault("tags", []).append("remove-cell")  # shown in Colab, not on the site
        for out in cell.get("outputs", []):
            if "text/html" in out.get("data", {}):
                out.data["text/html"] = REMOTE_STYLESHEET.sub("", out.data["text/html"])
    if exercise:
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(EXERCISE_NOTE))
    return nb


def execute(path: Path, profile: str, workdir: Path, *, timeout: int) -> nbformat.NotebookNode:
    """Run the notebook at ``path`` in a fresh kernel in ``profile``; a failing cell raises with its error."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError
    from nbclient.output_widget import OutputWidget

    class RecordingOutputWidget(OutputWidget):
        """nbclient's stand-in for an Output widget, recording its outputs without echoing them to the kernel.

        The echo goes out on the shell channel while nbclient awaits the cell's reply there, and can leave that
        wait hanging for good (jupyter/nbclient#312: lecture 01 hung twice in about 20 runs on a busy machine).
        """

        def sync_state(self) -> None:
            pass

    nb = notebooks.read(path)
    env = {**os.environ, "GANCOURSE_PROFILE": profile, "GANCOURSE_CHECKPOINTS": str(workdir / "checkpoints")}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(workdir)}},
    )
    client.widget_registry["@jupyter-widgets/output"] = {"OutputModel": RecordingOutputWidget}
    try:
        client.execute(env=env)
    except CellExecutionError as err:
        raise RuntimeError(f"{path.name} failed in the {profile} profile, so the site was not built:\n{err}") from None
    return nb


REMOTE = [  # what a browser would fetch from another host: a page's src= and <link href=>, a stylesheet's url()
    re.compile(
        r"""<(?:script|img|iframe|source|audio|video|embed|input)\b[^>]*?\bsrc=["']?((?:https?:)?//[^"'\s>]+)""", re.I
    ),
    re.compile(r"""<link\b[^>]*?\bhref=["']?((?:https?:)?//[^"'\s>]+)""", re.IGNORECASE),
    re.compile(r"""(?:url\(|@import)\s*["']?((?:https?:)?//[^"')\s]+)""", re.IGNORECASE),
]


def remote_resources(folder: str | Path) -> list[str]:
    """Every resource a page or stylesheet under ``folder`` would load from the network, as "file: url"."""
    found = []
    for path in sorted(Path(folder).rglob("*")):
        if path.suffix in (".html", ".css"):
            text = path.read_text(encoding="utf-8", errors="replace")
            found += [f"{path.relative_to(folder)}: {m.group(1)}" for pattern in REMOTE for m in pattern.finditer(text)]
    return found


def find_mathjax(mathjax: str | Path | None = None) -> Path:
    """The folder of MathJax 2 (the one that holds MathJax.js), or a FileNotFoundError that says how to get it."""
    folder = Path(mathjax) if mathjax is not None else MATHJAX
    if not (folder / "MathJax.js").is_file():
        raise FileNotFoundError(
            f"MathJax 2 not found: no MathJax.js in {folder}. Install Debian's libjs-mathjax "
            "(apt-get install libjs-mathjax) or pass --mathjax DIR (e.g. node_modules/mathjax after npm install mathjax@2)"
        )
    return folder


def _sphinx_config(mathjax_config: dict) -> dict:
    return {
        "project": "gancourse",
        "html_title": "gancourse: GANs from divergences to a DCGAN",
        "extensions": ["myst_nb"],
        "exclude_patterns": ["_build", "**.ipynb_checkpoints"],
        "myst_enable_extensions": ["dollarmath", "amsmath"],
        "myst_heading_anchors": 3,
        "myst_dmath_double_inline": True,  # $$...$$ inside a paragraph, as Jupyter shows it
        "myst_update_mathjax": False,  # its settings are for MathJax 3; MATHJAX_CONFIG says what to typeset
        "nb_execution_mode": "off",  # executed beforehand, one kernel per lecture
        "nb_merge_streams": True,
        "nb_ipywidgets_js": {},  # widgets are static snapshots: no widget manager from a CDN
        "html_theme": "sphinx_book_theme",
        "html_static_path": ["_static"],
        "html_css_files": ["gancourse.css"],
        "html_last_updated_fmt": None,
        "mathjax_path": "mathjax/MathJax.js?config=TeX-AMS_CHTML",  # the local copy, under _static/
        "mathjax2_config": mathjax_config,
        "html_theme_options": {
            "repository_url": f"https://github.com/{REPOSITORY}",
            "repository_branch": "main",
            "path_to_docs": "",
            "use_repository_button": True,
            "use_download_button": True,
            "home_page_in_toc": True,
            "launch_buttons": {"colab_url": "https://colab.research.google.com"},
        },
    }


MATHJAX_CONFIG = {
    "tex2jax": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": True,
        "processClass": "math|output_area",  # only what Sphinx marks as math
        "ignoreClass": "tex2jax_ignore|mathjax_ignore|document",
    },
    "menuSettings": {"zoom": "None"},
    "showMathMenu": False,
}


def toctree(caption: str, docs: list[str]) -> str:
    """A hidden toctree (the sidebar's table of contents); none for no documents."""
    if not docs:
        return ""
    return "```{toctree}\n:caption: " + caption + "\n:maxdepth: 1\n:hidden:\n\n" + "\n".join(docs) + "\n```\n"


def build(
    out: str | Path,
    profile: str = "fast",
    *,
    root: str | Path = ROOT,
    only: list[str] | None = None,
    mathjax: str | Path | None = None,
    timeout: int = 3600,
    log=print,
) -> Path:
    """Build the site into ``out`` and return it; ``only`` names the lectures to run (default: all of them)."""
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {PROFILES}, got {profile!r}")
    root, out = Path(root).resolve(), Path(out).resolve()
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / ".buildinfo").is_file())):
        raise FileExistsError(f"{out} exists and is not a site built before: give an empty or new folder")
    lectures = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    if not lectures:
        raise FileNotFoundError(f"no lecture notebooks in {root / 'notebooks'}")
    run = {p.stem for p in lectures} if only is None else {_lecture_name(name, lectures) for name in only}
    mathjax_dir = find_mathjax(mathjax)
    if profile == "gpu":
        import torch

        if not torch.cuda.is_available():
            raise RuntimeError("--profile gpu needs a CUDA device (torch.cuda.is_available() is False); use cpu")

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))  # beside OUT, so the last step is a rename
    try:
        src = tmp / "src"
        write_sources(root, src, profile, run, workdir=tmp / "run", timeout=timeout, log=log)
        for part in MATHJAX_FILES:
            target = src / "_static" / "mathjax" / part
            target.parent.mkdir(parents=True, exist_ok=True)
            (shutil.copytree if (mathjax_dir / part).is_dir() else shutil.copy2)(mathjax_dir / part, target)
        log("rendering the pages with Sphinx ...")
        for line in _sphinx(src, tmp / "html", tmp / "doctrees"):
            log(f"  warning: {line}")
        remote = remote_resources(tmp / "html")
        if remote:
            raise RuntimeError(
                "these pages would load from the network, so the site was not built:\n" + "\n".join(remote)
            )
        if out.exists():
            out.rename(tmp / "old")  # the site built before goes with the temporary folder
        (tmp / "html").rename(out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log(f"the site is in {out} (open {out / 'index.html'})")
    return out


def write_sources(root: Path, src: Path, profile: str, run: set[str], *, workdir: Path, timeout: int, log) -> None:
    """Sphinx's sources in ``src``: the lectures (those in ``run`` executed), the exercises, docs/, the landing page."""
    lectures = sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    exercises = sorted((root / "exercises").glob("[0-9][0-9]_*.ipynb"))
    docs = sorted((root / "docs").glob("*.md"))
    pages = {f"{p.parent.name}/{p.name}" for p in lectures + exercises + docs}
    (workdir / "checkpoints").mkdir(parents=True)  # lectures 09 and 10 share it; nothing of the learner's is read
    seconds = {}
    # lecture 09's table of every model reads the models lecture 10 saves, so 09 runs after 10
    for path in sorted(lectures, key=lambda p: (p.name.startswith("09_"), p.name)):
        nb = notebooks.read(path)
        if path.stem in run:
            log(f"running notebooks/{path.name} in the {profile} profile ...")
            start = time.perf_counter()
            nb = snapshot_widgets(execute(path, profile, workdir, timeout=timeout))
            seconds[path.stem] = time.perf_counter() - start
            log(f"  done in {seconds[path.stem]:.0f} s")
        _write_notebook(page_notebook(nb, f"notebooks/{path.name}", pages), src / "notebooks" / path.name)
    for path in exercises:
        nb = page_notebook(notebooks.read(path), f"exercises/{path.name}", pages, exercise=True)
        _write_notebook(nb, src / "exercises" / path.name)
    for path in docs:
        (src / "docs").mkdir(exist_ok=True)
        text = site_markdown(path.read_text(encoding="utf-8"), f"docs/{path.name}", pages)
        (src / "docs" / path.name).write_text(text, encoding="utf-8")
    landing, about = landing_pages((root / "README.md").read_text(encoding="utf-8"), pages)
    if about:
        (src / "about.md").write_text(about, encoding="utf-8")
    landing += "\n" + _build_note(profile, seconds, lectures)
    landing += toctree("Lectures", [f"notebooks/{p.stem}" for p in lectures])
    landing += toctree("Exercises", [f"exercises/{p.stem}" for p in exercises])
    landing += toctree("About", (["about"] if about else []) + [f"docs/{p.stem}" for p in docs])
    (src / "index.md").write_text(landing, encoding="utf-8")
    (src / "_static").mkdir()
    (src / "_static" / "gancourse.css").write_text(CSS, encoding="utf-8")


def _lecture_name(name: str, lectures: list[Path]) -> str:
    matches = [p.stem for p in lectures if p.stem == name or p.stem.startswith(f"{name}_")]
    if len(matches) != 1:
        names = ", ".join(p.stem for p in lectures)
        raise ValueError(f"no single lecture named {name!r}: choose from {names} (or their numbers)")
    return matches[0]


def _write_notebook(nb: nbformat.NotebookNode, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def _build_note(profile: str, seconds: dict[str, float], lectures: list[Path]) -> str:
    import torch

    import gancourse

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    ran = [p for p in lectures if p.stem in seconds]
    lines = [
        "## The results on these pages\n",
        f"Every lecture below ran top to bottom in the **{profile}** profile, and every assert in it held "
        f"(`python -m gancourse.site`, {date.today().isoformat()}, gancourse {gancourse.__version__}, "
        f"torch {torch.__version__}, {device}). Times per lecture:\n",
        "| lecture | time |",
        "|---|---|",
    ]
    lines += [f"| [{p.stem[:2]}](notebooks/{p.name}) | {seconds[p.stem]:.0f} s |" for p in ran]
    if len(ran) < len(lectures):
        lines.append(f"\nThe other {len(lectures) - len(ran)} lectures are shown without outputs in this build.")
    return "\n".join(lines) + "\n\n"


def _sphinx(src: Path, html_dir: Path, doctrees: Path) -> list[str]:
    """Render ``src`` to ``html_dir``; return Sphinx's warnings (one line each)."""
    import io

    from sphinx.application import Sphinx

    warnings = io.StringIO()
    app = Sphinx(
        str(src),
        None,
        str(html_dir),
        str(doctrees),
        "html",
        confoverrides=_sphinx_config(MATHJAX_CONFIG),
        status=None,
        warning=warnings,
        freshenv=True,
    )
    app.build()
    if app.statuscode:
        raise RuntimeError("Sphinx failed:\n" + warnings.getvalue())
    return [line for line in warnings.getvalue().splitlines() if line.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gancourse.site", description=__doc__.splitlines()[0])
    parser.add_argument("out", help="the folder to write the site to (replaced if it holds a site built before)")
    parser.add_argument(
        "--profile", default="fast", choices=PROFILES, help="run profile for the lectures (default: fast)"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="LECTURE",
        help="run only these lectures (e.g. 01 03); the rest are shown without outputs",
    )
    parser.add_argument("--mathjax", metavar="DIR", help=f"a MathJax 2 folder (default: {MATHJAX})")
    parser.add_argument("--timeout", type=int, default=3600, help="seconds allowed per cell (default: 3600)")
    args = parser.parse_args(argv)
    try:
        build(args.out, args.profile, only=args.only, mathjax=args.mathjax, timeout=args.timeout)
    except (FileNotFoundError, FileExistsError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
