"""Rules compiled to SQLAlchemy Core, for SQLite and PostgreSQL (journey-language.md §1).

The SQL gives the members :func:`rules.evaluate.evaluate` would give, customer by
customer (``tests/rules/test_sql_parity.py`` checks it on both databases):

- :func:`rule_condition`: a two-valued boolean expression on a customer-id column, to
  combine with a caller's own filters, paging and joins;
- :func:`customers_matching`: ids of live (not merged-away) customers for whom the rule
  holds, ordered by id; :func:`count_matching`: how many.

``segment`` atoms: with ``segments`` holding the id, the definition is compiled inline
(a circle raises :class:`~rules.errors.SegmentCycleError`); otherwise membership is read
from ``segment_members`` (a row with ``exited_at IS NULL``). ``context`` atoms are
constants for a population, decided in Python. On SQLite, connections need
:func:`rules.sql.sqlite.register_functions`; on PostgreSQL, migration 0006 creates the
same function. The tables read are in :mod:`rules.sql.tables`.

The store's customer view carries a customer's latest 1000 events; the SQL counts
every stored event (docs/decisions.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select

from rules.models import Rule
from rules.sql.compile import compile_rule
from rules.sql.tables import CUSTOMERS

__all__ = ["count_matching", "customers_matching", "rule_condition"]


def rule_condition(
    rule: Rule,
    customer_id: ColumnElement[str],
    *,
    now: datetime,
    segments: Mapping[str, Rule] | None = None,
    context: Mapping[str, Any] | None = None,
    dialect: str,
) -> ColumnElement[bool]:
    """Whether ``rule`` holds at ``now`` for the customer ``customer_id`` names (never NULL)."""
    return compile_rule(
        rule, customer_id, now=now, segments=segments, context=context, dialect=dialect
    )


def _live_matching(
    rule: Rule,
    now: datetime,
    segments: Mapping[str, Rule] | None,
    context: Mapping[str, Any] | None,
    dialect: str,
) -> list[ColumnElement[bool]]:
    c = CUSTOMERS.c
    held = rule_condition(rule, c.id, now=now, segments=segments, context=context, dialect=dialect)
    return [c.merged_into.is_(None), held]


def customers_matching(
    rule: Rule,
    *,
    now: datetime,
    segments: Mapping[str, Rule] | None = None,
    context: Mapping[str, Any] | None = None,
    dialect: str,
) -> Select[str]:
    """Ids of the live customers for whom ``rule`` holds at ``now``, ordered by id."""
    where = _live_matching(rule, now, segments, context, dialect)
    return select(CUSTOMERS.c.id).where(*where).order_by(CUSTOMERS.c.id)


def count_matching(
    rule: Rule,
    *,
    now: datetime,
    segments: Mapping[str, Rule] | None = None,
    context: Mapping[str, Any] | None = None,
    dialect: str,
) -> Select[int]:
    """How many live customers ``rule`` holds for at ``now``."""
    where = _live_matching(rule, now, segments, context, dialect)
    return select(func.count()).select_from(CUSTOMERS).where(*where)
