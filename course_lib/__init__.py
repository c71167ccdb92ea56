"""course_lib -- the helper library of the course "From gradient descent to BERT".

One module per concern, each imported by the notebooks by name::

    from course_lib import config, device, train, plot, report, checks, data, text, vision

Importing ``course_lib`` itself is cheap: submodules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_SUBMODULES = {
    "checks", "config", "data", "device", "envcheck", "finetuned", "i18n", "interactive", "notebook",
    "plot", "procs", "report", "text", "train", "vision",
}


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module 'course_lib' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + list(_SUBMODULES))
