#!/usr/bin/env python3
"""Build the course website: every notebook as a static, offline HTML page.

    python scripts/course.py site              # = python scripts/build_site.py
    python scripts/build_site.py --out build/site

The pages show the notebooks **with their committed outputs** (nothing is re-executed), in course
order (Part I 00-07, Part II 08-), with the README's table as the landing page, the instructor
guide, math, plots, copy buttons on code, search, the Binder/Colab badges and a link to each
notebook's student copy and slides. Sphinx + myst-nb + sphinx-book-theme (pure Python, no network
at build time); MathJax is a local copy from a PyPI package, so the built pages request nothing
outside the site. The slides linked from the pages are the offline slides of
``make_slides.py --offline`` (reveal.js and MathJax 2 fetched once with ``npm pack``; without npm,
build with ``--no-slides``). Open ``build/site/index.html``.

A new ``notebooks/NN_topic.ipynb`` appears in the navigation without any configuration: notebooks
are found by their names (``NN`` < 08 is Part I, the rest Part II).
"""

from __future__ import annotations

import argparse
import copy
import importlib.util
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PART_II_FROM = 8
ASSET_CACHE = ROOT / "build" / "site-assets"   # the slides' npm packages, fetched once

BADGES = {  # remote badge image -> local copy (the site requests nothing outside itself)
    "https://mybinder.org/badge_logo.svg": "binder-badge.svg",
    "https://colab.research.google.com/assets/colab-badge.svg": "colab-badge.svg",
}


EDITIONS = {   # language -> (notebooks folder, site sub-folder, Sphinx language, words)
    "en": (NOTEBOOKS, "", "en", {
        "student": "Student copy (.ipynb)", "slides": "Slides", "download": "Notebook with outputs (.ipynb)",
        "part1": "Part I: from gradient descent to BERT",
        "part2": "Part II: explain, compress, serve, scale, generate", "switch": "中文"}),
    "zh": (NOTEBOOKS / "zh", "zh", "zh_CN", {
        "student": "学生版（.ipynb）", "slides": "幻灯片", "download": "含输出的笔记本（.ipynb）",
        "part1": "第一部分：从梯度下降到 BERT",
        "part2": "第二部分：解释、压缩、部署、扩展、生成", "switch": "English"}),
}

def _load_script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def course_notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    """The course's notebooks in course order (by their number); ``NOTEBOOKS / "zh"``: the Chinese edition."""
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def title_of(nb: nbformat.NotebookNode, fallback: str) -> str:
    """The first markdown heading of a notebook (without the leading ``#``)."""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return fallback


# ----------------------------------------------------------------------------- widgets -> static

def _widget_states(nb: nbformat.NotebookNode) -> dict:
    return nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _static_widget(model_id: str, states: dict, depth: int = 0) -> list[dict]:
    """The outputs a saved widget shows, as plain notebook outputs: the pictures and text of Output
    widgets, the final text of a progress bar; controls (sliders) are left out."""
    model = states.get(model_id)
    if model is None or depth > 20:
        return []
    name, state = model.get("model_name", ""), model.get("state", {})
    if name == "OutputModel":
        return [o for o in state.get("outputs", []) if o.get("output_type") != "error"]
    children = [c.removeprefix("IPY_MODEL_") for c in state.get("children", [])]
    if name == "HBoxModel" and any(states.get(c, {}).get("model_name") == "FloatProgressModel"
                                   for c in children):   # a tqdm bar: "desc: 100% 15/15 [time]"
        text = " ".join(re.sub(r"<[^>]+>", "", states.get(c, {}).get("state", {}).get("value", "") or "")
                        if states.get(c, {}).get("model_name") == "HTMLModel" else
                        f"{100 * _frac(states.get(c, {}).get('state', {})):.0f}%"
                        for c in children).replace("&nbsp;", " ")
        return [{"output_type": "stream", "name": "stdout", "text": re.sub(r"\s+", " ", text).strip() + "\n"}]
    out: list[dict] = []
    for child in children:
        out += _static_widget(child, states, depth + 1)
    return out


def _frac(state: dict) -> float:
    top = state.get("max") or 1
    return max(0.0, min(1.0, (state.get("value") or 0) / top))


def static_outputs(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` whose widget outputs are replaced by their saved pictures and text, and
    whose widget state is dropped (live widgets would need a widget manager from a CDN)."""
    nb = copy.deepcopy(nb)
    states = _widget_states(nb)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in cell.get("outputs", []):
            view = out.get("data", {}).get(WIDGET_VIEW)
            if view is None:
                outputs.append(out)
                continue
            outputs += [nbformat.from_dict(o) for o in _static_widget(view.get("model_id", ""), states)]
        cell.outputs = outputs
    nb.metadata.pop("widgets", None)
    return nb


# ----------------------------------------------------------------------------- pages

def site_notebook(path: Path, nb: nbformat.NotebookNode, words: dict[str, str] = EDITIONS["en"][3]) -> nbformat.NotebookNode:
    """The notebook as the site shows it: static widgets, local badges, links to the student copy
    and the slides under the badges."""
    nb = static_outputs(nb)
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "launch" in cell.metadata.get("tags", []):
            for remote, local in BADGES.items():
                cell.source = cell.source.replace(remote, f"_static/{local}")
            cell.source += (f"\n\n[{words['student']}](student/{path.name}) · "
                            f"[{words['slides']}](slides/{path.stem}.slides.html) · "
                            f"[{words['download']}](downloads/{path.name})")
    return nb


def landing_page(notebooks: list[tuple[Path, str]], lang: str = "en") -> str:
    """index.md: the README's introduction and notebook table (English), or the README's Chinese
    section and a table of the Chinese titles (``zh``), with links to the pages."""
    words = EDITIONS[lang][3]
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    part1 = [p.stem for p, _ in notebooks if int(p.name[:2]) < PART_II_FROM]
    part2 = [p.stem for p, _ in notebooks if int(p.name[:2]) >= PART_II_FROM]
    toc = ["```{toctree}", f":caption: {words['part1']}", ":maxdepth: 1", "", *part1, "```"]
    if part2:
        toc += ["", "```{toctree}", f":caption: {words['part2']}", ":maxdepth: 1", "", *part2, "```"]
    if lang == "zh":
        section = re.search(r"\n## 中文版.*?\n(.*?)(?=\n## )", readme, re.S)
        intro = section.group(1).split("*For translators")[0].strip() if section else ""
        intro = re.sub(r"\]\(notebooks/zh/([0-9]{2}_[^)]+)\.ipynb\)", r"](\1.ipynb)", intro)
        rows = ["| # | 笔记本 |", "|---|---|", *[f"| {p.name[:2]} | [{title}]({p.stem}.ipynb) |" for p, title in notebooks]]
        return "\n".join(["# 从梯度下降到 BERT", "", intro, "", "## 笔记本", "", *rows, "",
                          "每个笔记本页面都链接到它的**学生版**（练习不含答案）和**幻灯片**。页面显示笔记本中保存的输出"
                          "（来自英文版的运行，因此输出是英文的）。教师指南和基准测试见英文版："
                          "[Instructor guide](../instructor-guide.html)、[Benchmarks](../benchmarks.html)。", "",
                          *toc, ""])
    title = readme.splitlines()[0].lstrip("# ").strip()
    intro = readme.split("\n## ", 1)[0].split("\n", 1)[1].strip()
    table = re.search(r"\n## The notebooks\n(.*?)(?=\n## )", readme, re.S)
    body = table.group(1).strip() if table else ""
    body = re.sub(r"\]\(notebooks/([0-9]{2}_[^)]+)\.ipynb\)", r"](\1.ipynb)", body)
    body = re.sub(r"\]\((?!https?:|#)([^)]+\.md)\)", r"](\1)", body)
    toc += ["", "```{toctree}", ":caption: For instructors", ":maxdepth: 1", "", "instructor-guide",
            "benchmarks", "```"]
    return "\n".join([f"# {title}", "", intro, "", "## The notebooks", "", body, "",
                      "Each notebook page links to its **student copy** (exercises without solutions) "
                      "and its **slides**. The pages show the outputs stored in the notebooks; run "
                      "them yourself from the badges or a local install (see the README). "
                      "中文版：[zh/index.html](zh/index.html)。", "",
                      *toc, ""])


def _md_page(source: Path) -> str:
    text = source.read_text(encoding="utf-8")
    # links between the repository's files -> links between the site's pages
    text = re.sub(r"\]\((?:\.\./)?(?:notebooks/)?([0-9]{2}_[^)/]+)\.ipynb\)", r"](\1.ipynb)", text)
    return text


CONF = '''
project = {project!r}
language = {language!r}
author = "the course authors"
extensions = ["myst_nb", "sphinx_copybutton", "sphinx.ext.mathjax"]
myst_enable_extensions = ["dollarmath", "amsmath"]
nb_execution_mode = "off"              # the committed outputs, never re-executed
nb_merge_streams = True
suppress_warnings = ["mystnb.unknown_mime_type", "myst.header", "misc.highlighting_failure",
                     "myst.xref_missing", "toc.not_included"]
exclude_patterns = ["_build", "files", "**.ipynb_checkpoints"]
html_theme = "sphinx_book_theme"
html_title = {project!r}
html_static_path = ["_static"]
html_js_files = ["lang-switch.js"]
html_favicon = "_static/favicon.svg"
html_theme_options = {{"show_navbar_depth": 2, "home_page_in_toc": True, "use_download_button": False,
                      "use_fullscreen_button": False, "show_toc_level": 2}}
html_extra_path = ["files"]          # student/, slides/, downloads/ as they are
mathjax_path = "mathjax/es5/tex-chtml-full.js"
html_last_updated_fmt = None
html_context = {{"default_mode": "light"}}
'''

FAVICON = ('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" '
           'rx="3" fill="#1f4e79"/><path d="M3 12 L8 4 L13 12" stroke="#fff" stroke-width="2" fill="none"/></svg>')


def _badge(label: str, text: str, colour: str) -> str:
    w1, w2 = 7 * len(label) + 10, 7 * len(text) + 10
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{w1 + w2}" height="20" role="img" '
            f'aria-label="{label}: {text}"><rect width="{w1}" height="20" fill="#555"/>'
            f'<rect x="{w1}" width="{w2}" height="20" fill="{colour}"/>'
            f'<g fill="#fff" font-family="Verdana,sans-serif" font-size="11">'
            f'<text x="5" y="14">{label}</text><text x="{w1 + 5}" y="14">{text}</text></g></svg>')


def copy_mathjax(target: Path) -> None:
    """Copy MathJax 3 (its ``es5`` bundle with fonts) from the PyPI package django-static-mathjax
    (plain MathJax files; the course never imports it) into the site."""
    from importlib import metadata

    try:
        es5 = Path(metadata.distribution("django-static-mathjax").locate_file("mathjax/static/mathjax/es5"))
    except metadata.PackageNotFoundError:
        es5 = None
    if es5 is None or not (es5 / "tex-chtml-full.js").is_file():
        sys.exit("The site needs a local MathJax: pip install --no-deps django-static-mathjax==3.2.2.1 "
                 "(it is in requirements.txt; `python scripts/course.py setup` installs it).")
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(es5, target / "es5")
    shutil.copy(es5.parent / "LICENSE", target / "LICENSE")


SWITCH_JS = """// The language switch: the same page in the other edition (the site's two halves share names).
document.addEventListener("DOMContentLoaded", () => {{
  const pages = {pages};
  const zh = document.documentElement.lang.toLowerCase().startsWith("zh");
  const page = location.pathname.split("/").pop() || "index.html";
  const target = pages.includes(page) ? page : "index.html";
  const link = document.createElement("a");
  link.href = (zh ? "../" : "zh/") + target;
  link.textContent = zh ? "English" : "中文";
  link.hreflang = zh ? "en" : "zh";
  link.className = "btn lang-switch";
  link.id = "lang-switch";
  (document.querySelector(".article-header-buttons") || document.body).prepend(link);
}});
"""


def build_edition(lang: str, out: Path, src: Path, with_slides: bool = True) -> None:
    """Write one language's site sources to ``src`` and build its HTML into ``out``."""
    folder, _, sphinx_lang, words = EDITIONS[lang]
    shutil.rmtree(src, ignore_errors=True)
    (src / "_static").mkdir(parents=True)
    notebooks = []
    for path in course_notebooks(folder):
        nb = nbformat.read(path, as_version=4)
        notebooks.append((path, title_of(nb, path.stem)))
        nbformat.write(site_notebook(path, nb, words), src / path.name)
    project = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()[0].lstrip("# ").strip()
    if lang == "zh":
        project = "从梯度下降到 BERT"
    (src / "conf.py").write_text(CONF.format(project=project, language=sphinx_lang))
    (src / "index.md").write_text(landing_page(notebooks, lang), encoding="utf-8")
    if lang == "en":
        (src / "instructor-guide.md").write_text(_md_page(NOTEBOOKS / "README.md"), encoding="utf-8")
        (src / "benchmarks.md").write_text(_md_page(ROOT / "BENCHMARKS.md"), encoding="utf-8")
    (src / "_static" / "favicon.svg").write_text(FAVICON)
    (src / "_static" / "binder-badge.svg").write_text(_badge("launch", "binder", "#579aca"))
    (src / "_static" / "colab-badge.svg").write_text(_badge("open in", "Colab", "#f9ab00"))
    pages = ["index.html", *[f"{p.stem}.html" for p, _ in notebooks]]
    (src / "_static" / "lang-switch.js").write_text(SWITCH_JS.format(pages=pages))
    copy_mathjax(src / "_static" / "mathjax")
    # downloads: the notebooks themselves and their student copies; the slides
    files = src / "files"
    (files / "downloads").mkdir(parents=True)
    for path, _ in notebooks:
        shutil.copy(path, files / "downloads" / path.name)
    students = _load_script("make_student_copies")
    (files / "student").mkdir()
    for path, _ in notebooks:
        nb = nbformat.read(path, as_version=4)
        nbformat.write(students.student_copy(nb), files / "student" / path.name)
    (files / "slides").mkdir()
    if with_slides:
        slides = _load_script("make_slides")
        slides.fetch_assets(ASSET_CACHE / "slides")
        if lang == "en":
            for name in slides.ASSETS:
                shutil.copytree(ASSET_CACHE / "slides" / name, files / "slides" / name)
        for path, _ in notebooks:   # zh/slides/ uses the English edition's reveal.js and MathJax
            slides.export(path, files / "slides", offline=True, assets="" if lang == "en" else "../../slides/")
    done = subprocess.run([sys.executable, "-m", "sphinx", "-b", "html", "-q", "-j", "2", str(src), str(out)],
                          cwd=src)
    if done.returncode != 0:
        sys.exit(f"Sphinx failed on the {lang} edition (exit code {done.returncode}); see the messages above.")
    if lang == "zh":
        _fix_chinese_search(out)


def _fix_chinese_search(out: Path) -> None:
    """Sphinx 9.0's Chinese search names a stemmer class that does not exist
    (``window.Stemmer = ChineseStemmer``; sphinx-doc/sphinx#14229): every page then logs a
    ReferenceError and search finds nothing. Chinese search uses the English stemmer for Latin
    words, so point it there -- the same change as the upstream fix (sphinx-doc/sphinx#14416)."""
    path = out / "_static" / "language_data.js"
    if path.is_file():
        text = path.read_text(encoding="utf-8")
        path.write_text(text.replace("window.Stemmer = ChineseStemmer;", "window.Stemmer = EnglishStemmer;"),
                        encoding="utf-8")


def build(out: Path, src: Path, with_slides: bool = True) -> Path:
    """Build the English site into ``out`` and the Chinese edition into ``out/zh``; return ``out``."""
    t0 = time.perf_counter()
    shutil.rmtree(out, ignore_errors=True)
    for lang, (_, sub, _, _) in EDITIONS.items():
        print(f"building the {lang} edition ...", flush=True)
        build_edition(lang, out / sub if sub else out, src / lang, with_slides)
    print(f"Built {out / 'index.html'} and {out / 'zh' / 'index.html'} in {time.perf_counter() - t0:.0f} s")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "site")
    parser.add_argument("--src", type=Path, default=ROOT / "build" / "site-src")
    parser.add_argument("--no-slides", action="store_true", help="leave out the slides (faster)")
    args = parser.parse_args(argv)
    build(args.out.resolve(), args.src.resolve(), with_slides=not args.no_slides)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
