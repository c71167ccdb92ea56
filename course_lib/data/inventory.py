"""Which datasets and models are present, where, and the fix for each missing one (no network)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from . import download as _download
from . import registry
from .errors import DataCorrupt


@dataclass(frozen=True)
class SourceStatus:
    """One row of the setup check: present?, by which route, where, and how to fix it."""

    name: str
    description: str
    present: bool
    route: (
        str | None
    )  # "package" (installed carrier), "cache" (verified download / converted files), None
    location: str | None
    size_bytes: int | None
    fix: str  # a concrete command; shown for missing sources
    required: bool = True
    problem: str | None = None  # e.g. a damaged carrier file (then ``fix`` reinstalls it)


def _common_location(paths: list[Path]) -> str:
    return str(paths[0] if len(paths) == 1 else paths[0].parent)


def source_status(source: registry.Source) -> SourceStatus:
    """The status of one registry entry (carrier, converted files, verified downloads).

    >>> source_status(registry.get_source("gensim-test-data")).route
    'package'
    """

    def row(present: bool, route: str | None, paths: list[Path]) -> SourceStatus:
        return SourceStatus(
            name=source.name,
            description=source.description,
            present=present,
            route=route,
            location=_common_location(paths) if paths else None,
            size_bytes=sum(p.stat().st_size for p in paths) if paths else None,
            fix=registry.fix_for(source),
            required=source.required,
        )

    try:
        carrier = registry.carrier_paths(source)
    except DataCorrupt as exc:
        return SourceStatus(name=source.name, description=source.description, present=False,
                            route=None, location=None, size_bytes=None,
                            fix=registry.reinstall_command(source), required=source.required,
                            problem=str(exc).splitlines()[0])
    if carrier is not None:
        return row(True, "package", carrier)
    prepared = registry.prepared_paths(source)
    if prepared and all(p.is_file() for p in prepared):
        return row(True, "cache", prepared)
    if source.downloads and all(_download.is_cached(d) for d in source.downloads):
        return row(True, "cache", [registry.cache_path(d) for d in source.downloads])
    return row(False, None, [])


def status(include_optional: bool = False) -> list[SourceStatus]:
    """One row per registry entry (optional ones such as IMDB only with ``include_optional=True``)."""
    return [source_status(s) for s in registry.SOURCES.values() if s.required or include_optional]
