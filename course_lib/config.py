"""Course-wide settings: quick/full mode and the data directory.

One switch, the environment variable ``COURSE_MODE``:

* ``full``  -- the real exercise (default for a person running a notebook);
* ``quick`` -- subsets and fewer steps so a notebook runs in about a minute on a laptop CPU.
  It is on automatically under pytest and CI (``CI=true``) unless ``COURSE_MODE`` says otherwise.

A typo (``COURSE_MODE=quik``) is an error, never silently "full".
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TypeVar

MODE_ENV = "COURSE_MODE"
DATA_DIR_ENV = "COURSE_DATA_DIR"
MODES = ("quick", "full")

T = TypeVar("T")


def mode() -> str:
    """Return the current mode, ``"quick"`` or ``"full"``.

    >>> mode() in ("quick", "full")
    True
    """
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
    """True in quick mode.

    >>> isinstance(is_quick(), bool)
    True
    """
    return mode() == "quick"


def pick(quick: T, full: T) -> T:
    """Choose a value by mode, e.g. ``epochs = pick(quick=1, full=8)``.

    >>> pick(quick=1, full=8) in (1, 8)
    True
    """
    return quick if is_quick() else full


def mode_banner() -> str:
    """One line that tells the reader which numbers they are looking at.

    >>> "mode" in mode_banner()
    True
    """
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
    """The course repository this library was installed from (editable install), if any.

    >>> repo_root() is None or (repo_root() / "course_lib").is_dir()
    True
    """
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").is_file() and (here / "notebooks").is_dir():
        return here
    return None


def data_dir() -> Path:
    """Where downloads and caches go: ``$COURSE_DATA_DIR``, else ``<repo>/data/cache``,
    else ``~/.cache/course_lib``. The directory is not created here.

    >>> data_dir().name != ""
    True
    """
    env = os.environ.get(DATA_DIR_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    root = repo_root()
    if root is not None:
        return root / "data" / "cache"
    return Path.home() / ".cache" / "course_lib"
