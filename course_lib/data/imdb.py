"""IMDB movie reviews (Maas et al. 2011), download route only: ``aclImdb_v1.tar.gz`` (84 MB).

The archive is verified (sha256) and then *read*, never extracted: only regular-file members named
exactly ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` are used, so no member can write
anywhere (no path traversal, no links). ``<br />`` tags are replaced by a space. Both splits are
converted once into ``data_dir()/imdb/imdb-{train,test}.json`` and ordered by a hash of the
member name, so ``limit=n`` gives a fair (class-mixed) sample.
"""

from __future__ import annotations

import hashlib
import json
import re
import tarfile
from pathlib import Path

from ..i18n import _
from . import registry
from .cache import try_save
from .resolve import resolve
from .sentiment import TextSplit

SPLITS = ("train", "test")
_MEMBER = re.compile(r"aclImdb/(train|test)/(pos|neg)/\d+_\d+\.txt")
_MAX_REVIEW_BYTES = 1 << 20


def load_imdb(split: str = "train", limit: int | None = None) -> TextSplit:
    """IMDB reviews of one split (``"train"`` or ``"test"``), labels 1 = positive, 0 = negative."""
    if split not in SPLITS:
        raise ValueError(_("split must be 'train' or 'test', got {split}", split=repr(split)))
    if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
        raise ValueError(_("limit must be a positive int or None (the whole split), got {limit}",
                           limit=repr(limit)))
    source = registry.get_source("imdb")
    prepared = dict(zip(SPLITS, registry.prepared_paths(source)))
    data = _load_prepared(prepared[split])
    if data is None:
        splits = _read_archive(resolve("imdb").paths[0])
        for name, rows in splits.items():
            try_save(
                prepared[name], lambda tmp, rows=rows: tmp.write_text(json.dumps(rows), "utf-8")
            )
        data = splits[split]
    texts, labels = data["texts"][:limit], data["labels"][:limit]
    return TextSplit(texts, labels)


def _load_prepared(path: Path) -> dict[str, list] | None:
    if not path.is_file():
        return None
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or len(data.get("texts", ())) != len(data.get("labels", [None])):
        return None
    return data


def _read_archive(path: Path) -> dict[str, dict[str, list]]:
    rows: dict[str, list[tuple[bytes, str, int]]] = {s: [] for s in SPLITS}
    with tarfile.open(path, "r:gz") as archive:
        for member in archive:
            match = _MEMBER.fullmatch(member.name)
            if not match or not member.isfile() or member.size > _MAX_REVIEW_BYTES:
                continue
            handle = archive.extractfile(member)
            if handle is None:
                continue
            text = handle.read().decode("utf-8", errors="replace").replace("<br />", " ")
            key = hashlib.sha256(member.name.encode()).digest()
            rows[match.group(1)].append((key, " ".join(text.split()), int(match.group(2) == "pos")))
    out = {}
    for split, items in rows.items():
        items.sort()
        out[split] = {"texts": [t for _, t, _ in items], "labels": [y for _, _, y in items]}
    return out
