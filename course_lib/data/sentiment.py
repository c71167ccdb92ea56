"""Rotten Tomatoes review snippets (fresh = 1, rotten = 0) with a fixed stratified 80/10/10 split.

Text: raw English sentences as written by the critics -- not tokenised, mixed case, with
punctuation and Unicode quotes/dashes. The loader decodes the few HTML entities (``&amp;`` ->
``&``) and collapses runs of whitespace (and leading/trailing spaces), nothing else. Rows that are
plot summaries are dropped; duplicate texts are kept once (a text seen with both labels would be
dropped entirely -- there are none).

The split is the same on every machine: within each class, texts are ordered by
``sha256(f"{seed}:{text}")`` and cut 10 % test / 10 % validation / 80 % train; each split is then
ordered by a second hash, ``sha256(f"order:{seed}:{text}")``, so the classes are well mixed
(the first N examples are a fair sample). No random-number generator is involved.
"""

from __future__ import annotations

import bz2
import csv
import hashlib
import html
import io
from dataclasses import dataclass, field

import numpy as np

from ..i18n import _
from .registry import reading_carrier
from .resolve import carrier_bytes

LABEL_NAMES = ("negative (rotten)", "positive (fresh)")
_LABELS = {"rotten": 0, "fresh": 1}


@dataclass
class TextSplit:
    """Texts and their int64 labels (same length)."""

    texts: list[str]
    labels: np.ndarray

    def __post_init__(self) -> None:
        self.labels = np.asarray(self.labels, dtype=np.int64)
        if self.labels.ndim != 1 or len(self.labels) != len(self.texts):
            raise ValueError(_("{n} texts but labels of shape {shape}", n=len(self.texts),
                               shape=self.labels.shape))

    def __len__(self) -> int:
        return len(self.texts)


@dataclass
class SentimentData:
    """Train / validation / test splits of the Rotten Tomatoes snippets."""

    train: TextSplit
    val: TextSplit
    test: TextSplit
    label_names: tuple[str, str] = field(default=LABEL_NAMES)


def _clean_text(text: str) -> str:
    """Decode HTML entities and collapse whitespace.

    >>> _clean_text("  Harry &amp; Tonto\\n rocks ")
    'Harry & Tonto rocks'
    """
    return " ".join(html.unescape(text).split())


def _read_reviews() -> tuple[list[str], list[int]]:
    """All unique review snippets (plot rows removed) and their labels, in file order."""
    with reading_carrier("sentiment"):
        raw = bz2.decompress(carrier_bytes("sentiment")).decode("utf-8")
    first_label: dict[str, int] = {}
    conflicting: set[str] = set()
    for row in csv.DictReader(io.StringIO(raw, newline="")):
        if row["category"] not in _LABELS:
            continue  # "plot" rows are movie synopses, not reviews
        text = _clean_text(row["text"])
        if not text:
            continue
        label = _LABELS[row["category"]]
        if first_label.setdefault(text, label) != label:
            conflicting.add(text)
    texts = [t for t in first_label if t not in conflicting]
    return texts, [first_label[t] for t in texts]


def load_movie_plots() -> list[str]:
    """The corpus file's unlabelled plot summaries (the rows the reviews loader drops), unique, in file order.

    Real English movie synopses (~110 words each), useful as unlabelled text, e.g. as transfer data
    for knowledge distillation (notebook 09). Cleaned like the reviews.

    >>> plots = load_movie_plots(); len(plots)
    1083
    """
    with reading_carrier("sentiment"):
        raw = bz2.decompress(carrier_bytes("sentiment")).decode("utf-8")
    seen: dict[str, None] = {}
    for row in csv.DictReader(io.StringIO(raw, newline="")):
        if row["category"] == "plot":
            text = _clean_text(row["text"])
            if text:
                seen.setdefault(text)
    return list(seen)


def load_sentiment(seed: int = 0) -> SentimentData:
    """Rotten Tomatoes sentiment with a reproducible stratified 80/10/10 split.

    >>> d = load_sentiment(); (len(d.train), len(d.val), len(d.test))
    (10202, 1275, 1275)
    """
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(_("seed must be an int, got {type}", type=type(seed).__name__))
    texts, labels = _read_reviews()
    key = {t: hashlib.sha256(f"{seed}:{t}".encode()).digest() for t in texts}
    parts: dict[str, list[tuple[str, int]]] = {"train": [], "val": [], "test": []}
    for cls in (0, 1):
        ordered = sorted((t for t, y in zip(texts, labels) if y == cls), key=key.__getitem__)
        n_eval = int(len(ordered) * 0.1 + 0.5)
        parts["test"] += [(t, cls) for t in ordered[:n_eval]]
        parts["val"] += [(t, cls) for t in ordered[n_eval : 2 * n_eval]]
        parts["train"] += [(t, cls) for t in ordered[2 * n_eval :]]

    def make(rows: list[tuple[str, int]]) -> TextSplit:  # order by a second, independent hash
        rows.sort(key=lambda r: hashlib.sha256(f"order:{seed}:{r[0]}".encode()).digest())
        return TextSplit([t for t, _ in rows], np.array([y for _, y in rows], dtype=np.int64))

    return SentimentData(make(parts["train"]), make(parts["val"]), make(parts["test"]))
