"""The course website: built from the committed notebooks, offline, checked in headless Chromium.

Builds the site once (``scripts/build_site.py``) into a temporary folder, serves it on a loopback
port and opens every page: no console error, no request leaving the site, every image with a
non-zero size, math rendered by the local MathJax, search finds "attention" and links to notebook
06. Screenshots of the landing page and of one notebook page go to ``artifacts/``. The Chinese
edition (``zh/``) is checked the same way, and the language switch leads to the same page in the
other language.
"""

import functools
import http.server
import importlib.util
import re
import threading
from pathlib import Path

import nbformat
import pytest
from test_browser import CHROMIUM_FLAGS, chromium  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"

spec = importlib.util.spec_from_file_location("build_site", ROOT / "scripts" / "build_site.py")
build_site = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_site)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("site")
    out = build_site.build(tmp / "site", tmp / "src")
    handler = functools.partial(_QuietHandler, directory=str(out))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield out, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_every_notebook_is_a_page_in_course_order(site):
    out, _ = site
    notebooks = build_site.course_notebooks()
    index = (out / "index.html").read_text()
    positions = [index.find(f'href="{p.stem}.html"') for p in notebooks]
    missing = [p.name for p, pos in zip(notebooks, positions) if pos < 0]
    assert not missing, (f"{missing} are not in the site's navigation: notebooks are found by their "
                         f"names notebooks/NN_topic.ipynb; check scripts/build_site.py")
    assert positions == sorted(positions), "the navigation is not in course order"
    for p in notebooks:
        assert (out / "student" / p.name).is_file() and (out / "slides" / f"{p.stem}.slides.html").is_file()
        student = nbformat.read(out / "student" / p.name, as_version=4)
        assert student.metadata.get("course", {}).get("copy") == "student"
    assert "Part II" in index or not any(int(p.name[:2]) >= build_site.PART_II_FROM for p in notebooks)


def test_the_chinese_edition_is_a_site_of_its_own(site):
    out, _ = site
    zh_notebooks = build_site.course_notebooks(build_site.NOTEBOOKS / "zh")
    assert [p.name for p in zh_notebooks] == [p.name for p in build_site.course_notebooks()], \
        "notebooks/zh/ lacks notebooks: run python scripts/course.py i18n build"
    index = (out / "zh" / "index.html").read_text()
    assert 'lang="zh-CN"' in index and "第一部分" in index
    for p in zh_notebooks:
        page = (out / "zh" / f"{p.stem}.html").read_text()
        assert 'lang="zh-CN"' in page and "学生版" in page
        assert (out / "zh" / "student" / p.name).is_file()
        assert (out / "zh" / "slides" / f"{p.stem}.slides.html").is_file()
    slides = (out / "zh" / "slides" / f"{zh_notebooks[1].stem}.slides.html").read_text()
    assert "../../slides/reveal.js" in slides   # the English edition's offline copy


def test_widgets_become_their_static_pictures():
    nb = nbformat.read(ROOT / "notebooks" / "01_gradient_descent.ipynb", as_version=4)
    static = build_site.static_outputs(nb)
    assert "widgets" not in static.metadata
    kinds = [k for c in static.cells if c.cell_type == "code" for o in c.outputs for k in o.get("data", {})]
    assert build_site.WIDGET_VIEW not in kinds
    assert kinds.count("image/png") > sum(
        "image/png" in o.get("data", {}) for c in nb.cells if c.cell_type == "code" for o in c.outputs), \
        "the learning-rate widget's saved picture should appear as an image"


RAW_MATH_JS = """async () => {
  if (!window.MathJax || !MathJax.startup) return ['MathJax did not load'];
  await MathJax.startup.promise;
  const math = Array.from(document.querySelectorAll('span.math, div.math'));
  if (!math.length) return ['no formulas found on the page'];
  return math.filter(e => !e.querySelector('mjx-container')).map(e => e.textContent.slice(0, 60));
}"""


def _pages(out: Path) -> list[str]:
    return sorted(p.name for p in out.glob("*.html")) + sorted(f"zh/{p.name}" for p in (out / "zh").glob("*.html"))


def test_pages_load_offline_without_errors(site, chromium):  # noqa: F811
    from playwright.sync_api import sync_playwright

    out, base = site
    ARTIFACTS.mkdir(exist_ok=True)
    problems = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        current = {"name": ""}
        page.on("console", lambda m: m.type == "error" and problems.append(f"{current['name']}: console: {m.text}"))
        page.on("pageerror", lambda e: problems.append(f"{current['name']}: page error: {e}"))
        page.on("request", lambda r: not r.url.startswith((base, "data:", "blob:", "about:"))
                and problems.append(f"{current['name']}: off-site request {r.url}"))
        for name in _pages(out):
            current["name"] = name
            page.goto(f"{base}/{name}", wait_until="networkidle")
            broken = page.evaluate("() => Array.from(document.images).filter(i => !(i.complete && "
                                   "i.naturalWidth > 0)).map(i => i.src)")
            problems += [f"{name}: image without size {src}" for src in broken]
            if re.match(r"(zh/)?0[1-9]_", name):  # notebooks with formulas: MathJax rendered all of them
                raw = page.evaluate(RAW_MATH_JS)
                problems += [f"{name}: math not rendered: {raw[:3]}"] if raw else []
            if name == "index.html":
                page.screenshot(path=str(ARTIFACTS / "site-landing.png"))
            if name.startswith("06_"):
                page.screenshot(path=str(ARTIFACTS / "site-06-attention.png"))
        current["name"] = "language switch"
        switches = {}
        for name in ("01_gradient_descent.html", "zh/01_gradient_descent.html", "instructor-guide.html"):
            page.goto(f"{base}/{name}", wait_until="networkidle")
            page.click("#lang-switch")
            page.wait_for_load_state("networkidle")
            switches[name] = page.url.removeprefix(base + "/")
        current["name"] = "search"
        page.goto(f"{base}/search.html?q=attention", wait_until="networkidle")
        page.wait_for_selector("#search-results li a", timeout=30_000)
        hits = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")
        current["name"] = "zh/search"                  # the Chinese edition's search works too
        page.goto(f"{base}/zh/search.html?q=Transformer", wait_until="networkidle")
        page.wait_for_selector("#search-results li a", timeout=30_000)
        zh_hits = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")
        browser.close()
    assert not problems, "\n".join(problems[:30])
    assert switches == {"01_gradient_descent.html": "zh/01_gradient_descent.html",
                        "zh/01_gradient_descent.html": "01_gradient_descent.html",
                        "instructor-guide.html": "zh/index.html"}, switches
    assert any(h and h.startswith("06_attention.html") for h in hits), f"search hits: {hits[:10]}"
    assert any(h and h.startswith("06_attention.html") for h in zh_hits), f"zh search hits: {zh_hits[:10]}"
