"""The kept SQLite population of ``bench.reports``, copied into a PostgreSQL schema.

    python -m bench.report_copy --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Loading the demo into PostgreSQL takes over an hour on a busy two-core machine; copying
the SQLite population (``var/bench/reports-...db``, migrated to head by a run of
``bench.reports`` first) takes minutes, and both databases then hold the very same
rows. The schema is the one ``bench.reports --database-url`` looks for, created at the
head revision, filled table by table with ``COPY``, its sequences moved past the copied
ids, vacuumed and analyzed, then marked complete.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from psycopg.types.json import Jsonb
from sqlalchemy import JSON, Engine, Table, create_engine, make_url, select, text

from bench.report_population import _DONE, _FOLDER, _name, analyze
from engine.store.sql import upgrade
from engine.store.sql.db import make_engine
from engine.store.sql.tables import Base


def _copy_table(source: Engine, target: Engine, table: Table) -> int:
    """Every row of ``table`` from ``source`` into ``target`` by COPY; how many."""
    names = [c.name for c in table.columns]
    jsons = {i for i, c in enumerate(table.columns) if isinstance(c.type, JSON)}
    copied = 0
    columns = ", ".join(f'"{n}"' for n in names)
    with source.connect() as reading, target.begin() as writing:
        cursor: Any = writing.connection.driver_connection.cursor()  # type: ignore[union-attr]
        rows = reading.execute(select(table).execution_options(yield_per=20_000))
        with cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row([Jsonb(v) if i in jsons else v for i, v in enumerate(row)])
                copied += 1
        for column in table.primary_key.columns:
            if column.autoincrement is True:
                writing.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', "
                        f"'{column.name}'), coalesce(max(\"{column.name}\"), 0) + 1, false) "
                        f'FROM "{table.name}"'
                    )
                )
    return copied


def copy_population(database_url: str, customers: int, seed: int, enrollments: int) -> str:
    """The kept SQLite population copied into its PostgreSQL schema; the schema's URL."""
    name = _name(customers, seed, enrollments)
    sqlite_path = (_FOLDER / f"{name}.db").resolve()
    if not sqlite_path.exists():
        raise SystemExit(f"no kept SQLite population at {sqlite_path}: run bench.reports first")
    schema = name.replace("-", "_")
    admin = create_engine(database_url)
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = (
        make_url(database_url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )
    upgrade(url)
    source, target = make_engine(f"sqlite:///{sqlite_path}"), make_engine(url)
    try:
        for table in Base.metadata.sorted_tables:
            started = time.perf_counter()
            n = _copy_table(source, target, table)
            print(f"{table.name}: {n:,} rows in {time.perf_counter() - started:.1f} s", flush=True)
        analyze(target)
        with admin.begin() as conn:
            conn.execute(text(f"COMMENT ON SCHEMA \"{schema}\" IS '{_DONE}'"))
    finally:
        source.dispose()
        target.dispose()
        admin.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--enrollments", type=int, default=100_000)
    args = parser.parse_args()
    copy_population(args.database_url, args.customers, args.seed, args.enrollments)


if __name__ == "__main__":
    main()
