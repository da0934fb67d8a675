"""What the call-task page shows of a task, worked out without the store: the phone as
staff may see it (masked until they claim the task), the time left or overdue, the
customer's age, the order of the list, and who a claimant is.

These are plain functions over values, tested without a browser
(``tests/api/console/test_tasks.py``); ``task_view`` reads the store and calls them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from engine.store.records import HandoffTask

#: How a console user's changes are attributed (``Caller.source`` of ``principal_of``).
CONSOLE_SOURCE_PREFIX = "api:console:"
#: Digits kept visible at each end of a masked phone number: 138****0000.
_HEAD, _TAIL = 3, 4


@dataclass(frozen=True)
class TimeLeft:
    """How long until a task is due (``overdue``: how long since), in whole minutes."""

    overdue: bool
    minutes: int

    @property
    def days(self) -> int:
        return self.minutes // (24 * 60)

    @property
    def hours(self) -> int:
        return self.minutes // 60 % 24

    @property
    def rest(self) -> int:
        """The minutes beyond the whole hours."""
        return self.minutes % 60


def national(phone: str) -> str:
    """The number as dialled in China: ``+8613800000000`` -> ``13800000000``; other
    numbers keep their country code."""
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    return digits[3:] if digits.startswith("+86") else digits


def masked_phone(phone: str) -> str:
    """The number with its middle hidden: ``+8613800000000`` -> ``138****0000``.

    Short numbers keep only their last two digits, so a mask never shows most of one.
    """
    number = national(phone)
    digits = number.lstrip("+")
    sign = number[: len(number) - len(digits)]
    if len(digits) < _HEAD + _TAIL + 2:
        return sign + "*" * max(len(digits) - 2, 2) + digits[-2:]
    hidden = len(digits) - _HEAD - _TAIL
    return sign + digits[:_HEAD] + "*" * hidden + digits[-_TAIL:]


def tel_href(phone: str) -> str:
    """A ``tel:`` link that dials the number from any phone (E.164 when we have it)."""
    return "tel:" + "".join(ch for ch in phone if ch.isdigit() or ch == "+")


def time_left(due_at: dt.datetime | None, now: dt.datetime) -> TimeLeft | None:
    """The time until ``due_at`` (rounded up to the minute, so "0 minutes left" never
    shows while time remains), or since it (rounded down); None without a due time."""
    if due_at is None:
        return None
    seconds = (due_at - now).total_seconds()
    if seconds > 0:
        return TimeLeft(False, int(-(-seconds // 60)))
    return TimeLeft(True, int(-seconds // 60))


def age_of(attributes: dict[str, Any], today: dt.date) -> int | None:
    """Whole years from ``birth_date`` (ISO date) to ``today``, else an ``age``
    attribute that is a whole number; None when the profile has neither."""
    raw = attributes.get("birth_date")
    if isinstance(raw, str):
        try:
            born = dt.date.fromisoformat(raw[:10])
        except ValueError:
            born = None
        if born is not None and born <= today:
            return today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    age = attributes.get("age")
    if isinstance(age, int) and not isinstance(age, bool) and 0 <= age < 150:
        return age
    return None


def ordered(tasks: Iterable[HandoffTask], now: dt.datetime) -> list[HandoffTask]:
    """Unfinished before done; then overdue first (the longest overdue on top), then
    the soonest due, then those without a due time, oldest first."""

    def key(task: HandoffTask) -> tuple[bool, bool, dt.datetime, dt.datetime, str]:
        due = task.due_at
        return (task.status == "done", due is None, due or now, task.created_at, task.id)

    return sorted(tasks, key=key)


def username_of(source: str | None) -> str | None:
    """The console username behind a claimant (``api:console:wang.desk`` ->
    ``wang.desk``); None for an API key or nobody."""
    if source is None or not source.startswith(CONSOLE_SOURCE_PREFIX):
        return None
    return source[len(CONSOLE_SOURCE_PREFIX) :] or None


def digest(html: str) -> str:
    """A short fingerprint of the rendered list: the poll answers "no change" when the
    page already shows this one."""
    return hashlib.sha256(html.encode()).hexdigest()[:16]
