"""The one comparison core of the rule language (attributes, context, ``where``, ``source``).

The in-memory evaluator and the SQL compiler must give the same answer, so every
choice below is one that SQLite and PostgreSQL can reproduce over JSON columns.

Values
    Values are JSON values: text, numbers, true/false, lists, objects. Dotted paths
    (``a.b.c``) always split at the dots and walk nested objects only (never into lists);
    a key that itself contains a dot cannot be reached. A missing key, a path through a
    non-object, and JSON ``null`` all count as *missing*. Python ``date``/``datetime``
    values (e.g. in an enrollment context) are read as their ISO text, as they would be
    stored in JSON.

Missing values (like SQL NULL, but two-valued)
    Every operator is false on a missing value except ``exists: false``. So ``ne`` and
    ``not_in`` are false for a missing attribute: "differs from X" means "present and not
    X". Rule evaluation is two-valued (never unknown), so ``not`` is the exact complement;
    an SQL compiler must turn each atom's NULL into false before negating.

Kinds
    Numbers (int and float, never bool) compare numerically, ``1 == 1.0``. Text compares
    with text by Unicode code point (SQLite ``BINARY``, PostgreSQL ``COLLATE "C"``). Booleans
    equal booleans only. A number never equals text (``eq: "1"`` does not match ``1``), and
    comparing different kinds is false for every operator except ``ne``/``not_in``, where
    a present value of another kind "differs". ``gt/gte/lt/lte`` hold only between two
    numbers or two texts; booleans, lists and objects have no order.

Operators
    ``eq``, ``ne`` (present and not eq), ``in`` (eq to one of), ``not_in`` (present and eq to
    none of), ``gt``, ``gte``, ``lt``, ``lte``, ``exists`` (true: present; false: missing),
    ``contains`` (text: substring, case-sensitive, the operand must be text; list: some
    item is eq to the operand; anything else: false).

Time
    ``within: D`` holds when ``now - D <= t <= now``; ``older_than: D`` when
    ``t < now - D`` (both ends use the same ``now``, passed in, never read from a clock).
    ``t`` is read from a ``datetime`` (naive means UTC), a ``date`` (midnight UTC), or ISO
    text ``YYYY-MM-DD`` (midnight UTC) or ``YYYY-MM-DD[T ]HH:MM[:SS[.ffffff]][Z|±HH:MM]``
    (no offset means UTC). Anything else (numbers, other text) is false for both.

Templates in operands (``"{{ context.x }}"``) must be resolved before matching.

Sandbox-safe: stdlib and pydantic only, no I/O, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from pydantic import ValidationError

from rules.conditions import Condition, Operator, Operators
from rules.errors import RulesError

__all__ = ["MISSING", "as_instant", "compare", "lookup", "match_value", "match_where"]


class _Missing:
    """The type of :data:`MISSING`."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


MISSING: Final = _Missing()
"""What :func:`lookup` returns for an absent value (missing key, bad path or null)."""

_ISO_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?(?:Z|[+-]\d{2}:\d{2})?)?$"
)


def lookup(data: Mapping[str, Any] | None, path: str) -> Any:
    """Read a dotted path from nested mappings; :data:`MISSING` when absent or null."""
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, Mapping) or part not in current:
            return MISSING
        current = current[part]
    return MISSING if current is None else current


def as_instant(value: Any) -> datetime | None:
    """Read a point in time (aware, UTC when unstated) or None when the value is not one."""
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str) and _ISO_RE.match(value):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:  # e.g. 2024-02-30
            return None
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return None


def _plain(value: Any) -> Any:
    # Dates in Python values are read as the ISO text JSON would hold.
    if isinstance(value, date):  # datetime is a date too
        return value.isoformat()
    return value


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    return "other"


def _equal(actual: Any, expected: Any) -> bool:
    kind = _kind(actual)
    return kind != "other" and kind == _kind(expected) and bool(actual == expected)


def _ordered(op: str, actual: Any, expected: Any) -> bool:
    kind = _kind(actual)
    if kind not in ("number", "text") or kind != _kind(expected):
        return False
    if op == "gt":
        return bool(actual > expected)
    if op == "gte":
        return bool(actual >= expected)
    if op == "lt":
        return bool(actual < expected)
    return bool(actual <= expected)


def _check_now(now: datetime | None, op: str) -> datetime:
    if now is None:
        raise RulesError(f"{op} needs the current time: pass now=")
    if now.tzinfo is None:
        raise RulesError(f"now must be timezone-aware, got {now.isoformat()}")
    return now


def compare(op: Operator, actual: Any, expected: Any, now: datetime | None = None) -> bool:
    """Apply one operator to a value (:data:`MISSING` when absent); see the module docstring."""
    if op == "exists":
        return (actual is not MISSING and actual is not None) == bool(expected)
    if actual is MISSING or actual is None:
        return False
    if op in ("within", "older_than"):
        current = _check_now(now, op)
        if not isinstance(expected, timedelta):
            raise RulesError(f"{op} takes a duration such as 30d, got {expected!r}")
        instant = as_instant(actual)
        if instant is None:
            return False
        if op == "within":
            return current - expected <= instant <= current
        return instant < current - expected
    actual = _plain(actual)
    if op == "eq":
        return _equal(actual, expected)
    if op == "ne":
        return not _equal(actual, expected)
    if op == "in":
        return any(_equal(actual, item) for item in expected)
    if op == "not_in":
        return not any(_equal(actual, item) for item in expected)
    if op in ("gt", "gte", "lt", "lte"):
        return _ordered(op, actual, expected)
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        if isinstance(actual, list):
            return any(_equal(_plain(item), expected) for item in actual)
        return False
    raise RulesError(f"unknown operator {op!r}")


def match_value(spec: Any, actual: Any, now: datetime | None = None) -> bool:
    """Match one value against a plain value (eq) or a condition (model or mapping)."""
    if isinstance(spec, Mapping):
        try:
            spec = Condition.model_validate(spec)
        except ValidationError as exc:
            raise RulesError(f"not a condition: {dict(spec)!r}: {exc}") from None
    if isinstance(spec, Operators):  # a Condition, or an attribute/context rule
        op, expected = spec.operator()
        return compare(op, actual, expected, now)
    return compare("eq", actual, spec, now)


def match_where(
    where: Mapping[str, Any] | None, properties: Mapping[str, Any], *, now: datetime | None = None
) -> bool:
    """Whether properties meet every condition of a ``where`` mapping (empty or None: yes).

    ``where`` may be validated (:data:`rules.models.WhereSpec`) or raw YAML/JSON-shaped
    (plain values and ``{op: value}`` mappings, e.g. after templates were resolved); a
    resolved template that came out missing (None) matches nothing. ``now`` is needed
    only for ``within``/``older_than``.
    """
    if not where:
        return True
    return all(match_value(spec, lookup(properties, key), now) for key, spec in where.items())
