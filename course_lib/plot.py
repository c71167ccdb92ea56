"""Pictures the notebooks use again and again: training curves, image grids, confusion
matrices, heat-maps and 2-D projections. Every function returns the matplotlib Figure.

House style: integer epoch ticks; in training curves one colour per model (run) and one line
style per split (train solid, validation dashed, test dotted), the same in every panel; legends
outside the data; heat-maps with a colour bar and readable cell numbers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

#: line style of each split in :func:`history` (keys without a split prefix are solid)
SPLIT_STYLES = {"train": "-", "val": "--", "test": ":"}
_SPLIT_PREFIXES = {"train_": "train", "val_": "val", "valid_": "val", "validation_": "val",
                   "test_": "test"}
_SPLIT_NAMES = {"train": "training", "val": "validation", "test": "test", "": ""}
_NOT_PLOTTED = ("epoch", "lr", "seconds")


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def split_key(key: str) -> tuple[str, str]:
    """``"val_acc"`` -> ``("val", "acc")``: the split (train/val/test, or ``""``) and the quantity.

    >>> split_key("val_token_acc"), split_key("train_loss"), split_key("loss")
    (('val', 'token_acc'), ('train', 'loss'), ('', 'loss'))
    """
    for prefix, split in _SPLIT_PREFIXES.items():
        if key.startswith(prefix) and len(key) > len(prefix):
            return split, key[len(prefix):]
    return "", key


def history(hist: Any, title: str | None = None) -> Figure:
    """Training curves per epoch from a ``History``, a dict of lists, or several runs as
    ``{"label": history, ...}`` to compare them.

    One panel per quantity (``fig.axes[0]`` is always the loss when there is one, then each metric
    such as accuracy), one colour per run, one line style per split (train solid, validation
    dashed, test dotted) in every panel; epochs on the x axis are whole numbers; the legend sits
    below the panels, never over the curves. Each line's label is ``"<run> <key>"``.
    """
    runs = hist if _is_run_mapping(hist) else {"": hist}
    if not runs:
        raise ValueError("history: nothing to plot (no runs)")
    quantities: list[str] = []
    for run in runs.values():
        for key in _keys(run):
            if key not in _NOT_PLOTTED:
                q = split_key(key)[1]
                if q not in quantities:
                    quantities.append(q)
    if not quantities:
        raise ValueError("history: no loss or metric to plot (only epoch/lr/seconds)")
    order = {q: i for i, q in enumerate(quantities)}
    quantities.sort(key=lambda q: (not q.endswith("loss"), order[q]))
    ncols = min(len(quantities), 3)
    nrows = -(-len(quantities) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.6 * ncols, 3.3 * nrows + 0.5), squeeze=False,
                             layout="constrained")
    panel = {q: ax for q, ax in zip(quantities, axes.flat)}
    for ax in list(axes.flat)[len(quantities):]:
        fig.delaxes(ax)
    many_runs = len(runs) > 1
    splits_used: list[str] = []
    for i, (label, run) in enumerate(runs.items()):
        prefix = f"{label} " if label else ""
        for key in _keys(run):
            if key in _NOT_PLOTTED:
                continue
            split, q = split_key(key)
            values = _series(run, key)
            x = _epochs(run, len(values))
            # one run: colour per quantity is not needed (panels separate them) -> one colour
            colour = f"C{i % 10}" if many_runs else "C0"
            panel[q].plot(x, values, color=colour, linestyle=SPLIT_STYLES.get(split, "-"),
                          marker="o" if len(values) <= 30 else None, ms=3, label=prefix + key)
            if split not in splits_used:
                splits_used.append(split)
    for q, ax in panel.items():
        ax.set(xlabel="epoch", ylabel=q.replace("_", " "), title=q.replace("_", " "))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    handles = []
    if many_runs:
        handles += [Line2D([], [], color=f"C{i % 10}", lw=2, label=str(label))
                    for i, label in enumerate(runs)]
    if len(splits_used) > 1 or (splits_used and splits_used[0] and not many_runs):
        handles += [Line2D([], [], color="0.25" if many_runs else "C0",
                           linestyle=SPLIT_STYLES.get(s, "-"), label=_SPLIT_NAMES.get(s, s) or "value")
                    for s in splits_used]
    if handles:
        fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6),
                   fontsize=8, frameon=False)
    if title:
        fig.suptitle(title)
    return fig


def _is_run_mapping(obj: Any) -> bool:
    return isinstance(obj, Mapping) and bool(obj) and all(
        hasattr(v, "rows") or isinstance(v, Mapping) for v in obj.values())


def _keys(run: Any) -> list[str]:
    if hasattr(run, "rows"):
        return list(dict.fromkeys(k for row in run.rows for k in row))
    return list(run)


def _series(run: Any, key: str) -> list[float]:
    return run[key] if not hasattr(run, "rows") else [r[key] for r in run.rows if key in r]


def _epochs(run: Any, n: int) -> np.ndarray:
    try:
        epochs = [int(e) for e in _series(run, "epoch")] if "epoch" in _keys(run) else []
    except (TypeError, ValueError):
        epochs = []
    return np.asarray(epochs) if len(epochs) == n else np.arange(1, n + 1)


def image_grid(images: Any, labels: Sequence[Any] | None = None, ncols: int = 8,
               cmap: str = "gray", title: str | None = None, size: float = 1.3,
               vmin: float | None = None, vmax: float | None = None,
               colorbar: bool | str = False) -> Figure:
    """Show images ``[N, H, W]``, ``[N, 1, H, W]`` or ``[N, 3, H, W]`` in a grid, each with an
    optional label (a string or a number).

    ``colorbar=True`` (or a label string) puts every grey-level image on one shared scale
    (``vmin``/``vmax``, by default the range of all images; symmetric around 0 when the values
    have both signs, e.g. filters) with one colour bar; without it each image is scaled alone.
    """
    arr = _np(images)
    if arr.ndim == 4 and arr.shape[1] in (1, 3):
        arr = arr.transpose(0, 2, 3, 1)
    if arr.ndim == 4 and arr.shape[-1] == 1:
        arr = arr[..., 0]
    if arr.ndim not in (3, 4):
        raise ValueError(f"image_grid expects [N, H, W] or [N, C, H, W] images, got shape {arr.shape}")
    n = len(arr)
    if labels is not None and len(labels) != n:
        raise ValueError(f"{n} images but {len(labels)} labels")
    shared = bool(colorbar) or vmin is not None or vmax is not None
    if shared and arr.ndim == 3:
        lo, hi = float(np.nanmin(arr)), float(np.nanmax(arr))
        if vmin is None and vmax is None and lo < 0 < hi:
            lo, hi = -max(-lo, hi), max(-lo, hi)
        vmin = lo if vmin is None else vmin
        vmax = hi if vmax is None else vmax
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    extra_w = 0.9 if colorbar else 0.0
    fig, axes = plt.subplots(nrows, ncols, squeeze=False,
                             figsize=(size * ncols + extra_w, size * nrows + 0.3 * bool(labels)
                                      + 0.4 * bool(title)))
    im = None
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            im = ax.imshow(arr[i], cmap=cmap if arr.ndim == 3 else None,
                           vmin=vmin if arr.ndim == 3 else None, vmax=vmax if arr.ndim == 3 else None)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    if colorbar and im is not None and arr.ndim == 3:
        cbar = fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.04, pad=0.02)
        if isinstance(colorbar, str):
            cbar.set_label(colorbar)
    return fig


def confusion_matrix(targets: Any, predictions: Any, class_names: Sequence[str] | None = None,
                     normalize: bool | str = False, title: str = "confusion matrix",
                     cmap: str = "Blues", ax: Any = None) -> Figure:
    """Confusion matrix of integer ``targets`` vs ``predictions`` (rows = true class, columns =
    predicted class), with a colour bar and the number in each cell.

    ``normalize``: ``False`` counts; ``True`` or ``"true"`` each row sums to 1 (recall per true
    class); ``"pred"`` each column sums to 1 (precision per predicted class); ``"all"`` the whole
    matrix sums to 1. Normalised cells show percentages; the colour bar says which.
    """
    t, p = _np(targets).astype(int).ravel(), _np(predictions).astype(int).ravel()
    if t.shape != p.shape:
        raise ValueError(f"targets {t.shape} and predictions {p.shape} differ in length")
    if normalize not in (False, True, "true", "pred", "all"):
        raise ValueError(f"normalize must be False, True, 'true', 'pred' or 'all', got {normalize!r}")
    k = int(max(t.max(initial=0), p.max(initial=0))) + 1
    if class_names is not None:
        k = max(k, len(class_names))
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    mode = "true" if normalize is True else normalize
    if mode == "true":
        shown, bar = cm / np.maximum(cm.sum(1, keepdims=True), 1), "fraction of the true class"
    elif mode == "pred":
        shown, bar = cm / np.maximum(cm.sum(0, keepdims=True), 1), "fraction of the predicted class"
    elif mode == "all":
        shown, bar = cm / max(cm.sum(), 1), "fraction of all examples"
    else:
        shown, bar = cm, "count"
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    fig = heatmap(shown, row_labels=names, col_labels=names, title=title,
                  fmt=".1%" if mode else "d", cmap=cmap, ax=ax, vmin=0,
                  vmax=1 if mode else None, colorbar=bar, xlabel="predicted class",
                  ylabel="true class", square=True)
    return fig


def heatmap(values: Any, row_labels: Sequence[str] | None = None,
            col_labels: Sequence[str] | None = None, title: str | None = None,
            fmt: str | None = ".2f", cmap: str = "viridis", ax: Any = None, *,
            vmin: float | None = None, vmax: float | None = None, colorbar: bool | str = True,
            fontsize: float | None = None, xlabel: str | None = None, ylabel: str | None = None,
            square: bool = False) -> Figure:
    """A 2-D array as a heat-map (attention weights, confusion matrices, similarity tables):
    tick labels, a colour bar (``colorbar=False`` hides it; a string labels it), the colour
    range ``vmin``/``vmax`` (e.g. ``0, 1`` for attention weights so that panels compare), and
    the number in each cell (``fmt``, e.g. ``".2f"``; ``None`` hides them; also hidden for
    more than 400 cells) in a colour that stays readable on dark and light cells.

    The figure is sized from the number of cells unless ``ax`` is given; ``fontsize`` defaults
    to a size that fits the cells.
    """
    arr = _np(values)
    if arr.ndim != 2:
        raise ValueError(f"heatmap expects a 2-D array, got shape {arr.shape}")
    h, w = arr.shape
    if row_labels is not None and len(row_labels) != h:
        raise ValueError(f"{h} rows but {len(row_labels)} row labels")
    if col_labels is not None and len(col_labels) != w:
        raise ValueError(f"{w} columns but {len(col_labels)} column labels")
    own = ax is None
    if own:
        cell = 0.55 if max(h, w) <= 12 else max(0.25, 7.0 / max(h, w))
        width = min(max(2.8, cell * w), 13) + 1.6
        height = min(max(2.2, cell * h), 11) + 1.0 + 0.3 * bool(title)
        fig, ax = plt.subplots(figsize=(width, height))
    else:
        fig = ax.figure
    im = ax.imshow(arr, cmap=cmap, aspect="equal" if square else "auto", vmin=vmin, vmax=vmax,
                   interpolation="nearest")
    if colorbar:
        cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        if isinstance(colorbar, str):
            cbar.set_label(colorbar)
    if fontsize is None:
        fontsize = 9 if max(h, w) <= 8 else 8 if max(h, w) <= 12 else 7
    if row_labels is not None:
        ax.set_yticks(range(h), labels=[str(r) for r in row_labels], fontsize=fontsize)
    if col_labels is not None:
        long = max((len(str(c)) for c in col_labels), default=0) > 3
        ax.set_xticks(range(w), labels=[str(c) for c in col_labels], fontsize=fontsize,
                      rotation=45 if long else 0, ha="right" if long else "center",
                      rotation_mode="anchor")
    if fmt and arr.size <= 400:
        rgba = im.cmap(im.norm(arr))
        luminance = 0.2126 * rgba[..., 0] + 0.7152 * rgba[..., 1] + 0.0722 * rgba[..., 2]
        for (i, j), v in np.ndenumerate(arr):
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=fontsize,
                    color="white" if luminance[i, j] < 0.5 else "black")
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if own:
        fig.tight_layout()
    return fig


def projection(points: Any, labels: Sequence[str] | None = None, groups: Sequence[Any] | None = None,
               method: str = "pca", title: str | None = None, seed: int = 0) -> Figure:
    """Scatter high-dimensional ``points`` in 2-D (PCA, or t-SNE with ``method="tsne"``),
    annotated with ``labels`` (nudged so that they do not overlap) and coloured by ``groups``
    (legend outside the points, on the right).
    """
    x = _np(points).astype(np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"projection expects [N >= 2, D] points, got shape {x.shape}")
    if labels is not None and len(labels) != len(x):
        raise ValueError(f"{len(x)} points but {len(labels)} labels")
    if method == "pca":
        xc = x - x.mean(0)
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        xy = xc @ vt[:2].T
    elif method == "tsne":
        from sklearn.manifold import TSNE

        xy = TSNE(2, perplexity=min(30, len(x) - 1), random_state=seed, init="pca").fit_transform(x)
    else:
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")
    fig, ax = plt.subplots(figsize=(8.5 if groups is not None else 7, 6))
    if groups is not None:
        groups = list(groups)
        for g in dict.fromkeys(groups):
            idx = [i for i, gi in enumerate(groups) if gi == g]
            ax.scatter(xy[idx, 0], xy[idx, 1], s=18, label=str(g))
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1), borderaxespad=0,
                  frameon=False)
    else:
        ax.scatter(xy[:, 0], xy[:, 1], s=18)
    ax.set_title(title or f"2-D projection ({method.upper()})")
    fig.tight_layout()
    if labels is not None:
        _place_labels(ax, xy, [str(t) for t in labels])
    return fig


_OFFSETS = [(3, 3), (3, -11), (-3, 3), (-3, -11), (0, 8), (0, -15), (6, -4), (-6, -4),
            (8, 12), (-8, 12), (8, -19), (-8, -19), (14, -4), (-14, -4)]


def _place_labels(ax: Any, xy: np.ndarray, texts: list[str], fontsize: float = 8) -> None:
    """Annotate each point, choosing for each label the first of a few offsets around its point
    whose box overlaps no label placed before (greedy; the least overlap when none is free)."""
    fig = ax.figure
    renderer = fig.canvas.get_renderer()
    placed: list[Any] = []
    for (px, py), text in zip(xy, texts):
        best, best_cost = None, None
        for dx, dy in _OFFSETS:
            ha = "right" if dx < 0 else "center" if dx == 0 else "left"
            ann = ax.annotate(text, (px, py), xytext=(dx, dy), textcoords="offset points",
                              fontsize=fontsize, ha=ha)
            box = ann.get_window_extent(renderer).expanded(1.05, 1.1)
            cost = sum(_overlap(box, other) for other in placed)
            if best_cost is None or cost < best_cost:
                if best is not None:
                    best[0].remove()
                best, best_cost = (ann, box), cost
            else:
                ann.remove()
            if cost == 0:
                break
        assert best is not None
        placed.append(best[1])


def _overlap(a: Any, b: Any) -> float:
    w = min(a.x1, b.x1) - max(a.x0, b.x0)
    h = min(a.y1, b.y1) - max(a.y0, b.y0)
    return max(w, 0.0) * max(h, 0.0)
