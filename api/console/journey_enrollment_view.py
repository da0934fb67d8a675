"""What the enrollments pages show, read as pure data: the list's filters as the query
string gives them, the entry window they mean in the chain's timezone, and an
enrollment's trace as a timeline of moments.

The trace (journey language, section 5) says what happened at each step: a line whose
step differs from the line before is where the enrollment reached that step, so the
timeline marks it; the enrollment's own record gives the moment it entered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, get_args
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from engine.contracts.journey import EnrollmentStatusName, TraceEntry
from engine.models.steps import SplitStep
from engine.models.workspace import JourneyBundle
from engine.reports.journey_metrics import HOLDOUT
from engine.store.records import EnrollmentRecord

#: Enrollments per page of the list.
PAGE_SIZE = 50
STATUSES: tuple[str, ...] = get_args(EnrollmentStatusName)
#: Trace kinds the timeline words itself; any other is shown by its name.
KNOWN_KINDS = frozenset(
    {
        "send",
        "wait",
        "wait_for",
        "branch",
        "split",
        "tag",
        "update",
        "attempt",
        "receipt",
        "event",
        "timeout",
        "handoff",
        "goal",
        "exit",
        "context",
        "replan",
    }
)


@dataclass(frozen=True)
class Filters:
    """The list's filters; each None when not asked for (or not one of the choices)."""

    status: str | None = None
    step: str | None = None
    variant: str | None = None
    entered_from: date | None = None
    entered_to: date | None = None
    page: int = 1

    @property
    def offset(self) -> int:
        return (self.page - 1) * PAGE_SIZE

    def query(self, **changes: Any) -> str:
        """The query string of these filters with ``changes`` (for the pages' links)."""
        shown = replace(self, **changes)
        pairs = {
            "status": shown.status,
            "step": shown.step,
            "variant": shown.variant,
            "from": shown.entered_from.isoformat() if shown.entered_from else None,
            "to": shown.entered_to.isoformat() if shown.entered_to else None,
            "page": str(shown.page) if shown.page > 1 else None,
        }
        return urlencode({k: v for k, v in pairs.items() if v})

    def window(self, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
        """Entered on or after the ``from`` day and on or before the ``to`` day, local
        days of ``zone``, as [since, until)."""
        since = until = None
        if self.entered_from is not None:
            since = datetime.combine(self.entered_from, time(), zone)
        if self.entered_to is not None:
            until = datetime.combine(self.entered_to + timedelta(days=1), time(), zone)
        return since, until


def _day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text and len(text) == 10 else None
    except ValueError:
        return None


def _one_of(text: str | None, choices: list[str] | tuple[str, ...]) -> str | None:
    return text if text in choices else None


def filters_of(params: Mapping[str, str], steps: list[str], variants: list[str]) -> Filters:
    """The filters the query string asks for; what is not a valid choice is ignored."""
    page = params.get("page", "")
    return Filters(
        status=_one_of(params.get("status"), STATUSES),
        step=_one_of(params.get("step"), steps),
        variant=_one_of(params.get("variant"), variants),
        entered_from=_day(params.get("from")),
        entered_to=_day(params.get("to")),
        page=max(1, int(page)) if page.isdigit() and len(page) <= 4 else 1,
    )


def steps_of(bundles: list[JourneyBundle]) -> list[str]:
    """Every step id of these versions, the newest's order first."""
    found: list[str] = []
    for bundle in sorted(bundles, key=lambda b: -b.version):
        found += [s.id for s in bundle.journey.steps if s.id not in found]
    return found


def variants_of(bundles: list[JourneyBundle]) -> list[str]:
    """Every split variant of these versions (the holdout too, where a split has one)."""
    found: list[str] = []
    for bundle in sorted(bundles, key=lambda b: -b.version):
        for step in bundle.journey.steps:
            if isinstance(step, SplitStep):
                names = [v.name for v in step.split.variants]
                names += [HOLDOUT] if step.split.holdout else []
                found += [n for n in names if n not in found]
    return found


@dataclass(frozen=True)
class Moment:
    """One line of the timeline: ``what`` is ``entered``, ``reached`` (a step), a trace
    kind the page words, or ``other``; ``entry`` is the trace line (None: entered)."""

    at: datetime
    what: str
    step: str | None
    entry: TraceEntry | None


def timeline(record: EnrollmentRecord, trace: list[TraceEntry]) -> list[Moment]:
    """The enrollment's moments in order: entered, then each trace line, with a
    ``reached`` moment before the first line of each step it came to."""
    moments = [Moment(record.started_at, "entered", None, None)]
    previous: str | None = None
    for entry in trace:
        if entry.step is not None and entry.step != previous:
            moments.append(Moment(entry.at, "reached", entry.step, entry))
        previous = entry.step or previous
        what = entry.kind if entry.kind in KNOWN_KINDS else "other"
        moments.append(Moment(entry.at, what, entry.step, entry))
    return moments


__all__ = [
    "PAGE_SIZE",
    "STATUSES",
    "Filters",
    "Moment",
    "filters_of",
    "steps_of",
    "timeline",
    "variants_of",
]
