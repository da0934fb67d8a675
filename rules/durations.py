"""Durations (``30s``, ``15m``, ``2h``, ``3d``, ``2w``, ``1d12h``) and times of day."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer, WithJsonSchema

from rules.errors import DurationError

_UNITS = {"w": 604800, "d": 86400, "h": 3600, "m": 60, "s": 1}
_DURATION_RE = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def parse_duration(text: str) -> timedelta:
    """Parse ``1d12h`` style text into a timedelta; raise DurationError when malformed."""
    m = _DURATION_RE.match(text.strip()) if isinstance(text, str) else None
    if not m or not any(m.groups()):
        raise DurationError(
            f"{text!r} is not a duration: write a number and a unit, e.g. 30s, 15m, 2h, 3d, 2w "
            "or combinations such as 1d12h"
        )
    seconds = sum(int(g) * f for g, f in zip(m.groups(), _UNITS.values(), strict=True) if g)
    try:
        return timedelta(seconds=seconds)
    except OverflowError:
        raise DurationError(f"{text!r} is longer than any duration carepath keeps") from None


def format_duration(value: timedelta) -> str:
    """Write a timedelta back in the journey language's notation."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0s"
    if seconds % _UNITS["w"] == 0:
        return f"{seconds // _UNITS['w']}w"
    out = []
    for unit, size in _UNITS.items():
        if unit == "w":
            continue  # 180d reads better than 25w5d
        n, seconds = divmod(seconds, size)
        if n:
            out.append(f"{n}{unit}")
    return "".join(out)


def parse_time_of_day(text: str) -> tuple[int, int]:
    """Parse ``HH:MM`` (24-hour) into (hour, minute)."""
    m = _TIME_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise DurationError(f"{text!r} is not a time of day: write HH:MM, e.g. 09:30 or 21:00")
    return int(m.group(1)), int(m.group(2))


def _to_duration(value: Any) -> Any:
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except DurationError as exc:
            raise ValueError(str(exc)) from None
    raise ValueError("a duration is written as text such as 30m, 2h, 3d or 1d12h")


def _to_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parse_time_of_day(value)
        except DurationError as exc:
            raise ValueError(str(exc)) from None
        return value
    raise ValueError("a time of day is written as text HH:MM, e.g. 09:30 (quote it in YAML)")


Duration = Annotated[
    timedelta,
    BeforeValidator(_to_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?$",
            "description": "A duration such as 30s, 15m, 2h, 3d, 2w or 1d12h.",
        }
    ),
]
"""A pydantic field type: accepts ``1d12h`` text, serialises back to it."""

TimeOfDay = Annotated[
    str,
    BeforeValidator(_to_time),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01]\d|2[0-3]):[0-5]\d$",
            "description": "A time of day HH:MM in the customer's timezone.",
        }
    ),
]
"""A pydantic field type for ``HH:MM``."""
