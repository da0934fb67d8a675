"""The query layer every report is built from, on SQLite and PostgreSQL alike.

Reports are aggregate SQL over the store's own tables; these helpers are the pieces
they share, each a SQLAlchemy expression compiled for the session's dialect:

- time: :func:`epoch_us` (exact integer microseconds of a stored instant) and
  :func:`local_day` (the day number, in the report's timezone, offsets changing at the
  zone's transitions inside the range), :func:`day_number` / :func:`day_of` to convert;
- events: :func:`names_in`, :func:`is_activity` (every customer event but carepath's own
  and the workspace's ``activity_exclude``), :func:`prop_text`, :func:`amount_fen`;
- customers: :func:`in_scope` (survivors of the caller's clinics), :func:`first_touches`
  (each customer's first touch, or failing one their first activity event, with every
  first-touch field; :func:`first_touch_rows` the touches alone), :func:`cohort_outcomes`
  (conversions and revenue within the window after the first touch).

Nothing here loads rows: each helper returns an expression or a subquery for a
report to group by.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Integer,
    Numeric,
    Select,
    SQLColumnExpression,
    String,
    Subquery,
    Text,
    and_,
    case,
    cast,
    extract,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
    type_coerce,
    union_all,
)

from engine.models.events import Role
from engine.models.reports.scope import FirstTouchField, ReportScope
from engine.store.sql.tables import CustomerRow, EventRow, TouchRow

Dialect = Literal["sqlite", "postgresql"]

_EPOCH = dt.date(1970, 1, 1)
#: Property keys JSON writes as themselves (no escapes, whatever the encoder's options).
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_.\-]+")
_DAY_US = 86_400_000_000


# -- time ---------------------------------------------------------------------------


def epoch_us(column: SQLColumnExpression[Any], dialect: str) -> ColumnElement[int]:
    """Microseconds since 1970 of a stored instant, exactly (SQLite keeps instants as
    fixed-width UTC text with six fraction digits; PostgreSQL's epoch is numeric)."""
    if dialect == "sqlite":
        # Whole seconds only: strftime rounds a fraction to milliseconds, so .9995 and
        # up would count as the next second.
        seconds = cast(func.strftime("%s", func.substr(column, 1, 19)), Integer)
        micros = cast(func.substr(column, 21, 6), Integer)
        return seconds * 1_000_000 + micros
    return cast(extract("epoch", column) * 1_000_000, BigInteger)


def instant_us(at: dt.datetime) -> int:
    """An aware instant as microseconds since 1970 (what :func:`epoch_us` computes)."""
    delta = at.astimezone(dt.UTC) - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def day_number(day: dt.date) -> int:
    """A local day as the number :func:`local_day` gives it."""
    return (day - _EPOCH).days


def day_of(number: int) -> dt.date:
    """The local day of a :func:`local_day` number."""
    return _EPOCH + dt.timedelta(days=number)


def offsets(scope: ReportScope, since: dt.datetime, until: dt.datetime) -> list[tuple[int, int]]:
    """(from_us, offset_us) for each stretch of constant UTC offset of the scope's zone
    between two instants (the first stretch from the beginning of time)."""
    zone = scope.zone
    stretches: list[tuple[int, int]] = []

    def offset_at(us: int) -> int:
        at = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=us)
        delta = at.astimezone(zone).utcoffset() or dt.timedelta()
        return int(delta.total_seconds()) * 1_000_000

    lo, hi = instant_us(since), instant_us(until)
    stretches.append((lo, offset_at(lo)))
    hour = 3_600_000_000
    probe = lo
    while probe < hi:
        step = min(probe + 6 * hour, hi)
        if offset_at(step) != stretches[-1][1]:
            a, b = probe, step  # the change lies in (a, b]: find its first microsecond
            while b - a > 1:
                mid = (a + b) // 2
                if offset_at(mid) == stretches[-1][1]:
                    a = mid
                else:
                    b = mid
            stretches.append((b, offset_at(b)))
        probe = step
    return stretches


def local_day(
    column: SQLColumnExpression[Any],
    scope: ReportScope,
    dialect: str,
    since: dt.datetime,
    until: dt.datetime,
) -> ColumnElement[int]:
    """The local day number (days since 1970-01-01 in the scope's timezone) of instants
    between ``since`` and ``until``; offsets follow the zone's transitions there.

    On SQLite, a search among the range's local midnights (UTC instants compared with
    the stored text, about log2(days) comparisons an instant) instead of date
    arithmetic: ``strftime`` on every event was most of what a range's days cost there
    (``bench/README.md``)."""
    if dialect == "sqlite":
        first = since.astimezone(scope.zone).date()
        return _day_search(column, day_number(first), _midnights(scope, since, until))
    us = epoch_us(column, dialect)
    stretches = offsets(scope, since, until)
    if len(stretches) == 1:
        shifted: ColumnElement[int] = us + stretches[0][1]
    else:
        whens = [(us < start, literal(off)) for (start, off) in _pairs(stretches)]
        shifted = us + case(*whens, else_=literal(stretches[-1][1]))
    return _floor_div(shifted, _DAY_US, dialect)


def _midnights(scope: ReportScope, since: dt.datetime, until: dt.datetime) -> list[dt.datetime]:
    """The UTC instant each local day from that of ``since`` to that of ``until``
    begins: local midnight (where a transition skips midnight, zoneinfo's reading of it
    is the day's first instant)."""
    zone = scope.zone
    first, last = since.astimezone(zone).date(), until.astimezone(zone).date()
    return [
        dt.datetime.combine(first + dt.timedelta(days=i), dt.time(), zone).astimezone(dt.UTC)
        for i in range((last - first).days + 1)
    ]


def _day_search(
    column: SQLColumnExpression[Any], first: int, starts: list[dt.datetime]
) -> ColumnElement[int]:
    """The day number of an instant from the starts of consecutive local days, the
    first numbered ``first``: a binary search written as nested CASEs (the last day
    that starts at or before the instant)."""
    numbers = [first + i for i in range(len(starts))]

    def between(lo: int, hi: int) -> ColumnElement[int]:
        if hi - lo == 1:
            return literal(numbers[lo], Integer)
        mid = (lo + hi) // 2
        return case((column < starts[mid], between(lo, mid)), else_=between(mid, hi))

    return between(0, len(starts))


def _pairs(stretches: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(the next stretch's start, this stretch's offset), for a CASE over instants."""
    return [(stretches[i + 1][0], stretches[i][1]) for i in range(len(stretches) - 1)]


def _floor_div(value: SQLColumnExpression[int], by: int, dialect: str) -> ColumnElement[int]:
    """Integer division of instants after 1970 (positive: truncating is rounding down)."""
    return value // by


# -- events -------------------------------------------------------------------------


def names_in(column: SQLColumnExpression[str], names: Sequence[str]) -> ColumnElement[bool]:
    """``column`` is one of ``names`` (false for none)."""
    return column.in_(list(names)) if names else false()


def role_names(scope: ReportScope, *roles: Role) -> tuple[str, ...]:
    """The event names that play any of ``roles`` in the scope's workspace."""
    return tuple(dict.fromkeys(n for role in roles for n in scope.roles.names(role)))


def is_activity(column: SQLColumnExpression[str], scope: ReportScope) -> ColumnElement[bool]:
    """An event name that counts as customer activity (not carepath's own, not excluded
    by the workspace's ``events.yaml``); prefixes compare by ``substr``, since ``_`` in a
    name would be a LIKE wildcard."""
    excluded: list[ColumnElement[bool]] = []
    exact = [p for p in scope.roles.activity_exclude if not p.endswith(".*")]
    if exact:
        excluded.append(column.in_(exact))
    for pattern in scope.roles.activity_exclude:
        if pattern.endswith(".*"):
            prefix = pattern[:-1]
            excluded.append(func.substr(column, 1, len(prefix)) == prefix)
    return not_(or_(*excluded)) if excluded else true()


def prop_text(doc: SQLColumnExpression[Any], key: str, dialect: str) -> ColumnElement[str]:
    """A JSON property as text (numbers too); NULL when absent or JSON null.

    On SQLite the document is parsed only when its text holds the key in quotes: a
    plain key (letters, digits, ``_ . -``) is written as itself in the stored JSON, so
    without it the property is absent; most events lack most properties, and parsing
    was half of what reading one property cost (``bench/README.md``, doctors)."""
    if dialect == "sqlite":
        value: ColumnElement[str] = cast(func.json_extract(doc, f'$."{key}"'), Text)
        if _PLAIN_KEY.fullmatch(key):
            return case((func.instr(doc, f'"{key}"') > 0, value))
        return value
    text: ColumnElement[str] = doc.op("->>")(literal(key))
    return text


def amount_fen(doc: SQLColumnExpression[Any], dialect: str) -> ColumnElement[int]:
    """The ``amount`` property in fen (yuan x 100, rounded), when it is a JSON number;
    0 otherwise (a missing or non-numeric amount adds nothing to revenue)."""
    if dialect == "sqlite":
        kind = func.json_type(doc, "$.amount")
        number = func.json_extract(doc, "$.amount")
        return case(
            (kind.in_(["integer", "real"]), cast(func.round(number * 100), Integer)),
            else_=literal(0),
        )
    pg_kind = func.jsonb_typeof(doc.op("->")(literal("amount")))
    pg_number = cast(doc.op("->>")(literal("amount")), Numeric())
    return case(
        (pg_kind == "number", cast(func.round(pg_number * 100), BigInteger)),
        else_=literal(0, BigInteger),
    )


# -- customers ----------------------------------------------------------------------


def clinic_of(dialect: str) -> ColumnElement[str]:
    """A customer's clinic: its ``clinic_id`` attribute, as text."""
    return prop_text(CustomerRow.attributes, "clinic_id", dialect)


def in_scope(
    customer_id: SQLColumnExpression[str], scope: ReportScope, dialect: str
) -> ColumnElement[bool]:
    """The customer is one the scope's clinics allow (true when it names none). Merged
    customers need no test: a merge moves events and touches to the survivor."""
    if scope.clinics is None:
        return true()
    if not scope.clinics:
        return false()
    allowed = select(CustomerRow.id).where(clinic_of(dialect).in_(list(scope.clinics)))
    return customer_id.in_(allowed)


def _touch_field(field: FirstTouchField, dialect: str) -> SQLColumnExpression[Any]:
    columns: dict[str, SQLColumnExpression[Any]] = {
        "channel": TouchRow.channel,
        "activity": TouchRow.activity,
        "doctor": TouchRow.doctor,
        "clinic": TouchRow.clinic,
        "qrcode": TouchRow.code_id,
    }
    if field in columns:
        return columns[field]
    return prop_text(TouchRow.fields, field, dialect)


def touch_field(field: FirstTouchField, dialect: str) -> ColumnElement[str]:
    """A first-touch field of a ``touches`` row, as text (NULL when it has none)."""
    return type_coerce(_touch_field(field, dialect), String)


def first_touch_rows(dialect: str, fields: Sequence[FirstTouchField]) -> Select[Any]:
    """``(customer_id, at, <fields>)`` of every touch marked first, of any customer."""
    columns: list[ColumnElement[Any]] = [
        TouchRow.customer_id.label("customer_id"),
        TouchRow.at.label("at"),
        *(type_coerce(_touch_field(f, dialect), String).label(f) for f in fields),
    ]
    return select(*columns).where(TouchRow.first.is_(True))


def first_touches(scope: ReportScope, dialect: str, fields: Sequence[FirstTouchField]) -> Subquery:
    """``(customer_id, at, <fields>)``: each customer's first touch (the touch marked
    first), or for a customer who has none, their first activity event (whose fields are
    NULL). Only customers of the scope's clinics; every time, not only the range."""
    touched = first_touch_rows(dialect, fields).where(
        in_scope(TouchRow.customer_id, scope, dialect)
    )
    has_first = select(TouchRow.customer_id).where(TouchRow.first.is_(True))
    # Per customer without a first touch, one probe of the (customer_id, name, at)
    # index: grouping every event by customer read the whole events table (bench.reports).
    first_event = (
        select(func.min(EventRow.at))
        .where(EventRow.customer_id == CustomerRow.id, is_activity(EventRow.name, scope))
        .scalar_subquery()
    )
    # OFFSET 0 keeps the subquery whole: merged into its readers, the lookup would run
    # once for each of their references to "at" (four, with a range).
    candidates = (
        select(CustomerRow.id.label("customer_id"), first_event.label("at"))
        .where(CustomerRow.id.not_in(has_first), in_scope(CustomerRow.id, scope, dialect))
        .offset(0)
        .subquery("untouched")
    )
    untouched = select(
        candidates.c.customer_id, candidates.c.at, *(literal(None).label(f) for f in fields)
    ).where(candidates.c.at.is_not(None))
    return union_all(touched, untouched).subquery("first_touch")


def cohort_outcomes(
    first: Subquery | CTE, scope: ReportScope, dialect: str, window: dt.timedelta
) -> Subquery:
    """``(customer_id, conversions, revenue_fen)`` for customers of ``first`` with a
    conversion event in ``[first touch, first touch + window)``; revenue is their
    conversions' amounts minus refunds in the same window."""
    if dialect == "sqlite":
        return _looked_up_outcomes(first, scope, dialect, window)
    return _joined_outcomes(first, scope, dialect, window)


def _in_window(
    first: Subquery | CTE, dialect: str, window: dt.timedelta
) -> list[ColumnElement[bool]]:
    """An event of a customer of ``first`` in the window after their first touch."""
    window_us = int(window.total_seconds() * 1_000_000)
    return [
        EventRow.at >= first.c.at,
        epoch_us(EventRow.at, dialect) < epoch_us(first.c.at, dialect) + window_us,
    ]


def _joined_outcomes(
    first: Subquery | CTE, scope: ReportScope, dialect: str, window: dt.timedelta
) -> Subquery:
    """:func:`cohort_outcomes` as one join of ``first`` and the outcome events, grouped
    by customer (PostgreSQL: its statistics make the join read only the cohort's)."""
    conversion = role_names(scope, "conversion")
    refund = role_names(scope, "refund")
    is_conversion = names_in(EventRow.name, conversion)
    fen = amount_fen(EventRow.properties, dialect)
    counted = func.sum(case((is_conversion, 1), else_=0))
    stmt = (
        select(
            EventRow.customer_id.label("customer_id"),
            counted.label("conversions"),
            func.sum(case((is_conversion, fen), else_=-fen)).label("revenue_fen"),
        )
        .join(first, first.c.customer_id == EventRow.customer_id)
        .where(
            names_in(EventRow.name, (*conversion, *refund)),
            *_in_window(first, dialect, window),
        )
        .group_by(EventRow.customer_id)
        .having(counted > 0)
    )
    return stmt.subquery("outcome")


def _looked_up_outcomes(
    first: Subquery | CTE, scope: ReportScope, dialect: str, window: dt.timedelta
) -> Subquery:
    """:func:`cohort_outcomes` as lookups per customer of ``first`` by the events'
    ``(name, customer_id, at)`` index (SQLite: without statistics for a CTE, the join
    would read every event)."""
    conversion = role_names(scope, "conversion")
    refund = role_names(scope, "refund")
    is_conversion = names_in(EventRow.name, conversion)
    fen = amount_fen(EventRow.properties, dialect)
    mine = [EventRow.customer_id == first.c.customer_id, *_in_window(first, dialect, window)]
    conversions = select(func.count()).where(is_conversion, *mine).scalar_subquery()
    revenue = (
        select(func.coalesce(func.sum(case((is_conversion, fen), else_=-fen)), 0))
        .where(names_in(EventRow.name, (*conversion, *refund)), *mine)
        .scalar_subquery()
    )
    stmt = select(
        first.c.customer_id.label("customer_id"),
        conversions.label("conversions"),
        revenue.label("revenue_fen"),
    ).where(conversions > 0)
    return stmt.subquery("outcome")


def within_range(column: SQLColumnExpression[Any], scope: ReportScope) -> ColumnElement[bool]:
    """``since <= column < until`` for the scope's range."""
    return and_(column >= scope.since, column < scope.until)
