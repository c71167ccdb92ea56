"""The cache directory: checked for writability with a clear error, written atomically."""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from .. import config
from ..i18n import _
from .errors import CacheNotWritable


def ensure_writable_dir(path: Path) -> Path:
    """Create ``path`` if needed and check that files can be written there.

    >>> import tempfile, pathlib
    >>> ensure_writable_dir(pathlib.Path(tempfile.mkdtemp()) / "a").is_dir()
    True
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise CacheNotWritable(
            _("The course data cache {path} is not writable ({kind}: {error}).\n"
              "Fix: point {env} at a writable folder, e.g. "
              "`export {env}=$HOME/course-data` (in a notebook: "
              "os.environ['{env}'] = '/path/to/folder' before loading data).",
              path=path, kind=type(exc).__name__, error=exc, env=config.DATA_DIR_ENV)
        ) from exc
    return path


@contextlib.contextmanager
def atomic_target(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; on success it is renamed onto ``target``.

    >>> import tempfile, pathlib; t = pathlib.Path(tempfile.mkdtemp()) / "x.txt"
    >>> with atomic_target(t) as tmp: _ = tmp.write_text("hi")
    >>> t.read_text()
    'hi'
    """
    ensure_writable_dir(target.parent)
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(
            tmp, 0o666 & ~_umask()
        )  # mkstemp makes 0600; cache files get the usual permissions
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def try_save(target: Path, write: Callable[[Path], object]) -> bool:
    """Atomically write a convenience cache with ``write(tmp)``; warn (don't fail) if impossible.

    >>> import tempfile, pathlib
    >>> try_save(pathlib.Path(tempfile.mkdtemp()) / "y", lambda p: p.write_text("1"))
    True
    """
    try:
        with atomic_target(target) as tmp:
            write(tmp)
        return True
    except (CacheNotWritable, OSError) as exc:
        warnings.warn(
            _("Could not write the cache file {path}: {error}. Loading still works, only slower.",
              path=target, error=exc),
            stacklevel=3,
        )
        return False
