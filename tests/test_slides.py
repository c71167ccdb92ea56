"""Every notebook exports as reveal.js slides, without its solutions."""

import importlib.util
import re
import shutil
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

spec = importlib.util.spec_from_file_location("make_slides", ROOT / "scripts" / "make_slides.py")
make_slides = importlib.util.module_from_spec(spec)
spec.loader.exec_module(make_slides)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_slides_build(path, tmp_path):
    nb = nbformat.read(path, as_version=4)
    slides = [c for c in nb.cells if c.metadata.get("slideshow", {}).get("slide_type") == "slide"
              and "solution" not in c.metadata.get("tags", [])]
    assert len(slides) >= 3, f"{path.name}: give section headings slide metadata"
    html = make_slides.export(path, tmp_path).read_text()
    assert html.count("<section") >= len(slides)
    assert "reveal" in html.lower()


def test_solutions_stay_out_of_slides(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# Title"),
        nbformat.v4.new_code_cell("VISIBLE_CODE_123 = 1"),
        nbformat.v4.new_code_cell("SECRET_ANSWER_456 = 2", metadata={"tags": ["solution"]}),
    ])
    path = tmp_path / "99_demo.ipynb"
    nbformat.write(nb, path)
    html = make_slides.export(path, tmp_path / "out").read_text()
    assert "VISIBLE_CODE_123" in html
    assert "SECRET_ANSWER_456" not in html


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed: --offline slides fetch reveal.js with it")
def test_offline_slides_use_only_local_files(tmp_path):
    out = tmp_path / "slides"
    make_slides.fetch_assets(out)
    html = make_slides.export(NOTEBOOKS[1], out, offline=True).read_text()
    remote = [u for u in re.findall(r'https?://[^"' + "'" + r' )]+', html)
              if u.endswith((".js", ".css", ".mjs")) or "?config=" in u]
    assert all("mermaid" in u for u in remote), remote  # mermaid loads only for mermaid diagrams
    folders = "|".join(re.escape(name) for name in make_slides.ASSETS)
    local = set(re.findall(rf'"((?:{folders})/[^"?]+)', html))
    assert {p.split("/")[0] for p in local} == set(make_slides.ASSETS), local
    for rel in local:
        assert (out / rel).is_file(), f"the slides refer to {rel}, which was not fetched"
