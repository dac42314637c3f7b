"""The course as a website: its Markdown and widget transforms, safe output folders, and built pages in Chromium.

The browser tests build the site in the fast profile with lecture 01 executed (the other lectures are pages without
outputs, so every link has a target; a full build runs every lecture, as CI's notebook tests already do) and check
lecture 01's page in headless Chromium: formulas typeset, figures loaded, links between lectures working, and no
request leaving this machine.
"""

import functools
import http.server
import re
import threading
from pathlib import Path

import chromium
import nbformat
import pytest

from gancourse import notebooks, site

# the theme and myst-parser still use Sphinx APIs that Sphinx 11 removes: not this course's to fix
pytestmark = pytest.mark.filterwarnings("ignore:.*is deprecated. Check CHANGES for Sphinx API modifications")

ROOT = Path(__file__).resolve().parents[1]
PAGES = {"notebooks/01_kl_js_divergence.ipynb", "exercises/01_kl_js_divergence.ipynb", "docs/benchmarks.md"}
LECTURES = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXERCISES = sorted(p.stem for p in (ROOT / "exercises").glob("[0-9][0-9]_*.ipynb"))
BADGE = (
    "[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
    "(https://colab.research.google.com/github/gancourse/gancourse/blob/main/notebooks/01_kl_js_divergence.ipynb)"
)


# --- Markdown ------------------------------------------------------------------------------------------------


def test_badges_and_remote_images_become_links():
    text = site.site_markdown(f"{BADGE}\n\n![a plot](https://example.org/plot.png)", "notebooks/x.ipynb", PAGES)
    assert text == (
        "[Open In Colab](https://colab.research.google.com/github/gancourse/gancourse/blob/main/notebooks/"
        "01_kl_js_divergence.ipynb)\n\n[a plot](https://example.org/plot.png)"
    )


def test_links_to_pages_stay_and_other_files_point_at_github():
    text = (
        "[lecture](notebooks/01_kl_js_divergence.ipynb#section) [bench](docs/benchmarks.md) "
        "[runner](.ci/run) [solution](solutions/01_kl_js_divergence.ipynb) [top](#set-up) [mail](mailto:a@b.c) "
        "`exercises/01_kl_js_divergence.ipynb` `gancourse/site.py`"
    )
    assert site.site_markdown(text, "README.md", PAGES) == (
        "[lecture](notebooks/01_kl_js_divergence.ipynb#section) [bench](docs/benchmarks.md) "
        "[runner](https://github.com/gancourse/gancourse/blob/main/.ci/run) "
        "[solution](https://github.com/gancourse/gancourse/blob/main/solutions/01_kl_js_divergence.ipynb) "
        "[top](#set-up) [mail](mailto:a@b.c) "
        "[`exercises/01_kl_js_divergence.ipynb`](exercises/01_kl_js_divergence.ipynb) `gancourse/site.py`"
    )
    from_docs = "[course](../README.md) [lecture](../notebooks/01_kl_js_divergence.ipynb) [tool](../tools/x.py)"
    assert site.site_markdown(from_docs, "docs/benchmarks.md", PAGES) == (
        "[course](../index.md) [lecture](../notebooks/01_kl_js_divergence.ipynb) "
        "[tool](https://github.com/gancourse/gancourse/blob/main/tools/x.py)"
    )


def test_landing_page_is_the_readmes_front_matter():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert site.LANDING_END in readme
    landing, about = site.landing_pages(readme, PAGES)
    assert landing.startswith("# gancourse") and "## Set-up: two commands" in landing and "## Lectures" in landing
    assert "## Layout" not in landing and "## Layout" in about and about.startswith("# About the course")
    assert "colab-badge.svg" not in landing + about


# --- Widgets -------------------------------------------------------------------------------------------------


def _model(name, **state):
    return {"model_name": name, "model_module": "@jupyter-widgets/controls", "state": state}


FIGURE = {
    "output_type": "display_data",
    "data": {"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"},
    "metadata": {},
}
STATE = {
    "box": _model("VBoxModel", children=["IPY_MODEL_controls", "IPY_MODEL_out"]),
    "controls": _model("VBoxModel", children=["IPY_MODEL_lr", "IPY_MODEL_method", "IPY_MODEL_go"]),
    "lr": _model("FloatSliderModel", description="η", value=0.2, readout_format=".2f"),
    "method": _model("DropdownModel", description="method", index=1, _options_labels=["alternating", "simultaneous"]),
    "go": _model("ButtonModel", description="run"),
    "out": _model("OutputModel", outputs=[FIGURE]),
    "bar": _model("HBoxModel", children=["IPY_MODEL_left", "IPY_MODEL_progress", "IPY_MODEL_right"]),
    "left": _model("HTMLModel", value="training: 100%"),
    "progress": _model("FloatProgressModel", value=200.0, max=200.0),
    "right": _model("HTMLModel", value="&nbsp;200/200 [00:03&lt;00:00, 61.2it/s, d_loss=1.37]"),
}


def test_widget_snapshot_shows_the_controls_then_the_output():
    outputs = site.widget_snapshot("box", STATE)
    assert [o.output_type for o in outputs] == ["stream", "display_data"]
    assert outputs[0].text == (
        "Widget snapshot: η = 0.20, method = simultaneous (run the notebook to move the controls)\n"
    )
    assert outputs[1].data["image/png"] == FIGURE["data"]["image/png"]


def test_widget_snapshot_of_a_progress_bar_is_its_text():
    (line,) = site.widget_snapshot("bar", STATE)
    assert line.text == "training: 100%  200/200 [00:03<00:00, 61.2it/s, d_loss=1.37]\n"


def test_snapshot_widgets_replaces_views_and_drops_the_state():
    view = {"model_id": "bar", "version_major": 2, "version_minor": 0}
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "train()",
                outputs=[
                    nbformat.v4.new_output("stream", name="stdout", text="before\n"),
                    nbformat.v4.new_output("display_data", data={site.WIDGET_VIEW: view, "text/plain": "HBox()"}),
                    nbformat.v4.new_output(
                        "display_data", data={site.WIDGET_VIEW: {**view, "model_id": "gone"}, "text/plain": "HBox()"}
                    ),
                ],
            )
        ],
        metadata={"widgets": {site.WIDGET_STATE: {"state": STATE, "version_major": 2, "version_minor": 0}}},
    )
    site.snapshot_widgets(nb)
    assert "widgets" not in nb.metadata
    assert [o.get("text") for o in nb.cells[0].outputs] == [
        "before\n",
        "training: 100%  200/200 [00:03<00:00, 61.2it/s, d_loss=1.37]\n",
    ]
    nbformat.validate(nb)


# --- Arguments and output folders ----------------------------------------------------------------------------


def _tiny_course(root: Path, source: str) -> Path:
    """A course folder with one lecture whose only cell is ``source``, and a stand-in MathJax."""
    for folder in ("notebooks", "exercises", "docs", "mathjax"):
        (root / folder).mkdir(parents=True)
    (root / "README.md").write_text("# A course\n", encoding="utf-8")
    (root / "mathjax" / "MathJax.js").write_text("", encoding="utf-8")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    notebooks.write(nb, root / "notebooks" / "00_tiny.ipynb")
    return root


def test_build_refuses_a_folder_that_is_not_a_site(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("precious", encoding="utf-8")
    with pytest.raises(FileExistsError, match="not a site built before"):
        site.build(tmp_path / "mine", "fast")
    assert (tmp_path / "mine" / "thesis.tex").read_text(encoding="utf-8") == "precious"


def test_build_checks_its_arguments(tmp_path, capsys):
    with pytest.raises(ValueError, match="profile must be one of"):
        site.build(tmp_path / "out", "slow")
    with pytest.raises(ValueError, match="no single lecture named '99'"):
        site.build(tmp_path / "out", "fast", only=["99"])
    with pytest.raises(FileNotFoundError, match="apt-get install libjs-mathjax"):
        site.build(tmp_path / "out", "fast", mathjax=tmp_path)
    assert site.main([str(tmp_path / "out"), "--only", "99"]) == 1
    assert "no single lecture named '99'" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_failing_lecture_leaves_the_old_site_as_it_was(tmp_path):
    root = _tiny_course(tmp_path / "course", 'assert 1 + 1 == 3, "the claim that failed"')
    out = tmp_path / "public" / "site"
    out.mkdir(parents=True)
    (out / ".buildinfo").write_text("old", encoding="utf-8")
    (out / "index.html").write_text("the old site", encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"00_tiny\.ipynb failed in the fast profile(.|\n)*the claim that failed"):
        site.build(out, "fast", root=root, mathjax=root / "mathjax", log=lambda *_: None)
    assert (out / "index.html").read_text(encoding="utf-8") == "the old site"
    assert sorted(p.name for p in out.parent.iterdir()) == ["site"]  # no temporary folder left behind


def test_a_new_build_replaces_the_old_site_whole(tmp_path):
    if not (site.MATHJAX / "MathJax.js").is_file():
        pytest.skip(f"MathJax 2 is not installed at {site.MATHJAX} (Debian: apt-get install libjs-mathjax)")
    root = _tiny_course(tmp_path / "course", "print(6 * 7)")
    out = tmp_path / "public" / "site"
    out.mkdir(parents=True)
    (out / ".buildinfo").write_text("old", encoding="utf-8")
    (out / "stale.html").write_text("a page of the old site", encoding="utf-8")
    assert site.build(out, "fast", root=root, log=lambda *_: None) == out
    assert not (out / "stale.html").exists() and (out / "notebooks" / "00_tiny.html").is_file()
    assert "42" in _text(out / "notebooks" / "00_tiny.html")
    assert sorted(p.name for p in out.parent.iterdir()) == ["site"]


# --- The built site ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    if chromium.executable() is None:
        pytest.skip("Chromium is not installed (Debian: apt-get install chromium; .ci/run installs it)")
    if not (site.MATHJAX / "MathJax.js").is_file():
        pytest.skip(f"MathJax 2 is not installed at {site.MATHJAX} (Debian: apt-get install libjs-mathjax)")
    out = tmp_path_factory.mktemp("site") / "site"
    return site.build(out, "fast", only=["01"], timeout=600, log=lambda *_: None)


@pytest.fixture(scope="module")
def served(built):
    """The site on an HTTP server on this machine, as GitHub Pages would serve it."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(built))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(served):
    chrome = chromium.Chromium()
    yield chrome
    chrome.close()


def _text(page: Path) -> str:
    """A built page's text, as a reader sees it (no markup)."""
    from bs4 import BeautifulSoup  # a dependency of the theme

    soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
    for hidden in soup(["script", "style"]):
        hidden.decompose()
    return soup.get_text()


def test_lecture_01_formulas_are_typeset(browser, served):
    browser.open(f"{served}/notebooks/01_kl_js_divergence.html")
    browser.wait_for("window.MathJax !== undefined && MathJax.isReady === true", "MathJax to start")
    browser.js("new Promise(done => MathJax.Hub.Queue(() => done(true)))")  # after every formula is typeset
    math = browser.js(
        """(() => {
        const all = [...document.querySelectorAll('span.math, div.math')];
        return {formulas: all.length, typeset: all.filter(e => e.querySelector('.MathJax_CHTML')).length,
                errors: document.querySelectorAll('.mjx-merror, .MathJax_Error').length};
        })()"""
    )
    assert math["formulas"] >= 50 and math == {"formulas": math["formulas"], "typeset": math["formulas"], "errors": 0}
    prose = browser.js(  # the text of the lecture's paragraphs, without code (where a $ is no formula)
        """[...document.querySelectorAll('article p, article li, article td')]
        .filter(e => !e.closest('pre, .cell_output'))
        .map(e => { const c = e.cloneNode(true); c.querySelectorAll('code, script').forEach(x => x.remove());
                    return c.textContent; }).join('\\n')"""
    )
    assert "KL divergence" in prose or "Kullback" in prose
    for raw in ("$", "\\(", "\\["):
        assert raw not in prose, f"raw TeX delimiter {raw!r} left in the prose"


def test_lecture_01_figures_are_images_and_the_widget_a_snapshot(browser, served):
    browser.open(f"{served}/notebooks/01_kl_js_divergence.html")
    images = browser.js(
        "[...document.querySelectorAll('.cell_output img')].map(i => [i.src, i.complete && i.naturalWidth > 0])"
    )
    assert len(images) >= 5
    assert all(src.startswith(f"{served}/_images/") and loaded for src, loaded in images), images
    outputs = browser.js("[...document.querySelectorAll('.cell_output')].map(e => e.innerText).join('\\n')")
    assert "Widget snapshot: μ of q = " in outputs and "(run the notebook to move the controls)" in outputs


def test_lecture_01_links_between_lectures_work(browser, served, built):
    browser.open(f"{served}/notebooks/01_kl_js_divergence.html")
    links = browser.js("[...document.querySelectorAll('a[href]')].map(a => a.href)")
    pages = {link.split("#")[0] for link in links if link.startswith(served)}
    for page in pages:  # every link that stays on the site has a file behind it
        path = built / page.removeprefix(served).lstrip("/")
        assert (path / "index.html" if path.is_dir() else path).is_file(), page
    lectures = [f"{served}/notebooks/{name}.html" for name in LECTURES]
    assert set(lectures) <= pages and f"{served}/exercises/01_kl_js_divergence.html" in pages
    for which, name in (("right-next", LECTURES[2]), ("left-prev", LECTURES[0])):
        browser.open(f"{served}/notebooks/01_kl_js_divergence.html")
        target = browser.js(f"document.querySelector('a.{which}').href")
        assert target == f"{served}/notebooks/{name}.html"
        browser.open(target)
        title = notebooks.read(ROOT / "notebooks" / f"{name}.ipynb").cells[0].source.split("\n")[0]
        assert browser.js("document.querySelector('h1').innerText").startswith(title.removeprefix("# "))


def test_lecture_01_has_colab_and_download_buttons(browser, served, built):
    browser.open(f"{served}/notebooks/01_kl_js_divergence.html")
    hrefs = browser.js("[...document.querySelectorAll('a[href]')].map(a => a.href)")
    colab = "https://colab.research.google.com/github/gancourse/gancourse/blob/main/notebooks/01_kl_js_divergence.ipynb"
    assert colab in hrefs
    download = f"{served}/_sources/notebooks/01_kl_js_divergence.ipynb"
    assert download in hrefs
    nb = nbformat.read(str(built / "_sources" / "notebooks" / "01_kl_js_divergence.ipynb"), as_version=4)
    assert any("image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs)


def test_search_finds_a_lecture(browser, served):
    browser.open(f"{served}/search.html?q=Jensen")
    browser.wait_for("document.querySelectorAll('#search-results li').length > 0", "search results")
    found = browser.js("[...document.querySelectorAll('#search-results li a')].map(a => a.href)")
    assert any(link.startswith(f"{served}/notebooks/01_kl_js_divergence.html") for link in found), found


def test_no_request_leaves_this_machine(browser, served):
    browser.open(f"{served}/index.html")
    browser.open(f"{served}/notebooks/01_kl_js_divergence.html")
    browser.js("new Promise(done => MathJax.Hub.Queue(() => done(true)))")
    assert browser.requests
    away = [url for url in browser.requests if not url.startswith((served + "/", "data:", "blob:", "about:"))]
    assert away == []


def test_no_page_or_stylesheet_names_a_remote_resource(built):
    assert len(list(built.rglob("*.html"))) >= len(LECTURES) + len(EXERCISES)
    assert site.remote_resources(built) == []


def test_remote_resources_are_found(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "page.html").write_text(
        '<img src="../_images/x.png"><script src="https://cdn.example/x.js"></script>'
        "<link rel=stylesheet href=//fonts.example/f.css><a href='https://example.org/'>a link is no load</a>",
        encoding="utf-8",
    )
    (tmp_path / "style.css").write_text("@font-face { src: url('https://fonts.example/f.woff2') }", encoding="utf-8")
    assert site.remote_resources(tmp_path) == [
        "a/page.html: https://cdn.example/x.js",
        "a/page.html: //fonts.example/f.css",
        "style.css: https://fonts.example/f.woff2",
    ]


def test_an_animations_cdn_stylesheet_is_dropped():
    cell = nbformat.v4.new_code_cell(
        "display(HTML(anim.to_jshtml()))",
        outputs=[
            nbformat.v4.new_output(
                "display_data",
                data={
                    "text/html": '<link rel="stylesheet"\nhref="https://maxcdn.bootstrapcdn.com/font-awesome/4.4.0/'
                    'css/font-awesome.min.css">\n<div class="animation"><i class="fa fa-play"></i></div>',
                    "text/plain": "<IPython.core.display.HTML object>",
                },
            )
        ],
    )
    nb = site.page_notebook(nbformat.v4.new_notebook(cells=[cell]), "notebooks/03_x.ipynb", PAGES)
    assert nb.cells[0].outputs[0].data["text/html"] == '\n<div class="animation"><i class="fa fa-play"></i></div>'


def test_table_of_contents_in_lecture_order(built):
    index = (built / "index.html").read_text(encoding="utf-8")
    order = re.findall(r'href="((?:notebooks|exercises)/\d\d_\w+)\.html"', index)
    first = list(dict.fromkeys(order))  # each page once, where it first appears
    assert first == [f"notebooks/{n}" for n in LECTURES] + [f"exercises/{n}" for n in EXERCISES]
    landing = _text(built / "index.html")
    assert "Set-up: two commands" in landing and "The results on these pages" in landing and "fast profile" in landing


def test_exercise_pages_show_no_solution(built):
    for name in EXERCISES:
        page = built / "exercises" / f"{name}.html"
        text = _text(page)
        exercise = (ROOT / "exercises" / f"{name}.ipynb").read_text(encoding="utf-8")
        solution = notebooks.read(ROOT / "solutions" / f"{name}.ipynb")
        hidden, inside = [], False
        for cell in solution.cells:
            for line in cell.source.split("\n"):
                if "BEGIN SOLUTION" in line or "END SOLUTION" in line:
                    inside = "BEGIN SOLUTION" in line
                elif inside and len(line.strip()) >= 20 and line.strip() not in exercise:
                    hidden.append(line.strip())
        assert hidden, name
        assert [line for line in hidden if line in text] == [], name
        assert 'raise NotImplementedError("Exercise' in text and "without its solutions" in text
        assert 'class="cell_output' not in page.read_text(encoding="utf-8"), f"{name} was executed"
