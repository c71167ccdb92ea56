#!/usr/bin/env python3
"""Export every notebook as reveal.js slides (cells carry "slideshow" metadata).

    python scripts/make_slides.py [--out build/slides] [--offline] [notebooks ...]

Open build/slides/NN_topic.slides.html (Chinese edition: build/slides/zh/) in a browser (arrow keys move; "s" opens speaker notes).
Cells tagged "solution" are left out of the slides, so a lecture does not give the answers away.

By default the slides load reveal.js and MathJax from CDNs (unpkg, cdnjs). With ``--offline`` they
use copies next to the slides instead (``reveal.js/``, ``mathjax/``, ...), fetched once with ``npm pack``
(npm checks the registry's sha512 integrity): for lecturing with no network.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

ROOT = Path(__file__).resolve().parent.parent
# What nbconvert's reveal template loads from CDNs, as npm packages (the versions it is written for;
# jquery 2.0.3 is not on npm, 2.2.4 is the last 2.x). folder -> (package, exporter setting, URL in folder)
ASSETS = {
    "reveal.js": ("reveal.js@4.0.2", "reveal_url_prefix", ""),
    "mathjax": ("mathjax@2.7.7", "mathjax_url", "/MathJax.js?config=TeX-AMS_CHTML-full,Safe"),
    "requirejs": ("requirejs@2.1.10", "require_js_url", "/require.js"),
    "jquery": ("jquery@2.2.4", "jquery_url", "/dist/jquery.min.js"),
}  # mermaid is left out: its loader runs only when a notebook has a mermaid diagram (ours have none)


def fetch_assets(out_dir: Path, assets: dict[str, tuple[str, str, str]] | None = None) -> None:
    """Put reveal.js, MathJax, require.js and jQuery (or the npm packages of ``assets``, same
    layout as ``ASSETS``) into ``out_dir`` (once) with ``npm pack``, for offline pages."""
    assets = ASSETS if assets is None else assets
    missing = {name: pkg for name, (pkg, _, _) in assets.items() if not (out_dir / name / "package.json").exists()}
    if not missing:
        return
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("--offline needs npm to fetch reveal.js and MathJax once (Debian/Ubuntu: "
                 "sudo apt install npm). Without --offline the slides load them from a CDN.")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for name, pkg in missing.items():
            print(f"fetching {pkg} with npm ...")
            done = subprocess.run([npm, "pack", pkg, "--pack-destination", tmp, "--silent"],
                                  capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"npm pack {pkg} failed:\n{done.stderr.strip()}\n"
                         "Check that the npm registry is reachable, or leave out --offline.")
            archive = Path(tmp) / done.stdout.strip().splitlines()[-1]
            unpacked = Path(tmp) / name
            with tarfile.open(archive) as tar:
                tar.extractall(unpacked, filter="data")  # refuses absolute paths and links out
            shutil.rmtree(out_dir / name, ignore_errors=True)
            shutil.move(str(unpacked / "package"), out_dir / name)


def export(notebook: Path, out_dir: Path, offline: bool = False, assets: str = "") -> Path:
    """Write ``out_dir/<notebook>.slides.html``; with ``offline`` the page loads reveal.js and
    MathJax from ``assets`` + the folders fetch_assets() makes (``""``: next to the slides;
    ``"../"``: the Chinese edition's slides in ``zh/`` share the English edition's copies)."""
    nb = nbformat.read(notebook, as_version=4)
    nb.cells = [c for c in nb.cells if "solution" not in c.metadata.get("tags", [])]
    exporter = SlidesExporter(reveal_scroll=True)
    if offline:  # relative to the slides: the folders fetch_assets() makes
        for name, (_, setting, path) in ASSETS.items():
            setattr(exporter, setting, assets + name + path)
        # live widgets would need the widget manager from unpkg; the slides show their pictures
        nb.metadata.pop("widgets", None)
    body, _ = exporter.from_notebook_node(nb)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{notebook.stem}.slides.html"
    target.write_text(body, encoding="utf-8")
    return target


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "slides")
    parser.add_argument("--offline", action="store_true",
                        help="use local copies of reveal.js and MathJax (fetched once with npm)")
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args()
    paths = args.notebooks or [*sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")),
                               *sorted((ROOT / "notebooks" / "zh").glob("[0-9][0-9]_*.ipynb"))]
    if args.offline:
        fetch_assets(args.out)
    for path in paths:
        zh = path.parent.name == "zh"     # the Chinese edition: build/slides/zh/, shared assets
        target = export(path, args.out / "zh" if zh else args.out, offline=args.offline,
                        assets="../" if zh else "")
        print(f"{path.name} -> {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
