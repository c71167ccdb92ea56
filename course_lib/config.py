"""Course-wide settings: quick/full mode and the data directory.

One switch, the environment variable ``COURSE_MODE``:

* ``full``  -- the real exercise (default for a person running a notebook);
* ``quick`` -- subsets and fewer steps so a notebook runs in about a minute on a laptop CPU.
  It is on automatically under pytest and CI (``CI=true``) unless ``COURSE_MODE`` says otherwise.

A typo (``COURSE_MODE=quik``) is an error, never silently "full".

This module is the one home of every ``COURSE_*`` environment variable the course reads: each
is a constant below (``MODE_ENV``, ``DATA_DIR_ENV``, ...), documented in :data:`ENV_VARS`, and
every other module, script and test refers to it by that constant.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

MODE_ENV = "COURSE_MODE"
DATA_DIR_ENV = "COURSE_DATA_DIR"
DEVICE_ENV = "COURSE_DEVICE"
OFFLINE_ENV = "COURSE_OFFLINE"
REPORT_ENV = "COURSE_REPORT"
VENV_ENV = "COURSE_VENV"
LANG_ENV = "COURSE_LANG"

#: Every environment variable of the course and what it does (README "Settings" lists the same).
ENV_VARS: dict[str, str] = {
    MODE_ENV: "quick | full: small runs (~1 min per notebook) or the real exercise; default full, "
              "quick under pytest/CI (course_lib.config).",
    DATA_DIR_ENV: "where downloads and caches go (default <repo>/data/cache, else "
                  "~/.cache/course_lib) (course_lib.config.data_dir).",
    DEVICE_ENV: "auto | cpu | cuda | cuda:N | mps: override the device the notebooks use "
                "(course_lib.device).",
    OFFLINE_ENV: "1/true/yes: never try a download, use only the installed carriers and caches "
                 "(course_lib.data; HF_HUB_OFFLINE=1 does the same).",
    REPORT_ENV: "path of a JSON file that report.record() merges each notebook's metrics into; "
                "set by scripts/benchmark.py (course_lib.report).",
    VENV_ENV: "where 'python scripts/course.py setup' makes the virtual environment "
              "(default <repo>/.venv) (scripts/course.py).",
    LANG_ENV: "en | zh: the language of the exercise checks, the environment check and the data "
              "errors; default en; the Chinese notebooks set zh in their first cell "
              "(course_lib.i18n).",
}
MODES = ("quick", "full")

T = TypeVar("T")


def mode() -> str:
    """Return the current mode, ``"quick"`` or ``"full"`` (see the module docstring)."""
    value = os.environ.get(MODE_ENV, "").strip().lower()
    if value:
        if value not in MODES:
            raise ValueError(
                f"{MODE_ENV}={os.environ[MODE_ENV]!r} is not a mode. Use {MODE_ENV}=quick "
                f"(small, ~1 min per notebook) or {MODE_ENV}=full (the real exercise), "
                f"or unset it to get the default."
            )
        return value
    if _running_under_tests():
        return "quick"
    return "full"


def _running_under_tests() -> bool:
    ci = os.environ.get("CI", "").strip().lower()
    return ci not in ("", "0", "false", "no") or "PYTEST_CURRENT_TEST" in os.environ


def is_quick() -> bool:
    """True in quick mode."""
    return mode() == "quick"


def pick(quick: T, full: T) -> T:
    """Choose a value by mode, e.g. ``epochs = pick(quick=1, full=8)``: ``quick`` in quick
    mode, ``full`` otherwise."""
    return quick if is_quick() else full


def mode_banner() -> str:
    """One line that tells the reader which numbers they are looking at, e.g. ``Course mode:
    FULL -- full datasets and training. Set COURSE_MODE=quick for a ~1 minute run.``"""
    m = mode()
    if m == "quick":
        why = (
            f"{MODE_ENV}={os.environ[MODE_ENV]}" if os.environ.get(MODE_ENV) else "set automatically under pytest/CI"
        )
        return (
            f"Course mode: QUICK ({why}) -- small subsets and few steps; "
            f"numbers are lower than in full mode. Set {MODE_ENV}=full for the real exercise."
        )
    return f"Course mode: FULL -- full datasets and training. Set {MODE_ENV}=quick for a ~1 minute run."


def repo_root() -> Path | None:
    """The course repository this library was installed from (editable install), if any."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file() and (here / "notebooks").is_dir():
        return here
    return None


def data_dir() -> Path:
    """Where downloads and caches go: ``$COURSE_DATA_DIR``, else ``<repo>/data/cache``,
    else ``~/.cache/course_lib``. The directory is not created here."""
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    root = repo_root()
    if root is not None:
        return root / "data" / "cache"
    return Path.home() / ".cache" / "course_lib"
