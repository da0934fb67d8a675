"""``carepath costs import FILE.csv``: cost rows from ad platforms into the store.

The file has a header row naming its columns: ``date`` and ``amount``, and any of the
dimensions (``utm_source``, ``utm_medium``, ``utm_campaign``, ``utm_term``,
``utm_content``, ``channel``, ``activity``, ``clinic_id``) and ``impressions``,
``clicks``. Every row is checked before anything is written: one bad row refuses the
file, naming its line and column, and writes nothing. A row with the day and dimensions
of a stored row replaces it, so importing a corrected file again is safe.
"""

from __future__ import annotations

import argparse
import csv
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from engine.errors import CarepathError
from engine.models.events import COST_DIMENSIONS, Cost

if TYPE_CHECKING:
    from engine.store.sql import SqlStore

__all__ = ["COLUMNS", "add_parser", "main", "read_costs"]

COLUMNS: tuple[str, ...] = ("date", "amount", *COST_DIMENSIONS, "impressions", "clicks")
_DATABASE_HELP = "SQLAlchemy URL (default: CAREPATH_DATABASE__URL, else sqlite:///var/carepath.db)"


class _Refused(CarepathError):
    """Raised when a cost file cannot be imported; the message names each line and column.

    Private, like ``cli.segment._Invalid``: printed by ``main``, never raised beyond it."""


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``costs`` and its subcommands with the ``carepath`` parser."""
    costs = commands.add_parser(
        "costs",
        help="import ad spend (cost rows) for cost per customer and ROI",
        description="Cost rows: a day's spend on the dimensions it names.",
    )
    costs.set_defaults(costs_parser=costs)
    actions = costs.add_subparsers(dest="costs_command", metavar="ACTION")
    importing = actions.add_parser(
        "import",
        help="import a CSV file of cost rows (all or nothing)",
        description=(
            "Import FILE.csv: a header row, then one row per day and dimensions.\n"
            f"Columns: {', '.join(COLUMNS)} (date and amount required).\n"
            "One bad row refuses the whole file and writes nothing; a row with the day and\n"
            "dimensions of a stored row replaces it."
        ),
        epilog="example:\n  carepath costs import baidu-2026-03.csv",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    importing.add_argument("file", metavar="FILE.csv", help="the CSV file (UTF-8)")
    importing.add_argument("--database-url", metavar="URL", help=_DATABASE_HELP)


def read_costs(path: Path) -> list[Cost]:
    """Every row of the file as a Cost; _Refused listing each bad line and column."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets write a BOM
    except (OSError, UnicodeDecodeError) as exc:
        raise _Refused(f"{path}: cannot read the file ({exc})") from None
    reader = csv.DictReader(text.splitlines())
    header = reader.fieldnames or []
    unknown = [c for c in header if c not in COLUMNS]
    missing = [c for c in ("date", "amount") if c not in header]
    if unknown or missing:
        what = [f"unknown column {c!r}" for c in unknown] + [f"no column {c!r}" for c in missing]
        raise _Refused(f"{path}:1: {'; '.join(what)} (columns: {', '.join(COLUMNS)})")
    costs: list[Cost] = []
    problems: list[str] = []
    for row in reader:
        line = reader.line_num
        if None in row:
            problems.append(f"{path}:{line}: more cells than the header names")
            continue
        values = {k: v for k, v in row.items() if v is not None and v.strip() != ""}
        try:
            costs.append(Cost.model_validate(values))
        except ValidationError as exc:
            for error in exc.errors(include_url=False):
                column = ".".join(str(p) for p in error["loc"]) or "row"
                problems.append(f"{path}:{line}: column {column}: {error['msg']}")
    if problems:
        raise _Refused("\n".join(problems))
    return costs


def _open(url: str) -> SqlStore:
    # Imported here: `carepath --help` should not load SQLAlchemy and Alembic.
    from engine.store.sql import SqlStore, upgrade

    upgrade(url)
    return SqlStore(url)


def _url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    from engine.settings import get_settings

    return get_settings().database.url


def main(args: argparse.Namespace) -> int:
    """Run ``carepath costs ...``; return the exit code."""
    if args.costs_command != "import":
        args.costs_parser.print_help()
        return 2
    path = Path(args.file)
    try:
        costs = read_costs(path)
    except _Refused as exc:
        print(f"{exc}\nnothing was imported", file=sys.stderr)
        return 2
    store = _open(_url(args))
    try:
        written = store.put_costs(costs, source=f"cli:{path.name}", at=datetime.now(UTC))
    finally:
        store.close()
    print(
        f"imported {len(costs)} rows from {path}: {written.created} new, "
        f"{written.replaced} replaced"
    )
    return 0
