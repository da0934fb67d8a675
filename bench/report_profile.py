"""Where a report spends its time: each statement it runs, how long it took, and the
database's plan for it.

    python -m bench.report_profile --use URL [--only active,funnel] [--days 30]
                                   [--analyze]

``--use`` is a database as it is, e.g. the kept population of ``bench.reports``
(``sqlite:///var/bench/reports-100000-1-2027-01-01-100000-v1.db``). Each report of
:mod:`bench.report_cases` runs once to warm the caches, then once more with every
statement timed (``before/after_cursor_execute``); the plan of each statement follows:
``EXPLAIN QUERY PLAN`` on SQLite, ``EXPLAIN`` on PostgreSQL (``--analyze``: ``EXPLAIN
(ANALYZE, BUFFERS)``, which runs the statement again).
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from typing import Any

from sqlalchemy import Engine, event

from bench.measure import machine
from bench.report_cases import cases
from bench.report_population import ANCHOR
from engine.models.reports.scope import ReportScope
from engine.store.sql import SqlStore
from engine.workspace.events import deployed_roles

Statement = tuple[float, str, Any]


def _recorded(engine: Engine, run: Any) -> list[Statement]:
    """The statements ``run`` executed on ``engine``: (seconds, SQL, parameters)."""
    found: list[Statement] = []
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        found.append((time.perf_counter() - started.pop(), statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "after_cursor_execute", after)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "after_cursor_execute", after)
    return [s for s in found if not s[1].lstrip().upper().startswith(("BEGIN", "PRAGMA", "SET"))]


def _plan(engine: Engine, statement: str, parameters: Any, analyze: bool) -> list[str]:
    sqlite = engine.dialect.name == "sqlite"
    prefix = (
        "EXPLAIN QUERY PLAN "
        if sqlite
        else "EXPLAIN (ANALYZE, BUFFERS) "
        if analyze
        else "EXPLAIN "
    )
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(prefix + statement, parameters)
        rows = cursor.fetchall()
    finally:
        raw.close()
    if sqlite:
        return [f"{row[0]:>4} {row[1]:>4} {row[3]}" for row in rows]
    return [str(row[0]) for row in rows]


def main(args: argparse.Namespace) -> None:
    print(f"bench.report_profile; {machine()}")
    store = SqlStore(args.use)
    engine = store._db.engine  # the store's own engine: its statements are the report's
    try:
        scope = ReportScope(
            start=ANCHOR - dt.timedelta(days=args.days),
            end=ANCHOR,
            timezone="Asia/Shanghai",
            roles=deployed_roles(store),
        )
        for case in cases(store, scope):
            if args.only and not any(case.name.startswith(o) for o in args.only):
                continue
            case.report()
            total = time.perf_counter()
            statements = _recorded(engine, case.report)
            total = time.perf_counter() - total
            print(f"\n== {case.name}: {total * 1000:.1f} ms, {len(statements)} statements")
            for seconds, statement, parameters in statements:
                print(f"\n-- {seconds * 1000:.1f} ms\n{statement}\n-- parameters: {parameters}")
                for line in _plan(engine, statement, parameters, args.analyze):
                    print(f"   {line}")
    finally:
        store.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--use", required=True, metavar="URL", help="the database to read")
    parser.add_argument("--only", type=lambda s: s.split(","), default=None)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--analyze", action="store_true", help="PostgreSQL: EXPLAIN ANALYZE")
    main(parser.parse_args())
