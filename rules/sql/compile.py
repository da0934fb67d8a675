"""Compile a rule to one SQL boolean expression correlated to a customer-id column.

The meaning of every atom is the one of :mod:`rules.evaluate`; the shapes are chosen
for the planners of both databases:

``event``
    ``EXISTS`` over ``events`` (index ``customer_id, name, at``) for "at least one";
    "at least n" is ``EXISTS (... LIMIT 1 OFFSET n-1)``, which stops at the n-th row;
    "none" / "fewer than n" are the negations; ``count: {eq: n}`` counts.
``tag``, ``segment`` (membership), ``consent``
    ``EXISTS`` over ``tags``, ``segment_members`` (``exited_at IS NULL``) and
    ``consents`` (a grant with no withdrawal at or after it: the latest grant is
    strictly later than the latest withdrawal).
``attribute``, ``source``
    :mod:`rules.sql.values` over ``customers.attributes`` / ``customers.source``, read
    from the caller's own ``customers`` row when the customer-id column is
    ``customers.id`` (or an alias of it), else through ``EXISTS`` on ``customers``.
``context``
    A constant for the whole population: evaluated here, in Python.

Every atom is two-valued, so ``not`` is the exact complement, as in memory.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    and_,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from rules.conditions import Condition
from rules.deps import find_segment_cycle, segment_references
from rules.errors import RulesError, SegmentCycleError
from rules.match import lookup, match_value
from rules.models import (
    AllRule,
    AnyRule,
    AttributeRule,
    ConsentRule,
    ContextRule,
    EventRule,
    NotRule,
    Rule,
    SegmentRule,
    SourceRule,
    TagRule,
)
from rules.sql.tables import CONSENTS, CUSTOMERS, EVENTS, SEGMENT_MEMBERS, TAGS
from rules.sql.values import instant_param, value_condition

__all__ = ["compile_rule"]

DIALECTS = ("sqlite", "postgresql")


def compile_rule(
    rule: Rule,
    customer_id: ColumnElement[str],
    *,
    now: datetime,
    segments: Mapping[str, Rule] | None,
    context: Mapping[str, Any] | None,
    dialect: str,
) -> ColumnElement[bool]:
    """The rule as a two-valued SQL condition on the customer ``customer_id`` names."""
    if dialect not in DIALECTS:
        raise RulesError(f"rules compile to SQL for sqlite and postgresql, not {dialect!r}")
    if now.tzinfo is None:
        raise RulesError(f"now must be timezone-aware, got {now.isoformat()}")
    if segments:
        start = [sid for sid in segment_references(rule) if sid in segments]
        cycle = find_segment_cycle(segments, start=start)
        if cycle:
            raise SegmentCycleError(cycle)
    return _Compiler(customer_id, now, segments or {}, context or {}, dialect).rule(rule, ())


def _customers_row(customer_id: ColumnElement[str]) -> FromClause | None:
    """The caller's ``customers`` table (or alias of it) when the column is its ``id``."""
    table = getattr(customer_id, "table", None)
    if table is None or getattr(customer_id, "name", None) != "id":
        return None
    base = getattr(table, "element", table)  # an alias names its table in .element
    if getattr(base, "name", None) != "customers":
        return None
    columns = table.c
    return table if "attributes" in columns and "source" in columns else None


class _Compiler:
    def __init__(
        self,
        customer_id: ColumnElement[str],
        now: datetime,
        segments: Mapping[str, Rule],
        context: Mapping[str, Any],
        dialect: str,
    ) -> None:
        self.cid = customer_id
        self.now = now
        self.segments = segments
        self.context = context
        self.dialect = dialect
        self.row = _customers_row(customer_id)

    def rule(self, rule: Rule, path: tuple[str, ...]) -> ColumnElement[bool]:
        if isinstance(rule, AttributeRule):
            op, expected = rule.operator()
            return self._profile("attributes", rule.attribute, op, expected)
        if isinstance(rule, SourceRule):
            return and_(
                *(
                    self._profile("source", name, *_operator(spec))
                    for name, spec in rule.source.conditions().items()
                )
            )
        if isinstance(rule, ContextRule):
            held = match_value(rule, lookup(self.context, rule.context), self.now)
            return true() if held else false()
        if isinstance(rule, TagRule):
            t = TAGS.alias()
            return _exists(t, t.c.customer_id == self.cid, t.c.tag == rule.tag)
        if isinstance(rule, EventRule):
            return self._event(rule)
        if isinstance(rule, SegmentRule):
            return self._segment(rule.segment, path)
        if isinstance(rule, ConsentRule):
            return self._consent(rule.consent.purpose, rule.consent.channel)
        if isinstance(rule, AllRule):
            return and_(*(self.rule(item, path) for item in rule.all))
        if isinstance(rule, AnyRule):
            return or_(*(self.rule(item, path) for item in rule.any))
        if isinstance(rule, NotRule):
            return not_(self.rule(rule.not_, path))
        raise RulesError(f"not a rule: {rule!r}")

    def _profile(self, column: str, path: str, op: Any, expected: Any) -> ColumnElement[bool]:
        if self.row is not None:
            doc = self.row.c[column]
            return value_condition(doc, path, op, expected, now=self.now, dialect=self.dialect)
        c = CUSTOMERS.alias()
        held = value_condition(c.c[column], path, op, expected, now=self.now, dialect=self.dialect)
        return _exists(c, c.c.id == self.cid, held)

    def _event(self, rule: EventRule) -> ColumnElement[bool]:
        e = EVENTS.alias()
        conditions = [
            e.c.customer_id == self.cid,
            e.c.name == rule.event,
            e.c.at <= instant_param(self.now, self.dialect),
        ]
        if rule.within is not None:
            conditions.append(e.c.at >= instant_param(self.now - rule.within, self.dialect))
        for key, spec in (rule.where or {}).items():
            op, expected = _operator(spec)
            conditions.append(
                value_condition(
                    e.c.properties, key, op, expected, now=self.now, dialect=self.dialect
                )
            )

        def at_least(n: int) -> ColumnElement[bool]:
            if n <= 0:
                return true()
            found = select(literal(1)).select_from(e).where(*conditions).correlate_except(e)
            if n > 1:
                found = found.limit(1).offset(n - 1)
            return found.exists()

        op, k = rule.effective_count().operator()
        if op == "gte":
            return at_least(k)
        if op == "gt":
            return at_least(k + 1)
        if op == "lte":
            return not_(at_least(k + 1))
        if op == "lt":
            return not_(at_least(k)) if k > 0 else false()
        if k == 0:  # eq
            return not_(at_least(1))
        counted = (
            select(func.count()).select_from(e).where(*conditions).correlate_except(e)
        ).scalar_subquery()
        return counted == k

    def _segment(self, sid: str, path: tuple[str, ...]) -> ColumnElement[bool]:
        if sid not in self.segments:
            m = SEGMENT_MEMBERS.alias()
            return _exists(
                m, m.c.segment_id == sid, m.c.customer_id == self.cid, m.c.exited_at.is_(None)
            )
        if sid in path:  # caught up front by find_segment_cycle; kept as a guard
            raise SegmentCycleError([*path[path.index(sid) :], sid])
        return self.rule(self.segments[sid], (*path, sid))

    def _consent(self, purpose: str, channel: str | None) -> ColumnElement[bool]:
        # Held when some grant has no withdrawal at or after it (a withdrawal at the same
        # time wins) among the records that count for it: with a channel C, the records
        # of C and the channel-less ones; without one, a grant on C is undone by
        # withdrawals on C or channel-less ones, a channel-less grant only by
        # channel-less withdrawals (it is not undone for every channel by one).
        g = CONSENTS.alias()
        w = CONSENTS.alias()
        if channel is not None:
            grant_scope = or_(g.c.channel == channel, g.c.channel.is_(None))
            withdrawal_scope = or_(w.c.channel == channel, w.c.channel.is_(None))
        else:
            grant_scope = true()
            withdrawal_scope = or_(w.c.channel.is_(None), w.c.channel == g.c.channel)
        undone = _exists(
            w,
            w.c.customer_id == g.c.customer_id,
            w.c.purpose == purpose,
            w.c.granted == false(),
            w.c.at >= g.c.at,
            withdrawal_scope,
        )
        return _exists(
            g,
            g.c.customer_id == self.cid,
            g.c.purpose == purpose,
            g.c.granted == true(),
            grant_scope,
            not_(undone),
        )


def _exists(table: FromClause, *where: ColumnElement[bool]) -> ColumnElement[bool]:
    # Correlated to everything but its own table, whatever the caller's query holds.
    return select(literal(1)).select_from(table).where(*where).correlate_except(table).exists()


def _operator(spec: Any) -> tuple[Any, Any]:
    if isinstance(spec, Condition):
        return spec.operator()
    return "eq", spec
