"""Customers found by name: the names that begin with what was typed.

A clinic's staff type a surname or a whole name ("张", "张三"); a prefix match serves
both and reads a B-tree index on the name attribute (migration ``0018``) as a range,
on SQLite and PostgreSQL alike, so it stays fast on a chain's whole pool. The
expression is written exactly as the index is, or the index would not be used.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, func, literal, select

from engine.store.records import CustomerBrief
from engine.store.sql.common import SqlPart
from engine.store.sql.tables import CustomerRow, IdentityRow

#: Most customers one search returns.
MAX_NAMED = 50
#: Sorts after every character a name holds: the end of the prefix's range.
_LAST = "\U0010ffff"


def attribute_text(doc: SQLColumnExpression[Any], key: str, dialect: str) -> ColumnElement[str]:
    """A customer attribute as the name index has it (``json_extract``/``->>``)."""
    if dialect == "sqlite":
        value: ColumnElement[str] = func.json_extract(doc, f"$.{key}")
        return value
    text: ColumnElement[str] = doc.op("->>")(literal(key))
    return text


class NamesPart(SqlPart):
    def customers_named(
        self, prefix: str, *, clinics: Sequence[str] | None = None, limit: int = 20
    ) -> list[tuple[str, str]]:
        """(customer id, name) of customers (not merged away) whose name begins with
        ``prefix``, by name then id; only those of ``clinics`` unless it is None."""
        prefix = prefix.strip()
        if not prefix:
            return []
        dialect = self._db.dialect
        name = attribute_text(CustomerRow.attributes, "name", dialect)
        query = (
            select(CustomerRow.id, name)
            .where(
                name >= prefix,
                name < prefix + _LAST,
                CustomerRow.merged_into.is_(None),
            )
            .order_by(name, CustomerRow.id)
            .limit(min(limit, MAX_NAMED))
        )
        if clinics is not None:
            clinic = attribute_text(CustomerRow.attributes, "clinic_id", dialect)
            query = query.where(clinic.in_(list(clinics)))
        with self._db.read() as s, s.begin():
            return [(cid, str(found)) for cid, found in s.execute(query)]

    def customer_briefs(self, customer_ids: Sequence[str]) -> list[CustomerBrief]:
        """What a list of customers shows of each (name, clinic, first phone), in the
        order asked, in one statement; unknown ids are left out."""
        wanted = list(dict.fromkeys(customer_ids))
        if not wanted:
            return []
        dialect = self._db.dialect
        phone = (
            select(func.min(IdentityRow.value))
            .where(IdentityRow.customer_id == CustomerRow.id, IdentityRow.kind == "phone")
            .scalar_subquery()
        )
        query = select(
            CustomerRow.id,
            attribute_text(CustomerRow.attributes, "name", dialect),
            attribute_text(CustomerRow.attributes, "clinic_id", dialect),
            phone,
        ).where(CustomerRow.id.in_(wanted))
        with self._db.read() as s, s.begin():
            rows = {
                cid: CustomerBrief(id=cid, name=name, clinic=clinic, phone=found)
                for cid, name, clinic, found in s.execute(query)
            }
        return [rows[c] for c in wanted if c in rows]
