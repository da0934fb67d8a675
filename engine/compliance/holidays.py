"""Clinic holidays: days (or hours of days) added to the quiet window of marketing sends.

A workspace's ``holidays.yaml`` lists holidays for every clinic or for some
(``clinics``, matched against the customer's ``clinic_id`` attribute), each a
``date`` or a ``from``/``to`` range, all day or between ``start`` and ``end``::

    holidays:
      - {name: 国庆节, from: 2026-10-01, to: 2026-10-07}
      - {name: 院区盘点, date: 2026-11-20, clinics: [sz-01], start: "12:00", end: "18:00"}

Times are in the customer's timezone, as quiet hours are. A marketing send that falls
on a holiday waits until the holiday's window ends (and, should that be inside quiet
hours, until those end too). Validation reads the file with file and line errors
(rule ``C-holidays``); the deploy stores it as the ``holidays`` document.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from engine.errors import Problem
from engine.models.compliance import Holiday, HolidaysFile, minutes_of
from engine.models.reading import read_model

__all__ = ["FILE", "holiday_at", "load_holidays", "parse_document"]

FILE = "holidays.yaml"


def load_holidays(root: str | Path | None) -> tuple[dict[str, Any], list[Problem]]:
    """The ``holidays`` document of the workspace (empty without a file) and its problems."""
    path = Path(root, FILE) if root is not None else None
    if path is None or not path.is_file():
        return {"holidays": []}, []
    try:
        loaded = read_model(path, HolidaysFile)
    except ValueError as exc:  # the YAML reader builds dates itself: 2026-13-01 raises
        return {"holidays": []}, [_bad_date(path, exc)]
    # The loader's codes name the kind of mistake; a holiday that makes no sense as a
    # holiday (no date, end before start) is C-holidays.
    problems = [_as_rule(p, "C-holidays") if p.rule == "E-value" else p for p in loaded.problems]
    if not isinstance(loaded.model, HolidaysFile) or problems:
        return {"holidays": []}, problems
    return loaded.model.model_dump(mode="json", by_alias=True, exclude_none=True), []


_DATE = re.compile(r"\b\d{4}-\d{1,2}-\d{1,2}\b")


def _bad_date(path: Path, exc: ValueError) -> Problem:
    """The line of the first date that is not a calendar day."""
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        for found in _DATE.findall(text):
            try:
                dt.date.fromisoformat(found)
            except ValueError:
                return Problem(
                    str(path),
                    number,
                    f"{found} is not a date ({exc})",
                    "write a calendar day as YYYY-MM-DD",
                    "C-holidays",
                )
    return Problem(
        str(path), None, f"a date is not valid ({exc})", "write YYYY-MM-DD", "C-holidays"
    )


def _as_rule(problem: Problem, rule: str) -> Problem:
    return Problem(problem.file, problem.line, problem.message, problem.fix, rule)


def parse_document(document: dict[str, Any] | None) -> tuple[Holiday, ...]:
    """The holidays of a deployed document (none when nothing was deployed)."""
    if not document:
        return ()
    return tuple(HolidaysFile.model_validate(document).holidays)


def holiday_at(
    now: dt.datetime, timezone: str, clinic: str | None, holidays: Sequence[Holiday]
) -> tuple[dt.datetime, Holiday] | None:
    """The holiday whose window holds ``now`` for a customer of ``clinic``, and when that
    window ends (a whole-day holiday that runs into the next day ends with the last)."""
    tz = ZoneInfo(timezone)
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    for holiday in holidays:
        if not holiday.covers(local.date(), clinic):
            continue
        start, end = minutes_of(holiday.start), minutes_of(holiday.end)
        if not start <= minute < end:
            continue
        day = local.date()
        # A window to midnight followed by one from midnight is one window: skip ahead.
        while end == 24 * 60 and start == 0 and holiday.covers(day + dt.timedelta(days=1), clinic):
            day += dt.timedelta(days=1)
        midnight = dt.datetime.combine(day, dt.time(0), tzinfo=tz)
        ends = midnight + dt.timedelta(minutes=end)
        # Re-anchor across a DST change: the wall-clock end, not 24 h of elapsed time.
        ends = dt.datetime.combine(ends.date(), ends.time(), tzinfo=tz)
        return ends.astimezone(now.tzinfo), holiday
    return None
