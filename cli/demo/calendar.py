"""The demo's time: the anchor day, the 180 days before it, and when people do things.

The anchor is the only input besides the seed: today at 00:00 Asia/Shanghai unless
``--today`` names another day. Every time in the demo is the anchor minus something
drawn from the seed, so the same seed and anchor give the same rows. Days weigh more at
weekends (clinics are busiest then) and more recently (the chain grows); hours follow
when people read their phones, or when a clinic is open.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import accumulate
from random import Random
from zoneinfo import ZoneInfo

__all__ = ["BROWSING", "CLINIC", "HISTORY_DAYS", "ZONE", "Calendar", "today_in_zone"]

ZONE = ZoneInfo("Asia/Shanghai")
HISTORY_DAYS = 180

#: Monday .. Sunday.
_WEEKDAY = (1.0, 0.95, 0.95, 1.0, 1.05, 1.35, 1.25)
#: Hour 0 .. 23: phones (browsing, messages) and the clinic's desk (bookings, visits).
_BROWSING = (
    0.3, 0.15, 0.1, 0.05, 0.05, 0.1, 0.4, 1.0, 1.6, 1.5, 1.4, 1.6,
    2.2, 2.0, 1.4, 1.3, 1.3, 1.5, 1.9, 2.4, 2.8, 2.9, 2.2, 1.0,
)  # fmt: skip
_CLINIC = (
    0, 0, 0, 0, 0, 0, 0, 0, 1.0, 2.0, 2.2, 2.0,
    1.0, 1.2, 2.0, 2.0, 1.8, 1.2, 0.4, 0, 0, 0, 0, 0,
)  # fmt: skip
BROWSING: tuple[float, ...] = tuple(accumulate(_BROWSING))
CLINIC: tuple[float, ...] = tuple(accumulate(_CLINIC))


def today_in_zone(now: datetime | None = None) -> date:
    """Today's date in Asia/Shanghai (the default anchor day)."""
    return (now or datetime.now(UTC)).astimezone(ZONE).date()


@dataclass(frozen=True, slots=True)
class Calendar:
    """Days ``0 .. HISTORY_DAYS - 1`` before the anchor, weighted for drawing."""

    anchor: datetime  # the anchor day at 00:00 local time: nothing happens from then on
    first_day: date
    cumulative: tuple[float, ...]  # cumulative[i]: weight of days before day i

    @classmethod
    def of(cls, today: date) -> Calendar:
        first = today - timedelta(days=HISTORY_DAYS)
        weights = [
            _WEEKDAY[(first + timedelta(days=d)).weekday()] * (0.7 + 0.6 * d / HISTORY_DAYS)
            for d in range(HISTORY_DAYS)
        ]
        anchor = datetime.combine(today, time(), ZONE)
        return cls(anchor=anchor, first_day=first, cumulative=(0.0, *accumulate(weights)))

    @property
    def start(self) -> datetime:
        """The first instant of the history (day 0 at 00:00 local time), as UTC."""
        return datetime.combine(self.first_day, time(), ZONE).astimezone(UTC)

    def date_of(self, day: int) -> date:
        return self.first_day + timedelta(days=day)

    def midnight(self, day: int) -> datetime:
        """Day ``day`` at 00:00 local time, as UTC (Asia/Shanghai keeps one offset all
        year, so days are 24 hours apart)."""
        return self.start + timedelta(days=day)

    def day_of(self, at: datetime) -> int:
        """The day number of an instant (negative before the history, >= 180 from the
        anchor on)."""
        return (at.astimezone(ZONE).date() - self.first_day).days

    def pick_day(self, rng: Random, lo: int = 0, hi: int = HISTORY_DAYS) -> int:
        """A day in ``[lo, hi)`` (clipped to the history), drawn by the days' weights."""
        lo, hi = max(lo, 0), min(hi, HISTORY_DAYS)
        if hi <= lo:
            return min(lo, HISTORY_DAYS - 1)
        low, high = self.cumulative[lo], self.cumulative[hi]
        point = low + rng.random() * (high - low)
        return min(max(bisect.bisect_right(self.cumulative, point) - 1, lo), hi - 1)

    def moment(self, rng: Random, day: int, hours: tuple[float, ...] = BROWSING) -> datetime:
        """An instant on ``day``, at an hour drawn by ``hours`` (cumulative weights)."""
        hour = bisect.bisect_right(hours, rng.random() * hours[-1])
        second = int(rng.random() * 3600)
        return self.midnight(day) + timedelta(seconds=min(hour, 23) * 3600 + second)

    def local_at(self, day: int, hour: int, minute: int = 0) -> datetime:
        """Day ``day`` at ``hour:minute`` local time, as UTC."""
        return self.midnight(day) + timedelta(hours=hour, minutes=minute)
