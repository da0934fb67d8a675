"""SQL for one value condition (``attribute``, ``where``, ``source``) over a JSON column.

Reproduces :mod:`rules.match` exactly on SQLite (``json_type``/``json_extract``) and on
PostgreSQL (JSONB operators): kinds (number, text, bool; ``1 == 1.0``; a bool never
equals a number), missing values (absent key, path through a non-object, JSON null),
text ordered by code point (SQLite ``BINARY``, PostgreSQL ``COLLATE "C"``), ``contains``
on text and lists, and ``within``/``older_than`` on ISO text read like
:func:`rules.match.as_instant` by the SQL function ``carepath_instant`` (registered on
SQLite connections by :func:`rules.sql.sqlite.register_functions`, created on
PostgreSQL by migration 0006).

Every expression returned here is two-valued (never NULL), so ``not`` can be applied
to it directly.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    String,
    Text,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    true,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from rules.conditions import Operator
from rules.errors import RulesError

__all__ = ["instant_param", "value_condition"]

_INDEX_LIKE = re.compile(r"^-?\d+$")
_DATE = "[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
_USUAL_FORMS = (
    _DATE,
    _DATE + "[T ][0-9][0-9]:[0-9][0-9]",
    _DATE + "[T ][0-9][0-9]:[0-9][0-9]:[0-9][0-9]",
)


def instant_param(at: datetime, dialect: str) -> ColumnElement[Any]:
    """A point in time as the store keeps it: naive UTC text on SQLite, timestamptz else."""
    utc = at.astimezone(UTC)
    if dialect == "sqlite":
        # The storage format of SQLAlchemy's SQLite DateTime (always six fraction digits),
        # which sorts chronologically as text; carepath_instant answers in the same format.
        text = (
            f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d} "
            f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}"
        )
        return literal(text, String)
    return literal(utc, DateTime(timezone=True))


def _two_valued(expr: ColumnElement[bool]) -> ColumnElement[bool]:
    return func.coalesce(expr, false())


class _Value:
    """The JSON value at a dotted path of a JSON document column."""

    def __init__(self, doc: ColumnElement[Any], path: str, dialect: str) -> None:
        self.doc = doc
        self.parts = path.split(".")
        self.dialect = dialect
        if dialect == "sqlite":
            # Quoted labels: a key is always an object member, never an array index.
            label = "".join('."' + part + '"' for part in self.parts)
            self.sqlite_path = literal("$" + label, String)
        elif dialect != "postgresql":
            raise RulesError(f"rules compile to SQL for sqlite and postgresql, not {dialect!r}")

    # PostgreSQL ---------------------------------------------------------------------------
    def _pg_json(self) -> ColumnElement[Any]:
        if len(self.parts) == 1:
            return self.doc.op("->", return_type=JSONB)(literal(self.parts[0], Text))
        return self.doc.op("#>", return_type=JSONB)(literal(self.parts, ARRAY(Text)))

    def _pg_text(self) -> ColumnElement[str]:
        if len(self.parts) == 1:
            return self.doc.op("->>", return_type=Text)(literal(self.parts[0], Text))
        return self.doc.op("#>>", return_type=Text)(literal(self.parts, ARRAY(Text)))

    def _pg_walkable(self) -> ColumnElement[bool]:
        # ``#>`` would read a key such as "0" as an index into a list; the language walks
        # objects only, so every level before such a key must be an object.
        checks = [
            func.jsonb_typeof(
                self.doc.op("#>", return_type=JSONB)(literal(self.parts[:i], ARRAY(Text)))
            )
            == "object"
            for i in range(1, len(self.parts))
            if _INDEX_LIKE.match(self.parts[i])
        ]
        return and_(*checks) if checks else true()

    # both ---------------------------------------------------------------------------------
    def kind(self) -> ColumnElement[str]:
        """SQLite json_type or PostgreSQL jsonb_typeof (NULL when the key is absent)."""
        if self.dialect == "sqlite":
            return func.json_type(self.doc, self.sqlite_path)
        return func.jsonb_typeof(self._pg_json())

    def text(self) -> ColumnElement[Any]:
        if self.dialect == "sqlite":
            return func.json_extract(self.doc, self.sqlite_path)
        return self._pg_text()

    def present(self) -> ColumnElement[bool]:
        return and_(self._pg_walkable_or_true(), self.kind() != "null")

    def _pg_walkable_or_true(self) -> ColumnElement[bool]:
        return self._pg_walkable() if self.dialect == "postgresql" else true()

    def is_kind(self, kind: str) -> ColumnElement[bool]:
        """The value is a number, text, true, false or array."""
        k = self.kind()
        if self.dialect == "sqlite":
            if kind == "number":
                return k.in_(["integer", "real"])
            return k == kind
        names = {"number": "number", "text": "string", "array": "array"}
        if kind in ("true", "false"):
            return self._pg_json() == cast(literal(kind), JSONB)
        return and_(self._pg_walkable(), k == names[kind])

    def equals(self, expected: Any) -> ColumnElement[bool]:
        kind = _kind(expected)
        if kind == "bool":
            return self.is_kind("true" if expected else "false")
        if self.dialect == "sqlite":
            return and_(self.is_kind(kind), self.text() == literal(expected))
        # jsonb equality is by kind: numbers numerically (1 = 1.0), text exactly.
        return and_(
            self._pg_walkable(),
            self._pg_json() == cast(literal(json.dumps(expected)), JSONB),
        )

    def equals_any(self, items: list[Any]) -> ColumnElement[bool]:
        """Equal to one of ``items`` (by kind), reading the value once where that is exact."""
        if self.dialect == "postgresql":
            # ->> reads text as itself and every other kind as its JSON text, so text
            # that is not JSON of another kind ("vip", not "5" or "true") compares as
            # text; the rest compares as jsonb (by kind: 1 = 1.0, text exactly).
            texts = [item for item in items if isinstance(item, str) and not _json_text(item)]
            others = [item for item in items if not isinstance(item, str) or _json_text(item)]
            hits: list[ColumnElement[bool]] = []
            if texts:
                hits.append(self._pg_text().in_([literal(item, Text) for item in texts]))
            if others:
                operands = [cast(literal(json.dumps(item)), JSONB) for item in others]
                hits.append(self._pg_json().in_(operands))
            return and_(self._pg_walkable(), or_(*hits))
        # json_extract gives text for text, numbers for numbers, 1/0 for true/false and
        # JSON text ("[..." or "{...") for lists and objects; SQLite never equates a
        # number with text. So a plain comparison is exact for text that cannot be JSON
        # text of a list or object and for numbers that no boolean reads as (0 and 1).
        plain = [item for item in items if _plain_comparison(item)]
        checked = [item for item in items if not _plain_comparison(item)]
        hits = [self.equals(item) for item in checked]
        if plain:
            hits.insert(0, self.text().in_([literal(item) for item in plain]))
        return or_(*hits)

    def ordered(self, op: str, expected: Any) -> ColumnElement[bool]:
        kind = _kind(expected)
        if kind not in ("number", "text"):
            return false()
        if self.dialect == "sqlite" and kind == "number":
            # SQLite orders every number before every text (lists and objects read as
            # JSON text), and true/false read as 1/0: a range closed by an infinity holds
            # numbers only, and no boolean when it leaves out 0 and 1.
            if op == "gte" and expected > 1:
                return self.text().between(literal(expected), literal(math.inf))
            if op == "lte" and expected < 0:
                return self.text().between(literal(-math.inf), literal(expected))
        if self.dialect == "sqlite" or kind == "number":
            # SQLite compares text with BINARY (code point order for UTF-8); jsonb orders
            # numbers numerically.
            actual: ColumnElement[Any] = (
                self.text() if self.dialect == "sqlite" else self._pg_json()
            )
            operand: ColumnElement[Any] = (
                literal(expected)
                if self.dialect == "sqlite"
                else cast(literal(json.dumps(expected)), JSONB)
            )
        else:
            actual = self._pg_text().collate("C")
            operand = literal(expected, Text)
        compared = {
            "gt": actual > operand,
            "gte": actual >= operand,
            "lt": actual < operand,
            "lte": actual <= operand,
        }[op]
        return and_(self.is_kind(kind), compared)

    def contains(self, expected: Any) -> ColumnElement[bool]:
        in_list = self._list_contains(expected)
        if not isinstance(expected, str):
            return in_list
        position = (
            func.instr(self.text(), literal(expected))
            if self.dialect == "sqlite"
            else func.strpos(self._pg_text(), literal(expected, Text))
        )
        return or_(and_(self.is_kind("text"), position > 0), in_list)

    def _list_contains(self, expected: Any) -> ColumnElement[bool]:
        if self.dialect == "postgresql":
            return and_(
                self.is_kind("array"),
                self._pg_json().op("@>", return_type=Boolean)(
                    cast(literal(json.dumps([expected])), JSONB)
                ),
            )
        items = func.json_each(self.doc, self.sqlite_path).table_valued("type", "atom")
        kind = _kind(expected)
        if kind == "bool":
            match = items.c.type == ("true" if expected else "false")
        elif kind == "number":
            match = and_(items.c.type.in_(["integer", "real"]), items.c.atom == literal(expected))
        else:
            match = and_(items.c.type == "text", items.c.atom == literal(expected))
        return and_(
            self.is_kind("array"), select(literal(1)).select_from(items).where(match).exists()
        )

    def instant(self) -> ColumnElement[Any]:
        """The value read as a point in time (NULL when it is not ISO date/time text)."""
        if self.dialect == "postgresql":
            # A date alone in plain SQL (a nested CASE: the month is known valid before
            # make_date reads it, and a day past the month's end is no date); any other
            # text through the function.
            t = self._pg_text()
            year, month, day = (
                cast(func.substr(t, start, length), Integer)
                for start, length in ((1, 4), (6, 2), (9, 2))
            )
            last_day = func.extract(
                "day", func.make_date(year, month, 1) + literal_column("interval '1 month - 1 day'")
            )
            # Midnight UTC from the days since 1970 (no time zone to look up); days up
            # to the 28th exist in every month, later ones are checked.
            midnight = func.to_timestamp(
                cast(
                    type_coerce(cast(t, Date) - literal_column("DATE '1970-01-01'"), Integer),
                    BigInteger,
                )
                * literal(86400)
            )
            a_date = case(
                (day.between(1, 28), midnight),
                (day <= last_day, midnight),
            )
            date_form = and_(
                t.op("~")(literal(r"^[0-9]{4}-(0[1-9]|1[0-2])-[0-9]{2}$")),
                t.collate("C") >= literal("0001"),
            )
            return case((date_form, a_date), else_=func.carepath_instant(t))
        # The usual forms (a date, or a naive date and time to the minute or second) in
        # SQL; any other text through the Python function. julianday() normalises
        # impossible dates and 24:00 (2026-02-30 becomes 2026-03-02), so a value is
        # taken in SQL only when it reads back unchanged.
        # A date alone, the commonest form, takes one short round trip: date(julianday())
        # reads a real day back unchanged (date(julianday('2026-02-30')) is 2026-03-02;
        # date() alone would echo it).
        v = self.text()
        date_alone = and_(
            v.op("GLOB")(literal(_DATE)),
            v >= literal("0001"),
            func.date(func.julianday(v)) == v,
        )
        normal = func.datetime(func.julianday(v))
        usual = and_(
            or_(*(v.op("GLOB")(literal(pattern)) for pattern in _USUAL_FORMS[1:])),
            v >= literal("0001"),
            func.substr(normal, 1, func.length(v)) == func.replace(v, "T", " "),
        )
        return case(
            (date_alone, v.concat(" 00:00:00.000000")),
            (usual, normal.concat(".000000")),
            else_=func.carepath_instant(v),
        )


def _json_text(value: str) -> bool:
    """Whether text is also the JSON of a value (a number, true, null, a list, ...)."""
    try:
        json.loads(value)
    except ValueError:
        return False
    return True


def _plain_comparison(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return value not in (0, 1)
    return isinstance(value, str) and not value.startswith(("[", "{"))


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    raise RulesError(f"not a value to compare with: {value!r}")


def value_condition(
    doc: ColumnElement[Any],
    path: str,
    op: Operator,
    expected: Any,
    *,
    now: datetime,
    dialect: str,
) -> ColumnElement[bool]:
    """``op expected`` on the JSON value at ``path`` of ``doc``, as :func:`rules.match.compare`."""
    value = _Value(doc, path, dialect)
    if op == "exists":
        present = _two_valued(value.present())
        return present if expected else not_(present)
    if op == "eq":
        expr = value.equals_any([expected])
    elif op == "ne":
        expr = and_(value.present(), not_(_two_valued(value.equals_any([expected]))))
    elif op == "in":
        expr = value.equals_any(list(expected))
    elif op == "not_in":
        hit = value.equals_any(list(expected))
        expr = and_(value.present(), not_(_two_valued(hit)))
    elif op in ("gt", "gte", "lt", "lte"):
        expr = value.ordered(op, expected)
    elif op == "contains":
        expr = value.contains(expected)
    elif op in ("within", "older_than"):
        if not isinstance(expected, timedelta):
            raise RulesError(f"{op} takes a duration such as 30d, got {expected!r}")
        instant = value.instant()
        since = instant_param(now - expected, dialect)
        if op == "within":
            window = and_(instant >= since, instant <= instant_param(now, dialect))
        else:
            window = instant < since
        expr = and_(value.is_kind("text"), window)
    else:
        raise RulesError(f"unknown operator {op!r}")
    return _two_valued(expr)
