"""Command line: ``python -m course_lib.data status`` and ``... fetch NAME``."""

from __future__ import annotations

import argparse
import sys
import unicodedata

from .. import config
from ..i18n import _
from . import registry
from .errors import DataUnavailable
from .inventory import SourceStatus, status
from .resolve import fetch_source


def _size(n: int | None) -> str:
    if n is None:
        return "-"
    value, unit = float(n), "B"
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            break
        value /= 1000
    return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"


def _ljust(text: str, width: int) -> str:
    """``text`` padded to ``width`` terminal columns (a Chinese character takes two).

    >>> _ljust("缺失", 6) + "|"
    '缺失  |'
    """
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)
    return text + " " * max(0, width - len(text) - wide)


def format_status(rows: list[SourceStatus]) -> str:
    """The status rows as a text table, with the fix under each missing source."""
    width = max(len(r.name) for r in rows)
    lines = []
    for r in rows:
        state = _("present") if r.present else (_("DAMAGED") if r.problem else _("MISSING")
                                                if r.required else _("missing (optional)"))
        lines.append(
            f"{r.name:<{width}}  {_ljust(state, 18)}  {r.route or '-':<7}  {_size(r.size_bytes):>8}  "
            f"{r.location or r.description}"
        )
        if r.problem:
            lines.append(f"{'':<{width}}  {r.problem}")
        if not r.present:
            lines.append(f"{'':<{width}}  " + _("fix: {fix}", fix=r.fix))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 something missing or failed)."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "status", help=_("list every dataset/model: present or missing, route, location, size")
    )
    fetch_cmd = sub.add_parser("fetch", help=_("download one source into the cache (checksummed)"))
    fetch_cmd.add_argument("name", choices=[n for n, s in registry.SOURCES.items() if s.downloads])
    args = parser.parse_args(argv)

    if args.command == "status":
        rows = status(include_optional=True)
        print(_("data cache: {path}  (set {env} to move it)", path=config.data_dir(),
                env=config.DATA_DIR_ENV))
        print(format_status(rows))
        return 0 if all(r.present for r in rows if r.required) else 1
    try:
        paths = fetch_source(registry.get_source(args.name)).paths
    except DataUnavailable as exc:
        print(_("error: {error}", error=exc), file=sys.stderr)
        return 1
    for p in paths:
        print(f"ok  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
