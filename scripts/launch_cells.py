#!/usr/bin/env python3
"""Insert (or refresh) the launch cells of every notebook: Binder/Colab badges and the Colab
set-up cell. Generated from one place: [tool.course] in pyproject.toml names the repository.

    python scripts/launch_cells.py           # rewrite notebooks whose launch cells are stale
    python scripts/launch_cells.py --check   # exit 1 if any notebook is stale (used by the tests)

The two cells are tagged "launch" and sit right after the title cell. The Colab cell does nothing
outside Colab; on Colab it clones the course and runs `scripts/course.py setup --colab`, which
never reinstalls Colab's own torch/torchvision.
"""

from __future__ import annotations

import argparse
import functools
import sys
import tomllib
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
TAG = "launch"


@functools.cache
def settings() -> tuple[str, str]:
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["course"]
    return conf["repository"].rstrip("/"), conf["branch"]


def launch_cells(notebook: str) -> list[nbformat.NotebookNode]:
    repo, branch = settings()
    slug = repo.split("github.com/", 1)[1]
    binder = f"https://mybinder.org/v2/gh/{slug}/{branch}?urlpath=lab/tree/notebooks/{notebook}"
    colab = f"https://colab.research.google.com/github/{slug}/blob/{branch}/notebooks/{notebook}"
    badges = nbformat.v4.new_markdown_cell(
        f"[![Open in Binder](https://mybinder.org/badge_logo.svg)]({binder}) "
        f"[![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab})")
    setup = nbformat.v4.new_code_cell(
        "# On Colab only: fetch the course and add what Colab lacks (Colab's own torch stays).\n"
        "# Everywhere else this cell does nothing.\n"
        "import sys\n"
        "\n"
        "if \"google.colab\" in sys.modules:\n"
        "    import os\n"
        "    import subprocess\n"
        "\n"
        "    if not os.path.isdir(\"/content/course\"):\n"
        f"        subprocess.run([\"git\", \"clone\", \"--depth\", \"1\", \"{repo}\", \"/content/course\"], check=True)\n"
        "    subprocess.run([sys.executable, \"/content/course/scripts/course.py\", \"setup\", \"--colab\"], check=True)\n"
        "    sys.path.insert(0, \"/content/course\")\n"
        "    os.chdir(\"/content/course/notebooks\")")
    for cell in (badges, setup):
        cell.metadata["tags"] = [TAG]
        cell.metadata["slideshow"] = {"slide_type": "skip"}
    return [badges, setup]


def refresh(path: Path, write: bool = True) -> bool:
    """Return True if the notebook's launch cells are stale (missing, outdated or not right after
    the title); rewrite them there if ``write``."""
    nb = nbformat.read(path, as_version=4)
    wanted = launch_cells(path.name)
    sources = [c.source for c in wanted]
    current = [c.source for c in nb.cells if TAG in c.metadata.get("tags", [])]
    if current == sources and [c.source for c in nb.cells[1:3]] == sources:
        return False
    if not write:
        return True
    kept = [c for c in nb.cells if TAG not in c.metadata.get("tags", [])]
    for i, cell in enumerate(wanted):  # stable ids: re-running the tool changes nothing
        cell.id = f"launch-{i}"
    nb.cells = kept[:1] + wanted + kept[1:]
    nbformat.write(nb, path)
    return True


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    stale = []
    for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")):
        if refresh(path, write=not args.check):
            if args.check:
                stale.append(path.name)
            else:
                print(f"updated {path.name}")
    if stale:
        print("stale launch cells in: " + ", ".join(stale) + " -- run python scripts/launch_cells.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
