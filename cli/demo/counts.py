"""Row counts of the store, for the demo's summary and its checks.

The store has no counting methods (nothing in the service needs a table's size), so
this reads through the store's own sessions, as ``engine.store.sql.audience`` does.
"""

from __future__ import annotations

from sqlalchemy import func, select

from engine.store.sql import SqlStore
from engine.store.sql.tables import Base, CustomerRow

__all__ = ["customer_count", "table_counts"]


def customer_count(store: SqlStore) -> int:
    """Customers in the store, merged ones included (0: a new database)."""
    with store._db.read() as s, s.begin():
        return int(s.scalar(select(func.count()).select_from(CustomerRow)) or 0)


def table_counts(store: SqlStore) -> dict[str, int]:
    """Rows of every table of the store, by table name."""
    counts: dict[str, int] = {}
    with store._db.read() as s, s.begin():
        for name, table in sorted(Base.metadata.tables.items()):
            counts[name] = int(s.scalar(select(func.count()).select_from(table)) or 0)
    return counts
