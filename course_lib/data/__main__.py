"""Command line: ``python -m course_lib.data status`` and ``... fetch NAME``."""

from __future__ import annotations

import argparse
import sys

from .. import config
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


def format_status(rows: list[SourceStatus]) -> str:
    """The status rows as a text table, with the fix under each missing source."""
    width = max(len(r.name) for r in rows)
    lines = []
    for r in rows:
        state = "present" if r.present else ("DAMAGED" if r.problem else "MISSING" if r.required
                                             else "missing (optional)")
        lines.append(
            f"{r.name:<{width}}  {state:<18}  {r.route or '-':<7}  {_size(r.size_bytes):>8}  "
            f"{r.location or r.description}"
        )
        if r.problem:
            lines.append(f"{'':<{width}}  {r.problem}")
        if not r.present:
            lines.append(f"{'':<{width}}  fix: {r.fix}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; returns the exit status (0 ok, 1 something missing or failed)."""
    parser = argparse.ArgumentParser(prog="python -m course_lib.data", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser(
        "status", help="list every dataset/model: present or missing, route, location, size"
    )
    fetch_cmd = sub.add_parser("fetch", help="download one source into the cache (checksummed)")
    fetch_cmd.add_argument("name", choices=[n for n, s in registry.SOURCES.items() if s.downloads])
    args = parser.parse_args(argv)

    if args.command == "status":
        rows = status(include_optional=True)
        print(f"data cache: {config.data_dir()}  (set {config.DATA_DIR_ENV} to move it)")
        print(format_status(rows))
        return 0 if all(r.present for r in rows if r.required) else 1
    try:
        paths = fetch_source(registry.get_source(args.name)).paths
    except DataUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for p in paths:
        print(f"ok  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
