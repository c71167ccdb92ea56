"""Checksummed downloads with the standard library only (urllib).

A file is streamed into a temporary file next to its final place, its size and sha256 are checked,
and only then is it renamed (``os.replace``) into the cache -- a half-written or wrong file never
appears under the final name. Each URL is retried a few times with exponential backoff; mirrors are
tried in order; a cached file with the wrong sha256 is replaced by a fresh download.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.client
import time
import urllib.error
import urllib.request
import warnings
from pathlib import Path
from typing import BinaryIO

from ..i18n import _
from .cache import atomic_target, ensure_writable_dir
from .errors import DataUnavailable
from .registry import OFFLINE_ENVS, Download, cache_path, offline_forced

# Module-level defaults (tests shrink them). Read at call time, not bound as default arguments.
TIMEOUT_S = 30.0
RETRIES = 2
BACKOFF_S = 1.0
CHUNK = 1 << 20
USER_AGENT = "course_lib-data/0.1 (python urllib)"

_verified: dict[tuple[str, int, int], str] = {}


class _Failure(Exception):
    """One failed attempt; ``permanent`` failures are not retried on the same URL."""

    def __init__(self, reason: str, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file (memoised per path, size and modification time).

    >>> import tempfile, pathlib; p = pathlib.Path(tempfile.mkdtemp()) / "e"; _ = p.write_bytes(b"")
    >>> sha256_file(p)[:16]
    'e3b0c44298fc1c14'
    """
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _verified:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(CHUNK), b""):
                digest.update(block)
        _verified[key] = digest.hexdigest()
    return _verified[key]


def is_cached(download: Download) -> bool:
    """True if the file is in the cache with the right size and sha256."""
    path = cache_path(download)
    return (
        path.is_file()
        and path.stat().st_size == download.size
        and sha256_file(path) == download.sha256
    )


def download_file(download: Download, *, fix: str = "", progress: bool = True) -> Path:
    """Return the verified cached file, downloading it first if needed (mirrors in order, retries)."""
    target = cache_path(download)
    if target.exists():
        if is_cached(download):
            return target
        warnings.warn(
            _("The cached file {path} is corrupt or incomplete (wrong size or sha256); "
              "downloading it again.", path=target),
            stacklevel=2,
        )
        with contextlib.suppress(OSError):
            target.unlink()
    manual = _(
        "Manual fix: download {url} yourself and save it as {path} "
        "(sha256 {sha256}, {size} bytes).", url=download.urls[0], path=target,
        sha256=download.sha256, size=download.size
    )
    fix_line = _("Fix: {fix}", fix=fix) + "\n" if fix else ""
    if offline_forced():
        raise DataUnavailable(
            _("{file} is not in the cache ({path}) and downloads are switched off "
              "({envs} is set).", file=download.filename, path=target,
              envs=_(" or ").join(OFFLINE_ENVS)) + "\n" + fix_line + manual
        )
    ensure_writable_dir(target.parent)
    tried: list[str] = []
    for url in download.urls:
        for attempt in range(RETRIES + 1):
            try:
                _download_once(url, download, target, progress)
                return target
            except _Failure as failure:
                tried.append(_("{url} (attempt {attempt}): {reason}", url=url,
                               attempt=attempt + 1, reason=failure.reason))
                if failure.permanent:
                    break
                if attempt < RETRIES:
                    time.sleep(BACKOFF_S * 2**attempt)
    raise DataUnavailable(
        _("Could not download {file}. Tried:", file=download.filename) + "\n"
        + "\n".join(f"  - {t}" for t in tried)
        + "\n"
        + fix_line
        + manual
    )


def _download_once(url: str, download: Download, target: Path, progress: bool) -> None:
    if not url.startswith(("http://", "https://")):
        raise _Failure(_("not an http(s) URL"), permanent=True)
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            announced = response.headers.get("Content-Length")
            if (
                announced is not None
                and announced.strip().isdigit()
                and int(announced) != download.size
            ):
                raise _Failure(
                    _("the server announced {announced} bytes, expected {size} "
                      "(a different file)", announced=announced, size=download.size),
                    permanent=True,
                )
            with atomic_target(target) as tmp:
                with open(tmp, "wb") as out:
                    digest, received = _stream(response, out, download, progress)
                if received != download.size:
                    raise _Failure(
                        _("received {received} of {size} bytes (connection cut short)",
                          received=received, size=download.size),
                        permanent=False,
                    )
                if digest != download.sha256:
                    raise _Failure(
                        _("sha256 mismatch (got {got}, expected {expected}); "
                          "the file was discarded", got=digest, expected=download.sha256),
                        permanent=True,
                    )
    except urllib.error.HTTPError as exc:
        raise _Failure(
            _("HTTP {code} {reason}", code=exc.code, reason=exc.reason),
            permanent=400 <= exc.code < 500 and exc.code not in (408, 429),
        ) from None
    except urllib.error.URLError as exc:
        if isinstance(exc.reason, TimeoutError):
            raise _Failure(_("timed out after {seconds:g} s", seconds=TIMEOUT_S),
                           permanent=False) from None
        raise _Failure(_("cannot connect: {reason}", reason=exc.reason), permanent=False) from None
    except TimeoutError:
        raise _Failure(_("timed out after {seconds:g} s", seconds=TIMEOUT_S),
                       permanent=False) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Failure(_("{kind}: {error}", kind=type(exc).__name__, error=exc),
                       permanent=False) from None
    st = target.stat()
    _verified[(str(target.resolve()), st.st_size, st.st_mtime_ns)] = download.sha256


def _stream(
    response: BinaryIO, out: BinaryIO, download: Download, progress: bool
) -> tuple[str, int]:
    from tqdm.auto import tqdm

    digest = hashlib.sha256()
    received = 0
    with tqdm(
        total=download.size,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=download.filename,
        disable=not progress,
        leave=False,
    ) as bar:
        while True:
            chunk = response.read(min(CHUNK, download.size + 1 - received))
            if not chunk:
                break
            received += len(chunk)
            if received > download.size:
                raise _Failure(
                    _("the server sent more than the expected {size} bytes", size=download.size),
                    permanent=True,
                )
            digest.update(chunk)
            out.write(chunk)
            bar.update(len(chunk))
    return digest.hexdigest(), received
