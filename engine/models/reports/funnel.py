"""Funnels (contract section 2, "Funnels"): the steps asked for, and the customers who
reach each step, overall and per group.

A customer enters at their first ``S1`` event in the range; they reach step k with the
earliest ``Sk`` event strictly after the event of step k-1 and before entry + ``W``.
``by`` names what splits the entrants into groups:

- ``event.<property>``: a property of the entry event;
- ``attribute.<name>``: a profile attribute;
- ``first_touch.<field>``: a first-touch field (:data:`FIRST_TOUCH_FIELDS`).

A group's value is text: text as it is, numbers as their decimal text, true/false as
``true``/``false``; customers without a value (absent, null, a list or an object) are
in the group ``(none)``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.models.events import EventName
from engine.models.reports.scope import FIRST_TOUCH_FIELDS
from rules.conditions import Condition, WhereSpec
from rules.durations import Duration, parse_duration
from rules.errors import DurationError

ByKind = Literal["event", "attribute", "first_touch"]
#: The fewest and most steps a funnel has.
MIN_STEPS, MAX_STEPS = 2, 8
#: The shortest and longest window.
MIN_WINDOW, MAX_WINDOW = dt.timedelta(hours=1), dt.timedelta(days=366)
#: Operators a step's ``where`` may not use: they compare with the current time.
_CLOCK_OPERATORS = ("within", "older_than")
_BAD_NAME = ('"', "\\", "\x00")
#: A property path of a ``where``: names joined by dots, no quotes, backslashes or NUL.
_PATH = re.compile(r'^[^."\\\x00]+(\.[^."\\\x00]+)*$')


class FunnelStep(BaseModel):
    """One step: an event name and, optionally, conditions on its properties."""

    model_config = ConfigDict(extra="forbid")

    event: EventName = Field(description="the event name, e.g. appointment.booked")
    where: WhereSpec | None = Field(
        None,
        description="conditions on the event's properties, as in the rule language "
        "({page: mall}, {amount: {gte: 100}}, {content_id: {in: [a1, a2]}}); "
        "within and older_than are not allowed",
    )

    @field_validator("where", mode="before")
    @classmethod
    def _no_clock(cls, where: Any) -> Any:
        # Refused before their durations are read (a huge one would not parse).
        for key, spec in where.items() if isinstance(where, dict) else ():
            if isinstance(spec, dict) and any(op in spec for op in _CLOCK_OPERATORS):
                raise ValueError(
                    f"{key}: within and older_than compare with the current time; a "
                    "funnel's steps are bounded by its range and window instead"
                )
        return where

    @field_validator("where")
    @classmethod
    def _answerable(cls, where: dict[str, Any] | None) -> dict[str, Any] | None:
        for key, spec in (where or {}).items():
            if not _PATH.match(key):
                raise ValueError(
                    f"{key!r} is not a property: write its name, or a dotted path "
                    "(a.b) to a nested one, without quotes or backslashes"
                )
            expected = spec.operator()[1] if isinstance(spec, Condition) else spec
            if _has_nul(expected):
                raise ValueError(f"{key}: a value may not contain the NUL character")
        return where


def _has_nul(value: Any) -> bool:
    """Text (or a list with text) holding NUL, which PostgreSQL text cannot."""
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return isinstance(value, str) and "\x00" in value


def parse_by(text: str) -> tuple[ByKind, str]:
    """``event.<property>``, ``attribute.<name>`` or ``first_touch.<field>`` as (kind,
    name); ValueError saying how to write it otherwise."""
    kind, dot, name = text.partition(".")
    kinds = get_args(ByKind)
    if not dot or kind not in kinds or not name:
        raise ValueError(
            f"{text!r} is not a split: write event.<property> (of the entry event), "
            "attribute.<name> (of the profile) or first_touch.<field>"
        )
    if kind == "first_touch" and name not in FIRST_TOUCH_FIELDS:
        raise ValueError(
            f"{name!r} is not a first-touch field; one of: {', '.join(FIRST_TOUCH_FIELDS)}"
        )
    if "." in name or any(c in name for c in _BAD_NAME):
        raise ValueError(f"{name!r}: a split names one top-level key (no '.', '\"' or '\\')")
    return kind, name  # type: ignore[return-value]  # kind is checked against ByKind


class FunnelRequest(BaseModel):
    """The funnel asked for: its steps, the window and, optionally, a split."""

    model_config = ConfigDict(extra="forbid")

    steps: list[FunnelStep] = Field(
        min_length=MIN_STEPS,
        max_length=MAX_STEPS,
        description=f"the steps in order, {MIN_STEPS} to {MAX_STEPS}",
    )
    window: Duration = Field(
        description="how long after entering a customer may reach the later steps "
        "(1h to 366d, e.g. 60d)"
    )
    by: str | None = Field(
        None,
        max_length=140,
        description="split the entrants: event.<property> of the entry event, "
        "attribute.<name> of the profile, or first_touch.<field> "
        "(channel, utm_source, ...)",
        examples=["event.content_id", "attribute.clinic_id", "first_touch.channel"],
    )

    @field_validator("window", mode="before")
    @classmethod
    def _not_huge(cls, window: Any) -> Any:
        # Hours past timedelta's range would overflow while parsing: refuse them here.
        if isinstance(window, str):
            try:
                return parse_duration(window)
            except OverflowError:
                raise ValueError("must be between 1h and 366d") from None
            except DurationError as exc:
                raise ValueError(str(exc)) from None
        return window

    @field_validator("window")
    @classmethod
    def _window_range(cls, window: dt.timedelta) -> dt.timedelta:
        if not MIN_WINDOW <= window <= MAX_WINDOW:
            raise ValueError("must be between 1h and 366d")
        if window % dt.timedelta(seconds=1):
            raise ValueError("must be whole seconds")
        return window

    @field_validator("by")
    @classmethod
    def _split(cls, by: str | None) -> str | None:
        if by is not None:
            parse_by(by)
        return by

    def split(self) -> tuple[ByKind, str] | None:
        """What ``by`` splits on, as (kind, name); None without a split."""
        return None if self.by is None else parse_by(self.by)


class FunnelStepFigures(BaseModel):
    """The customers who reached one step, and how they got there."""

    event: str = Field(description="the step's event name")
    customers: int = Field(description="customers who reached the step")
    from_previous: float | None = Field(
        description="customers / the previous step's, four decimals; null on the first "
        "step and when the previous step has nobody",
        examples=[0.4321],
    )
    from_first: float | None = Field(
        description="customers / the first step's, four decimals; null when nobody entered",
        examples=[0.1234],
    )
    median_seconds_from_previous: float | None = Field(
        description="the median time from the previous step's event to this one's, in "
        "seconds (microsecond precision); null on the first step and when nobody reached it",
        examples=[3600.0],
    )


class FunnelGroup(BaseModel):
    """The funnel of the entrants with one value of ``by``."""

    value: str = Field(description="the value of by; (none) for entrants without one")
    steps: list[FunnelStepFigures] = Field(description="one per step, in order")


class FunnelLine(BaseModel):
    """One step of the funnel or of one group: a line of the CSV export."""

    by: str | None = Field(description="the split; empty on the lines of all entrants")
    value: str | None = Field(description="the group's value; empty on the lines of all entrants")
    step: int = Field(description="the step's position, from 1")
    event: str
    customers: int
    from_previous: float | None
    from_first: float | None
    median_seconds_from_previous: float | None


class FunnelReport(BaseModel):
    """Customers reaching each step of a funnel, overall and per group."""

    by: str | None = Field(description="the split asked for; null without one")
    steps: list[FunnelStepFigures] = Field(description="all entrants, one per step, in order")
    groups: list[FunnelGroup] | None = Field(
        description="per value of by, most entrants first (ties by value); null without by"
    )
    provisional: bool = Field(
        description="true while the window of some entrant has not closed: later steps "
        "may still be reached"
    )

    def lines(self) -> list[FunnelLine]:
        """Every step of the funnel and of each group, as CSV lines."""
        blocks: list[tuple[str | None, str | None, list[FunnelStepFigures]]]
        blocks = [(None, None, self.steps)]
        blocks += [(self.by, g.value, g.steps) for g in self.groups or []]
        return [
            FunnelLine(by=by, value=value, step=i, **figures.model_dump())
            for by, value, steps in blocks
            for i, figures in enumerate(steps, start=1)
        ]
