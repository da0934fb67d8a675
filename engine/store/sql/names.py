"""Customers found by name: the names that begin with what was typed; and what a list
of customers shows of each.

A clinic's staff type a surname or a whole name ("张", "张三"); a prefix match serves
both and reads ``ix_customers_name`` (migration ``0018``) as a range, on SQLite and
PostgreSQL alike, so it stays fast on a chain's whole pool. The expressions are
``engine.store.sql.attributes``', written exactly as the indexes are.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Select, func, select

from engine.store.records import CustomerBrief
from engine.store.sql.attributes import customer_clinic, customer_name
from engine.store.sql.common import SqlPart
from engine.store.sql.tables import CustomerRow, IdentityRow

#: Most customers one search returns.
MAX_NAMED = 50
#: Sorts after every character a name holds: the end of the prefix's range.
_LAST = "\U0010ffff"


def named_query(prefix: str, clinics: Sequence[str] | None, limit: int) -> Select[str, str]:
    """(id, name) of the customers (not merged away) whose name begins with ``prefix``,
    by name then id; only those of ``clinics`` unless it is None.

    "Not merged away" is written so that no index can serve it: nearly every customer
    is not merged, but a planner without statistics (SQLite's, unless ANALYZE ran)
    takes ``merged_into IS NULL`` for a selective equality and would read every
    customer through ``ix_customers_merged_into`` instead of the name's range."""
    name = customer_name()
    live = func.coalesce(CustomerRow.merged_into, "") == ""
    query = (
        select(CustomerRow.id, name)
        .where(name >= prefix, name < prefix + _LAST, live)
        .order_by(name, CustomerRow.id)
        .limit(min(limit, MAX_NAMED))
    )
    if clinics is not None:
        query = query.where(customer_clinic().in_(list(clinics)))
    return query


class NamesPart(SqlPart):
    def customers_named(
        self, prefix: str, *, clinics: Sequence[str] | None = None, limit: int = 20
    ) -> list[tuple[str, str]]:
        """(customer id, name) of customers (not merged away) whose name begins with
        ``prefix``, by name then id; only those of ``clinics`` unless it is None."""
        prefix = prefix.strip()
        if not prefix:
            return []
        with self._db.read() as s, s.begin():
            found = s.execute(named_query(prefix, clinics, limit))
            return [(str(cid), str(name)) for cid, name in found]

    def customer_briefs(self, customer_ids: Sequence[str]) -> list[CustomerBrief]:
        """What a list of customers shows of each (name, clinic, first phone), in the
        order asked, in one statement; unknown ids are left out."""
        wanted = list(dict.fromkeys(customer_ids))
        if not wanted:
            return []
        phone = (
            select(func.min(IdentityRow.value))
            .where(IdentityRow.customer_id == CustomerRow.id, IdentityRow.kind == "phone")
            .scalar_subquery()
        )
        query = select(CustomerRow.id, customer_name(), customer_clinic(), phone).where(
            CustomerRow.id.in_(wanted)
        )
        with self._db.read() as s, s.begin():
            rows = {
                cid: CustomerBrief(id=cid, name=name, clinic=clinic, phone=found)
                for cid, name, clinic, found in s.execute(query)
            }
        return [rows[c] for c in wanted if c in rows]
