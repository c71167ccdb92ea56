"""Pictures the notebooks use again and again: training curves, image grids, confusion
matrices, heat-maps and 2-D projections. Every function returns the matplotlib Figure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x)


def history(hist: Any, title: str | None = None) -> Figure:
    """Loss curves (left) and every other metric (right) per epoch from a ``History``, a dict
    of lists, or several of them as ``{"label": history, ...}`` to compare runs side by side.

    >>> fig = history({"train_loss": [1.0, 0.5], "val_acc": [0.6, 0.8]})
    """
    runs = hist if _is_run_mapping(hist) else {"": hist}
    metric_keys = sorted({k for run in runs.values() for k in _keys(run)
                          if not k.endswith("loss") and k not in ("epoch", "lr", "seconds")})
    ncols = 2 if metric_keys else 1
    fig, axes = plt.subplots(1, ncols, figsize=(5.5 * ncols, 3.6), squeeze=False)
    for label, run in runs.items():
        prefix = f"{label} " if label else ""
        for key in _keys(run):
            values = _series(run, key)
            epochs = np.arange(1, len(values) + 1)
            if key.endswith("loss"):
                axes[0, 0].plot(epochs, values, marker="o", ms=3, label=prefix + key)
            elif key in metric_keys:
                axes[0, 1].plot(epochs, values, marker="o", ms=3, label=prefix + key)
    axes[0, 0].set(xlabel="epoch", ylabel="loss", title="loss")
    if metric_keys:
        axes[0, 1].set(xlabel="epoch", ylabel="value", title="metrics")
    for ax in axes[0]:
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
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


def image_grid(images: Any, labels: Sequence[Any] | None = None, ncols: int = 8,
               cmap: str = "gray", title: str | None = None, size: float = 1.3) -> Figure:
    """Show images ``[N, H, W]``, ``[N, 1, H, W]`` or ``[N, 3, H, W]`` in a grid, each with an
    optional label (a string or a number).

    >>> fig = image_grid(np.zeros((4, 28, 28)), labels=[0, 1, 2, 3])
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
    ncols = max(1, min(ncols, n))
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows + 0.3 * bool(labels)),
                             squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i < n:
            ax.imshow(arr[i], cmap=cmap if arr.ndim == 3 else None)
            if labels is not None:
                ax.set_title(str(labels[i]), fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def confusion_matrix(targets: Any, predictions: Any, class_names: Sequence[str] | None = None,
                     normalize: bool = False, title: str = "confusion matrix") -> Figure:
    """Confusion matrix of integer ``targets`` vs ``predictions`` (rows = true class).

    >>> fig = confusion_matrix([0, 1, 1], [0, 1, 0])
    """
    t, p = _np(targets).astype(int).ravel(), _np(predictions).astype(int).ravel()
    if t.shape != p.shape:
        raise ValueError(f"targets {t.shape} and predictions {p.shape} differ in length")
    k = int(max(t.max(initial=0), p.max(initial=0))) + 1
    if class_names is not None:
        k = max(k, len(class_names))
    cm = np.zeros((k, k), dtype=np.int64)
    np.add.at(cm, (t, p), 1)
    shown = cm / np.maximum(cm.sum(1, keepdims=True), 1) if normalize else cm
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    fig = heatmap(shown, row_labels=names, col_labels=names, title=title,
                  fmt=".2f" if normalize else "d", cmap="Blues")
    fig.axes[0].set(xlabel="predicted", ylabel="true")
    return fig


def heatmap(values: Any, row_labels: Sequence[str] | None = None,
            col_labels: Sequence[str] | None = None, title: str | None = None,
            fmt: str | None = ".2f", cmap: str = "viridis", ax: Any = None) -> Figure:
    """A 2-D array as a heat-map with optional tick labels and numbers in the cells (attention
    weights, confusion matrices, similarity tables). ``fmt=None`` hides the numbers.

    >>> fig = heatmap(np.eye(3), row_labels=list("abc"), col_labels=list("xyz"))
    """
    arr = _np(values)
    if arr.ndim != 2:
        raise ValueError(f"heatmap expects a 2-D array, got shape {arr.shape}")
    if ax is None:
        h, w = arr.shape
        fig, ax = plt.subplots(figsize=(min(1 + 0.45 * w, 12) + 1.5, min(1 + 0.4 * h, 10) + 0.8))
    else:
        fig = ax.figure
    im = ax.imshow(arr, cmap=cmap, aspect="auto")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    if row_labels is not None:
        ax.set_yticks(range(len(row_labels)), labels=row_labels)
    if col_labels is not None:
        ax.set_xticks(range(len(col_labels)), labels=col_labels, rotation=45, ha="right")
    if fmt and arr.size <= 400:
        mid = (np.nanmax(arr) + np.nanmin(arr)) / 2
        for (i, j), v in np.ndenumerate(arr):
            ax.text(j, i, format(v, fmt), ha="center", va="center", fontsize=7,
                    color="white" if v > mid and cmap == "Blues" else "black")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def projection(points: Any, labels: Sequence[str] | None = None, groups: Sequence[Any] | None = None,
               method: str = "pca", title: str | None = None, seed: int = 0) -> Figure:
    """Scatter high-dimensional ``points`` in 2-D (PCA, or t-SNE with ``method="tsne"``),
    annotated with ``labels`` and coloured by ``groups``.

    >>> fig = projection(np.random.default_rng(0).normal(size=(5, 10)), labels=list("abcde"))
    """
    x = _np(points).astype(np.float64)
    if x.ndim != 2 or len(x) < 2:
        raise ValueError(f"projection expects [N >= 2, D] points, got shape {x.shape}")
    if method == "pca":
        xc = x - x.mean(0)
        _, _, vt = np.linalg.svd(xc, full_matrices=False)
        xy = xc @ vt[:2].T
    elif method == "tsne":
        from sklearn.manifold import TSNE

        xy = TSNE(2, perplexity=min(30, len(x) - 1), random_state=seed, init="pca").fit_transform(x)
    else:
        raise ValueError(f"method must be 'pca' or 'tsne', got {method!r}")
    fig, ax = plt.subplots(figsize=(7, 6))
    if groups is not None:
        groups = list(groups)
        for g in dict.fromkeys(groups):
            idx = [i for i, gi in enumerate(groups) if gi == g]
            ax.scatter(xy[idx, 0], xy[idx, 1], s=18, label=str(g))
        ax.legend(fontsize=8)
    else:
        ax.scatter(xy[:, 0], xy[:, 1], s=18)
    if labels is not None:
        for (px, py), text in zip(xy, labels):
            ax.annotate(str(text), (px, py), fontsize=8, xytext=(2, 2), textcoords="offset points")
    ax.set_title(title or f"2-D projection ({method.upper()})")
    fig.tight_layout()
    return fig
