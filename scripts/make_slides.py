#!/usr/bin/env python3
"""Export every notebook as reveal.js slides (cells carry "slideshow" metadata).

    python scripts/make_slides.py [--out build/slides] [notebooks ...]

Open build/slides/NN_topic.slides.html in a browser (arrow keys move; "s" opens speaker notes).
Cells tagged "solution" are left out of the slides, so a lecture does not give the answers away.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parent.parent


def export(notebook: Path, out_dir: Path) -> Path:
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    body, _ = SlidesExporter(reveal_scroll=True).from_notebook_node(nb)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{notebook.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "slides")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    for path in paths:
        print(f"{path.name} -> {export(path, args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
