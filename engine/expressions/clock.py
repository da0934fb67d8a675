"""Time for carepath: the one wall clock (``utcnow``), and pure arithmetic for waits
(local times of day, weekdays, date values)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


def utcnow() -> datetime:
    """The current time, aware and in UTC: what the service side stamps records with
    (never called from workflow code, which reads ``workflow.now()``)."""
    return datetime.now(UTC)


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def next_local_time(
    now: datetime,
    tz_name: str,
    hour: int,
    minute: int,
    weekdays: Sequence[str] | None = None,
) -> datetime:
    """The first moment at or after ``now`` that is HH:MM in ``tz_name`` on an allowed day."""
    tz = ZoneInfo(tz_name)
    local = now.astimezone(tz)
    allowed = set(weekdays) if weekdays else set(_WEEKDAYS)
    for days in range(8):
        day = local.date() + timedelta(days=days)
        if _WEEKDAYS[day.weekday()] not in allowed:
            continue
        candidate = datetime.combine(day, time(hour, minute), tzinfo=tz)
        if candidate >= local:
            return candidate.astimezone(UTC)
    raise ValueError("no allowed weekday")  # unreachable: 8 days cover every weekday


def parse_when(value: Any, tz_name: str) -> datetime | None:
    """A date or datetime value (ISO text or object) as an aware UTC datetime.

    A date without a time means local midnight in the customer's timezone; a naive
    datetime is taken as local time too.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        parsed = datetime.combine(value, time(0, 0))
    elif isinstance(value, str):
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo(tz_name))
    return parsed.astimezone(UTC)


def in_local_window(
    now: datetime, tz_name: str, start: tuple[int, int], end: tuple[int, int]
) -> datetime | None:
    """If ``now`` falls in the daily window [start, end) local time, when the window ends."""
    local = now.astimezone(ZoneInfo(tz_name))
    minutes = local.hour * 60 + local.minute
    s, e = start[0] * 60 + start[1], end[0] * 60 + end[1]
    inside = (s <= minutes < e) if s < e else (minutes >= s or minutes < e)
    if not inside:
        return None
    return next_local_time(now, tz_name, end[0], end[1])


def local_iso(when: datetime, tz_name: str) -> str:
    """``when`` as ISO text in the customer's timezone, to the second."""
    return when.astimezone(ZoneInfo(tz_name)).isoformat(timespec="seconds")
