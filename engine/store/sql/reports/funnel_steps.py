"""The steps of a funnel as a chain of CTEs, one row per customer who reached the step.

``step1``: per customer of the scope, the first ``S1`` event in the range (the entry),
with the entry in microseconds, the instant entry + W at which the window closes (in
the stored form, so events compare with it by index) and the group value ``g``.
``stepk``: per customer of ``stepk-1``, the earliest ``Sk`` event strictly after the one
of step k-1 and before the window closes; each CTE carries the previous step's
instant, so the time between the two is one subtraction.

A step's ``where`` compiles with the rule language's value conditions
(:func:`rules.sql.values.value_condition`), exactly as an event rule's ``where`` does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CTE,
    ColumnElement,
    String,
    Text,
    case,
    cast,
    func,
    literal,
    null,
    select,
)
from sqlalchemy.orm import aliased

from engine.models.reports.funnel import FunnelRequest, FunnelStep
from engine.models.reports.scope import FirstTouchField, ReportScope
from engine.store.sql.reports.query import epoch_us, in_scope, touch_field, within_range
from engine.store.sql.tables import CustomerRow, EventRow, TouchRow
from rules.conditions import Condition, Operator
from rules.sql.values import value_condition

_EQ: Operator = "eq"


def step_chain(scope: ReportScope, request: FunnelRequest, dialect: str) -> list[CTE]:
    """One CTE per step, only customers who reached it: ``(customer_id, closes, g,
    at, prev_at)``; step 1 is ``(customer_id, entry_us, closes, g, at)``, ``closes``
    the instant the customer's window closes."""
    first = request.steps[0]
    e = aliased(EventRow, name="e1")
    entry = (
        select(e.customer_id.label("customer_id"), func.min(e.at).label("at"))
        .where(
            *_matches(e, first, scope, dialect),
            within_range(e.at, scope),
            in_scope(e.customer_id, scope, dialect),
        )
        .group_by(e.customer_id)
        .cte("entry")
    )
    step1 = select(
        entry.c.customer_id,
        epoch_us(entry.c.at, dialect).label("entry_us"),
        _later(entry.c.at, request.window, dialect).label("closes"),
        _group(entry, first, scope, request, dialect).label("g"),
        entry.c.at,
    ).cte("step1")
    chain = [step1]
    for k, step in enumerate(request.steps[1:], start=2):
        prev = chain[-1]
        e = aliased(EventRow, name=f"e{k}")
        reached = (
            select(
                prev.c.customer_id,
                prev.c.closes,
                prev.c.g,
                func.min(e.at).label("at"),
                prev.c.at.label("prev_at"),
            )
            .join(e, e.customer_id == prev.c.customer_id)
            .where(*_matches(e, step, scope, dialect), e.at > prev.c.at, e.at < prev.c.closes)
            .group_by(prev.c.customer_id, prev.c.closes, prev.c.g, prev.c.at)
        )
        chain.append(reached.cte(f"step{k}"))
    return chain


def _later(at: ColumnElement[Any], window: dt.timedelta, dialect: str) -> ColumnElement[Any]:
    """The stored instant ``window`` (whole seconds) after ``at``, in the form instants
    are stored in, so that events compare with it as they are (and by index)."""
    seconds = window // dt.timedelta(seconds=1)
    if dialect == "sqlite":
        # The text's whole seconds moved on (strftime would round a fraction to the
        # millisecond), then its own six-digit fraction.
        moved = func.strftime("%Y-%m-%d %H:%M:%S", func.substr(at, 1, 19), f"+{seconds} seconds")
        return moved.concat(func.substr(at, 20))
    # Seconds alone: an absolute span, never calendar days that a zone's change stretches.
    return at + func.make_interval(0, 0, 0, 0, 0, 0, seconds)


def _matches(
    e: Any, step: FunnelStep, scope: ReportScope, dialect: str
) -> list[ColumnElement[bool]]:
    """The event is the step's: its name, and every condition of its ``where``."""
    conditions: list[ColumnElement[bool]] = [e.name == step.event]
    for key, spec in (step.where or {}).items():
        op, expected = spec.operator() if isinstance(spec, Condition) else (_EQ, spec)
        # No operator of a funnel's where reads the clock (the model refuses those).
        condition = value_condition(
            e.properties, key, op, expected, now=scope.until, dialect=dialect
        )
        conditions.append(condition)
    return conditions


def _group(
    entry: CTE, first: FunnelStep, scope: ReportScope, request: FunnelRequest, dialect: str
) -> ColumnElement[str]:
    """The entrant's value of ``by`` (NULL: none, or no split); where several rows give
    one (entry events at the same instant), the least by code point."""
    split = request.split()
    if split is None:
        return cast(null(), String)
    kind, name = split
    if kind == "event":
        e = aliased(EventRow, name="entry_event")
        value = _least(scalar_text(e.properties, name, dialect), dialect)
        found = select(value).where(
            e.customer_id == entry.c.customer_id,
            e.at == entry.c.at,
            *_matches(e, first, scope, dialect),
        )
    elif kind == "attribute":
        found = select(scalar_text(CustomerRow.attributes, name, dialect)).where(
            CustomerRow.id == entry.c.customer_id
        )
    else:
        field: FirstTouchField = name  # type: ignore[assignment]  # checked by parse_by
        found = select(_least(touch_field(field, dialect), dialect)).where(
            TouchRow.customer_id == entry.c.customer_id, TouchRow.first.is_(True)
        )
    return found.scalar_subquery()


def _least(value: ColumnElement[str], dialect: str) -> ColumnElement[str]:
    """The least of the values, by code point on both databases."""
    return func.min(value.collate("C") if dialect == "postgresql" else value)


def scalar_text(doc: Any, key: str, dialect: str) -> ColumnElement[str]:
    """A JSON property as group text: text itself, a number as its decimal text,
    true/false as ``true``/``false``; NULL for null, lists, objects or no property."""
    if dialect == "sqlite":
        path = f'$."{key}"'
        kind = func.json_type(doc, path)
        raw = func.json_extract(doc, path)
        return case(
            (kind == "text", raw),
            (kind.in_(["integer", "real"]), cast(raw, Text)),
            (kind.in_(["true", "false"]), kind),
            else_=cast(null(), Text),
        )
    pg_kind = func.jsonb_typeof(doc.op("->")(literal(key, Text)))
    text: ColumnElement[str] = doc.op("->>", return_type=Text)(literal(key, Text))
    return case((pg_kind.in_(["string", "number", "boolean"]), text), else_=cast(null(), Text))
