"""JSON documents on SQLite with their characters, not ``\\uXXXX`` escapes.

Revision ID: 0021
Revises: 0020
Create Date: 2027-03-10

SQLAlchemy wrote JSON with ``json.dumps``, which escapes every character outside
ASCII, and SQLite's ``json_extract`` matches a key by its text: a segment rule on the
attribute ``会员等级`` or a funnel step filtered on an event property with a Chinese
name found nothing on SQLite (PostgreSQL's JSONB stores the characters). The store now
writes JSON with the characters themselves (``engine.store.sql.db.json_text``); this
migration rewrites the documents whose keys users name in rules, filters and reports:
customers' attributes, events' properties and touches' fields, where they hold an
escape. PostgreSQL has nothing to rewrite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from engine.store.sql.db import json_text

revision: str = "0021"
down_revision: str | Sequence[str] | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, key column, JSON column)
DOCUMENTS = (
    ("customers", "id", "attributes"),
    ("customers", "id", "source"),
    ("events", "id", "properties"),
    ("touches", "id", "fields"),
)


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    for table, key, column in DOCUMENTS:
        _rewrite(conn, table, key, column)


def downgrade() -> None:
    """Nothing: escaped and plain text are the same JSON to every reader but this one."""


def _rewrite(conn: sa.Connection, table: str, key: str, column: str) -> None:
    """Rewrite the documents holding an escape (the backslash found by instr(), nothing
    parsed), a batch of rows at a time in key order."""
    names = {"table": table, "key": key, "column": column}
    # Names from DOCUMENTS only: nothing here comes from outside.
    select = sa.text(
        "SELECT {key}, {column} FROM {table} WHERE {key} > :after"  # noqa: S608
        " AND instr({column}, '\\u') > 0 ORDER BY {key} LIMIT 5000".format(**names)
    )
    update = sa.text("UPDATE {table} SET {column} = :doc WHERE {key} = :key".format(**names))  # noqa: S608
    after: object = "" if table == "customers" else 0
    while batch := conn.execute(select, {"after": after}).all():
        after = batch[-1][0]
        plain = [(k, doc, json_text(json.loads(doc))) for k, doc in batch]
        changed = [{"key": k, "doc": new} for k, doc, new in plain if new != doc]
        if changed:
            conn.execute(update, changed)
