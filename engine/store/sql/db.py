"""Engines and sessions for the SQL store, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.orm import Session, sessionmaker

from engine.store.sql.tables import Base
from rules.sql.sqlite import register_functions as register_rule_functions

UpsertInsert = postgresql.Insert | sqlite.Insert
#: How long a statement waits for a lock SQLite holds (rare in WAL mode) and a writer
#: waits for the write lock (``_begin``) before "database is locked".
BUSY_TIMEOUT_MS = 5000
WRITE_WAIT_SECONDS = BUSY_TIMEOUT_MS / 1000
#: Execution option marking connections that will write (see ``_begin``).
WRITE_OPTION = "carepath_write"


#: Connections kept per process, and how many more may open under a burst. A worker
#: runs 32 activity threads and the API a threadpool of 40: with SQLAlchemy's default
#: (5 + 10) every burst closed and reopened connections (and re-ran the pragmas).
#: PostgreSQL counts connections against max_connections (100 by default), so it
#: keeps fewer.
SQLITE_POOL = (20, 40)
POSTGRES_POOL = (10, 20)


def json_text(value: Any) -> str:
    """A JSON document as the store writes it: characters as themselves, not ``\\uXXXX``
    escapes. SQLite's ``json_extract`` matches a key by its text, so ``$."会员等级"``
    finds nothing under an escaped key (SQLAlchemy's default, ``json.dumps``). A string
    that cannot be UTF-8 (a lone surrogate) keeps the escapes."""
    found = json.dumps(value, ensure_ascii=False)
    try:
        found.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(value)
    return found


def make_engine(url: str) -> Engine:
    """A pooled engine; on PostgreSQL with pre-ping (a server may drop idle connections),
    on SQLite with WAL, a busy timeout and enforced FKs (a file is never "dropped", so a
    ping per checkout would only cost a query)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        size, overflow = POSTGRES_POOL
        return create_engine(
            url,
            pool_pre_ping=True,
            pool_size=size,
            max_overflow=overflow,
            json_serializer=json_text,
        )
    ensure_sqlite_folder(url)
    size, overflow = SQLITE_POOL
    engine = create_engine(url, pool_size=size, max_overflow=overflow, json_serializer=json_text)
    event.listen(engine, "connect", _sqlite_connect)
    event.listen(engine, "begin", _begin)
    return engine


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of a SQLite file (``var/``, owner-only) and the file itself
    (owner-only) when they are missing."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database)
    if not path.parent.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # The database holds patients' phone numbers: created 0600 here, before SQLite
    # would create it with the process umask (often world-readable). SQLite gives its
    # -wal and -shm files the database file's permissions.
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


#: How much of a SQLite database is read through a memory map.
MMAP_BYTES = 1 << 30


def _sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    # Take BEGIN over from the sqlite3 module (it would only emit it before the first
    # write, so reads before it would not be part of the transaction).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        f"busy_timeout={BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
        # Reads through a memory map instead of a read() and a copy per page: the reports
        # scan hundreds of megabytes of index (10-30 % off each at 100,000 customers,
        # bench/README.md). Address space only; the pages are the OS cache's.
        f"mmap_size={MMAP_BYTES}",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()
    # SQL functions of compiled rules (PostgreSQL has them from migration 0006).
    register_rule_functions(dbapi_connection)


def _begin(conn: Connection) -> None:
    # A writer takes SQLite's write lock up front: a deferred transaction that read
    # first and then tries to write fails at once with SQLITE_BUSY when another writer
    # got in between. Readers keep a WAL snapshot and never wait.
    immediate = conn.get_execution_options().get(WRITE_OPTION, False)
    if not immediate:
        conn.exec_driver_sql("BEGIN")
        return
    # Waiting for the lock is done here, not by SQLite's busy handler: that one sleeps
    # 1, 2, 5, 10, ... up to 100 ms between tries, so a writer of another process (the
    # API beside a worker) often slept long after the lock was free, and activities
    # took hundreds of milliseconds to write a row. Short, steady polls hand the lock
    # over within a millisecond or two.
    raw = conn.connection.driver_connection
    assert raw is not None
    raw.execute("PRAGMA busy_timeout=0")
    try:
        deadline = time.monotonic() + WRITE_WAIT_SECONDS
        pause = 0.0002
        while True:
            try:
                raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 0.002)
    finally:
        raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


class Sessions:
    """Read and write sessions over one engine."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name
        self.read = sessionmaker(self.engine, expire_on_commit=False)
        self._write = sessionmaker(
            self.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        # SQLite has one writer at a time. Threads of this process queue for it on a
        # lock, woken the moment the writer before them commits; left to SQLite, each
        # would poll the file lock with sleeps of up to 100 ms, and under load some
        # requests waited seconds while the lock sat free. Other processes still meet
        # SQLite's busy timeout. PostgreSQL's writers only lock the rows they touch.
        self._write_lock = threading.RLock() if self.dialect == "sqlite" else None

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A session whose transaction takes the write lock at BEGIN (see ``_begin``)."""
        with self._write_lock or nullcontext(), self._write() as session:
            yield session

    def insert(self, table: type[Base]) -> UpsertInsert:
        """``INSERT`` for the current dialect, with ``ON CONFLICT`` support."""
        if self.dialect == "postgresql":
            return postgresql.insert(table)
        return sqlite.insert(table)

    def insert_ignore(
        self, session: Session, table: type[Base], rows: Iterable[Mapping[str, Any]]
    ) -> int:
        """Insert rows, skipping those that clash with a unique key; how many went in."""
        # RETURNING says whether the row went in: rowcount is not reliable for ORM
        # statements (psycopg reports -1 for INSERT ... ON CONFLICT DO NOTHING).
        key = inspect(table).primary_key
        inserted = 0
        for row in rows:
            stmt = self.insert(table).values(**row).on_conflict_do_nothing().returning(*key)
            inserted += session.execute(stmt).first() is not None
        return inserted

    def ping(self) -> None:
        """One round trip to the database; raises when it cannot be reached."""
        with self.read() as session, session.begin():
            session.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
