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

from sqlalchemy import create_engine, make_url, text

from bench.report_enrollments import top_up
from engine.store.sql import SqlStore, upgrade
from engine.store.sql.db import make_engine

__all__ = ["ANCHOR", "VERSION", "anchor_instant", "kept_population"]

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
    print("loading:", " ".join(command[3:9]), flush=True)
    subprocess.run(command, check=True)
    store = SqlStore(url)
    engine = make_engine(url)
    try:
        added = top_up(store, engine, enrollments, anchor_instant(), seed)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        store.close()
        engine.dispose()
    print(
        f"population loaded in {time.perf_counter() - started:.0f} s ({added:,} enrollments added)",
        flush=True,
    )


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
    database_url: str, customers: int, seed: int, enrollments: int, refresh: bool
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
        scoped = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
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
    customers: int, seed: int, enrollments: int, database_url: str | None, refresh: bool
) -> str:
    """The URL of the kept population (loaded first when missing), migrated to head."""
    if database_url:
        url = _postgresql(database_url, customers, seed, enrollments, refresh)
    else:
        _FOLDER.mkdir(parents=True, exist_ok=True)
        url = _sqlite(customers, seed, enrollments, refresh)
    upgrade(url)
    return url
