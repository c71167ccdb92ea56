"""Record a notebook's key metrics for the benchmark runner.

``record("02_mlp", test_acc=0.981)`` always prints the metrics; when the environment variable
``COURSE_REPORT`` names a JSON file (the benchmark runner sets it), they are merged into that file,
atomically, under the notebook's name.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from .config import REPORT_ENV  # documented in course_lib.config.ENV_VARS


def record(notebook: str, **metrics: float) -> dict[str, float]:
    """Print and (if ``$COURSE_REPORT`` is set) save ``metrics`` under ``notebook``.

    >>> record("01_gradient_descent", gd_vs_closed_form=3e-06)
    [report] 01_gradient_descent: gd_vs_closed_form=3e-06
    {'gd_vs_closed_form': 3e-06}
    """
    if not metrics:
        raise ValueError("record() needs at least one metric, e.g. record('02_mlp', test_acc=0.98)")
    clean: dict[str, float] = {}
    for name, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"metric {name!r} must be a number, got {type(value).__name__}") from None
        if not math.isfinite(number):
            raise ValueError(f"metric {name!r} is {number}; a benchmark cannot record that")
        clean[name] = number
    print(f"[report] {notebook}: " + ", ".join(f"{k}={v:.4g}" for k, v in clean.items()))
    path = os.environ.get(REPORT_ENV, "").strip()
    if path:
        _merge(Path(path), notebook, clean)
    return clean


def _merge(path: Path, notebook: str, metrics: dict[str, float]) -> None:
    data = json.loads(path.read_text()) if path.exists() else {}
    data.setdefault(notebook, {}).update(metrics)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
