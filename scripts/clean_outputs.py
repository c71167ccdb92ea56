#!/usr/bin/env python3
"""Clean the stored outputs of executed notebooks: no frozen progress bars, no duplicated figures.

    python scripts/clean_outputs.py notebooks/*.ipynb          # rewrite the files in place
    python scripts/clean_outputs.py --check notebooks/*.ipynb  # exit 1 if a file needs cleaning

A tqdm bar in a notebook is an ipywidgets widget. Its stored output carries a ``text/plain``
fallback written when the bar was *created* ("epochs:   0%| | 0/15"), so every viewer without
the live widget (GitHub, nbconvert, the course site, a reopened notebook) shows a frozen 0 % bar.
The bar's *final* state is in the notebook's saved widget state (``metadata.widgets``): the
tqdm ``HBox`` has three children -- an ``HTML`` with the description and percentage, a
``FloatProgress`` with ``value``/``max``/``bar_style``, an ``HTML`` with the counts, times and
the postfix. This script

1. replaces each tqdm widget output by that final state as plain text, e.g.
   ``epochs: 100%|██████████| 15/15 [00:34<00:00, 2.31s/it, loss=0.12]``
   (cleaning is not re-running: only the bar's text changes, to the state it reached);
2. drops the outputs of bars that were hidden when they finished (``leave=False``: the
   per-epoch bars of ``course_lib.train.fit``), as in the live notebook;
3. drops, from the saved state of interactive widgets (``interact``'s Output widget), figures
   that the cell's ordinary outputs already show (identical image data), so a renderer that
   draws widgets does not show the figure twice;
4. removes the widget models nothing refers to any more (the whole ``metadata.widgets`` entry
   when no widget output is left).

``scripts/benchmark.py --save-outputs`` applies the same cleaning before it stores a notebook.
"""

from __future__ import annotations

import argparse
import html
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
PROGRESS_MODELS = ("FloatProgressModel", "IntProgressModel")
_PARTIAL = " ▏▎▍▌▋▊▉"


def _states(nb: dict) -> dict[str, dict]:
    return nb.get("metadata", {}).get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})


def _ref(value: Any) -> str | None:
    if isinstance(value, str) and value.startswith("IPY_MODEL_"):
        return value[len("IPY_MODEL_"):]
    return None


def tqdm_parts(model_id: str, states: dict[str, dict]) -> dict[str, Any] | None:
    """The parts of a tqdm notebook bar stored under ``model_id``: ``left``/``right`` text,
    ``value``, ``max``, ``bar_style`` and ``hidden``; ``None`` if it is not a tqdm bar."""
    box = states.get(model_id)
    if not box or box.get("model_name") != "HBoxModel":
        return None
    children = [_ref(c) for c in box.get("state", {}).get("children", [])]
    if len(children) != 3 or not all(c in states for c in children):
        return None
    left, bar, right = (states[c] for c in children)
    if (left.get("model_name"), right.get("model_name")) != ("HTMLModel", "HTMLModel") \
            or bar.get("model_name") not in PROGRESS_MODELS:
        return None
    layout = states.get(_ref(box["state"].get("layout")) or "", {}).get("state", {})
    b = bar["state"]
    return {
        "left": _text(left["state"].get("value", "")),
        "right": _text(right["state"].get("value", "")),
        "value": float(b.get("value") or 0.0),
        "max": float(b.get("max") or 0.0),
        "bar_style": b.get("bar_style") or "",
        "hidden": layout.get("visibility") == "hidden" or layout.get("display") == "none"
                  or box["state"].get("layout") is None and box["state"].get("visible") is False,
    }


def _text(value: str) -> str:
    """tqdm's widget text -> plain text (it HTML-escapes and pads with U+2007 figure spaces)."""
    return html.unescape(value).replace("\u2007", " ").replace("\u200b", "")


def bar_text(parts: dict[str, Any], width: int = 10) -> str:
    """The final state of a bar as tqdm prints it in a terminal.

    >>> bar_text({"left": "epochs: 80%", "right": " 12/15 [00:51<00:12, 4.06s/it]",
    ...           "value": 12, "max": 15, "bar_style": "danger", "hidden": False})
    'epochs: 80%|████████  | 12/15 [00:51<00:12, 4.06s/it]'
    """
    frac = min(max(parts["value"] / parts["max"], 0.0), 1.0) if parts["max"] else 1.0
    eighths = int(frac * width * 8)
    full, rest = divmod(eighths, 8)
    bar = "█" * full + (_PARTIAL[rest] if rest and full < width else "")
    return f"{parts['left']}|{bar.ljust(width)}|{parts['right']}"


def _is_tqdm_fallback(text: str) -> bool:
    return "%|" in text and "it/s" in text or "%|" in text and "/" in text.split("%|")[-1]


def clean_notebook(nb: dict) -> dict[str, int]:
    """Clean ``nb`` (a notebook dict / nbformat NotebookNode) in place; return the counts of
    what changed: ``bars`` rewritten, ``hidden`` bars dropped, ``figures`` dropped from widget
    state, ``models`` removed from widget state."""
    states = _states(nb)
    counts = {"bars": 0, "hidden": 0, "figures": 0, "models": 0}
    images: set[str] = set()
    for cell in nb.get("cells", []):
        new_outputs = []
        for out in cell.get("outputs", []) or []:
            data = out.get("data", {}) if isinstance(out, dict) else {}
            for mime, value in data.items():
                if mime.startswith("image/"):
                    images.add(_joined(value))
            view = data.get(WIDGET_VIEW)
            if view is None:
                new_outputs.append(out)
                continue
            parts = tqdm_parts(view.get("model_id", ""), states)
            if parts is None:
                if view.get("model_id") not in states and _is_tqdm_fallback(_joined(data.get("text/plain", ""))):
                    counts["hidden"] += 1          # a bar whose final state was never saved
                    continue
                new_outputs.append(out)
                continue
            if parts["hidden"]:
                counts["hidden"] += 1
                continue
            counts["bars"] += 1
            new_outputs.append(_node({"output_type": "display_data", "metadata": {},
                                      "data": {"text/plain": bar_text(parts)}}))
        if "outputs" in cell:
            cell["outputs"] = new_outputs
    for model in states.values():
        if model.get("model_name") != "OutputModel":
            continue
        outputs = model.get("state", {}).get("outputs", [])
        kept = [o for o in outputs if not any(
            mime.startswith("image/") and _joined(v) in images for mime, v in o.get("data", {}).items())]
        counts["figures"] += len(outputs) - len(kept)
        if len(kept) != len(outputs):
            model["state"]["outputs"] = kept
    counts["models"] = _drop_unreferenced(nb, states)
    return counts


def _joined(value: Any) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def _node(obj: dict) -> Any:
    """A new output as nbformat's NotebookNode (attribute access), like the ones it read."""
    try:
        from nbformat import from_dict
    except ImportError:
        return obj
    return from_dict(obj)


def _drop_unreferenced(nb: dict, states: dict[str, dict]) -> int:
    roots = set()
    for cell in nb.get("cells", []):
        for out in cell.get("outputs", []) or []:
            view = out.get("data", {}).get(WIDGET_VIEW) if isinstance(out, dict) else None
            if view and view.get("model_id") in states:
                roots.add(view["model_id"])
    keep: set[str] = set()
    todo = list(roots)
    while todo:
        mid = todo.pop()
        if mid in keep or mid not in states:
            continue
        keep.add(mid)
        todo.extend(_refs(states[mid].get("state", {})))
    removed = [mid for mid in states if mid not in keep]
    for mid in removed:
        del states[mid]
    widgets = nb.get("metadata", {}).get("widgets")
    if widgets is not None and not states:
        widgets.pop(WIDGET_STATE, None)
        if not widgets:
            del nb["metadata"]["widgets"]
    return len(removed)


def _refs(obj: Any) -> Iterable[str]:
    if isinstance(obj, dict):
        for v in obj.values():
            yield from _refs(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from _refs(v)
    else:
        ref = _ref(obj)
        if ref:
            yield ref


def clean_file(path: Path, write: bool = True) -> dict[str, int]:
    """Clean one .ipynb file (rewritten with nbformat only when something changed)."""
    import nbformat

    nb = nbformat.read(path, as_version=4)
    before = json.dumps(nb, sort_keys=True)
    counts = clean_notebook(nb)
    changed = json.dumps(nb, sort_keys=True) != before
    if changed and write:
        nbformat.write(nb, path)
    counts["changed"] = int(changed)
    return counts


def describe(counts: dict[str, int]) -> str:
    return (f"{counts['bars']} bars set to their final state, {counts['hidden']} hidden bars dropped, "
            f"{counts['figures']} duplicated figures dropped from widget state, "
            f"{counts['models']} unused widget models removed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a file needs cleaning")
    args = parser.parse_args(argv)
    dirty = []
    for path in args.notebooks:
        counts = clean_file(path, write=not args.check)
        if counts["changed"]:
            dirty.append(path)
            verb = "needs cleaning" if args.check else "cleaned"
            print(f"{path}: {verb}: {describe(counts)}")
        else:
            print(f"{path}: clean")
    return 1 if args.check and dirty else 0


if __name__ == "__main__":
    sys.exit(main())
