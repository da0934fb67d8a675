"""Every SQLite connection of the store is set up the same way: WAL, foreign keys, and
reads through a memory map (what the reports' figures in bench/README.md assume)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from engine.store.sql import SqlStore
from engine.store.sql.db import MMAP_BYTES


def test_a_connection_has_wal_foreign_keys_and_a_memory_map(tmp_path: Path) -> None:
    store = SqlStore(f"sqlite:///{tmp_path / 'store.db'}")
    try:
        with store._db.engine.connect() as conn:
            pragmas = {
                name: conn.execute(text(f"PRAGMA {name}")).scalar_one()
                for name in ("journal_mode", "foreign_keys", "mmap_size")
            }
    finally:
        store.close()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "mmap_size": MMAP_BYTES}
