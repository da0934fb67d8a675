"""The reports benchmark's population, loaded once and kept between runs.

``carepath demo-data --customers N --seed S --today ANCHOR`` writes the demo chain
(about 20 events per customer over the 180 days before the anchor), then
:func:`bench.report_enrollments.top_up` brings ``school_screening_parents`` to the
enrollments asked for, then ``ANALYZE``. Loading 100,000 customers takes tens of
minutes, so the result is kept:

- SQLite: ``var/bench/reports-<N>-<S>-<ANCHOR>-<enrollments>-v<VERSION>.db``, written
  under a ``.loading`` name and renamed when complete;
- PostgreSQL: a schema of the same name (``reports_...``) on the server of
  ``--database-url``, marked complete by a comment on the schema when loaded.

The anchor is fixed (:data:`ANCHOR`), so a kept population stays valid from day to day;
:data:`VERSION` changes when the way it is loaded changes. Every run migrates the kept
database to the current head first (a migration that adds indexes builds them then).
``--refresh`` loads it again; deleting the file or dropping the schema does too.
"""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import date, datetime
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, create_engine, make_url, text

from bench.report_enrollments import top_up
from engine.store.sql import SqlStore, upgrade
from engine.store.sql.db import make_engine

__all__ = ["ANCHOR", "VERSION", "analyze", "anchor_instant", "kept_population"]

#: The demo's anchor day (``--today``): the 180 days before it are the data.
ANCHOR = date(2027, 1, 1)
#: Changes when the population step changes, so older kept populations are not reused.
VERSION = 1
_FOLDER = Path("var/bench")
_DONE = "carepath reports benchmark population: complete"


def anchor_instant() -> datetime:
    """The anchor's first instant (midnight, Asia/Shanghai), as the demo takes it."""
    return datetime.combine(ANCHOR, clock(), ZoneInfo("Asia/Shanghai"))


def _name(customers: int, seed: int, enrollments: int) -> str:
    return f"reports-{customers}-{seed}-{ANCHOR.isoformat()}-{enrollments}-v{VERSION}"


def _load(url: str, customers: int, seed: int, enrollments: int) -> None:
    """Demo data, more enrollments, statistics."""
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "cli",
        "demo-data",
        "--customers",
        str(customers),
        "--seed",
        str(seed),
        "--today",
        ANCHOR.isoformat(),
        "--database-url",
        url,
    ]
    print("loading: carepath", " ".join(command[3:]), flush=True)
    subprocess.run(command, check=True)
    store = SqlStore(url)
    engine = make_engine(url)
    try:
        threads = 1 if engine.dialect.name == "sqlite" else 6
        added = top_up(store, engine, enrollments, anchor_instant(), seed, threads)
        analyze(engine)
    finally:
        store.close()
        engine.dispose()
    print(
        f"population loaded in {time.perf_counter() - started:.0f} s ({added:,} enrollments added)",
        flush=True,
    )


def analyze(engine: Engine) -> None:
    """Statistics for the planner; PostgreSQL also vacuums, so that index-only scans
    find the loaded pages all-visible (as autovacuum leaves a live store)."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def _sqlite(customers: int, seed: int, enrollments: int, refresh: bool) -> str:
    path = (_FOLDER / f"{_name(customers, seed, enrollments)}.db").resolve()
    if refresh:
        path.unlink(missing_ok=True)
    if not path.exists():
        loading = path.with_suffix(".loading.db")
        for stale in (loading, Path(f"{loading}-wal"), Path(f"{loading}-shm")):
            stale.unlink(missing_ok=True)
        _load(f"sqlite:///{loading}", customers, seed, enrollments)
        loading.rename(path)
    return f"sqlite:///{path}"


def _postgresql(
    database_url: str, customers: int, seed: int, enrollments: int, refresh: bool, options: str
) -> str:
    schema = _name(customers, seed, enrollments).replace("-", "_")
    admin = create_engine(database_url)
    try:
        with admin.begin() as conn:
            note = conn.scalar(
                text(
                    "SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                    "WHERE nspname = :s"
                ),
                {"s": schema},
            )
            exists = conn.scalar(
                text("SELECT count(*) FROM pg_namespace WHERE nspname = :s"), {"s": schema}
            )
            if exists and (refresh or note != _DONE):
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                exists = 0
            if not exists:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        scoped = make_url(database_url).update_query_dict(
            {"options": f"-csearch_path={schema} {options}".strip()}
        )
        url = scoped.render_as_string(hide_password=False)
        if note != _DONE or refresh:
            upgrade(url)
            _load(url, customers, seed, enrollments)
            with admin.begin() as conn:
                conn.execute(text(f"COMMENT ON SCHEMA \"{schema}\" IS '{_DONE}'"))
        return url
    finally:
        admin.dispose()


def kept_population(
    customers: int,
    seed: int,
    enrollments: int,
    database_url: str | None,
    refresh: bool,
    pg_options: str = "",
) -> str:
    """The URL of the kept population (loaded first when missing), migrated to head and
    analyzed again when a migration ran; ``pg_options``: more server settings for the
    sessions (``-c jit=off``)."""
    if database_url:
        url = _postgresql(database_url, customers, seed, enrollments, refresh, pg_options)
    else:
        _FOLDER.mkdir(parents=True, exist_ok=True)
        url = _sqlite(customers, seed, enrollments, refresh)
    before = _revision(url)
    upgrade(url)
    if _revision(url) != before:
        engine = make_engine(url)
        try:
            analyze(engine)
        finally:
            engine.dispose()
        print(f"migrated the kept population from {before} to {_revision(url)}", flush=True)
    return url


def _revision(url: str) -> str:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())
    finally:
        engine.dispose()
