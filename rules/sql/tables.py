"""The tables the compiled rules read, declared by name only (``rules`` imports nothing of
carepath's): lightweight ``table()``/``column()`` clauses named like the store's tables in
``engine/store/sql/tables/`` (a test checks that every one exists there with these names).

``segment_members`` is read for ``segment`` atoms whose definition is not given: a
customer is a member while a row with ``exited_at IS NULL`` exists.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, DateTime, String, column, table
from sqlalchemy.sql.expression import TableClause

__all__ = ["CONSENTS", "CUSTOMERS", "EVENTS", "SEGMENT_MEMBERS", "TABLES", "TAGS"]

CUSTOMERS = table(
    "customers",
    column("id", String),
    column("attributes", JSON),
    column("source", JSON),
    column("merged_into", String),
)
EVENTS = table(
    "events",
    column("customer_id", String),
    column("name", String),
    column("properties", JSON),
    column("at", DateTime(timezone=True)),
)
TAGS = table("tags", column("customer_id", String), column("tag", String))
CONSENTS = table(
    "consents",
    column("customer_id", String),
    column("purpose", String),
    column("channel", String),
    column("granted", Boolean),
    column("at", DateTime(timezone=True)),
)
SEGMENT_MEMBERS = table(
    "segment_members",
    column("segment_id", String),
    column("customer_id", String),
    column("entered_at", DateTime(timezone=True)),
    column("exited_at", DateTime(timezone=True)),
)

TABLES: tuple[TableClause, ...] = (CUSTOMERS, EVENTS, TAGS, CONSENTS, SEGMENT_MEMBERS)
