"""The funnel's definition (contract section 2, "Funnels") in plain Python, for the
tests that hold the SQL report to it: enter at the first S1 event in the range; step k
is the earliest Sk event strictly after step k-1's and before entry + W."""

from __future__ import annotations

import datetime as dt
import json
from fractions import Fraction
from typing import Any

from engine.models.reports.funnel import (
    FunnelGroup,
    FunnelReport,
    FunnelRequest,
    FunnelStep,
    FunnelStepFigures,
)
from engine.models.reports.scope import NONE, ReportScope
from rules.match import match_where
from tests.engine.store.reports.population import ROLES, START, Customer, Event, Population

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
US = dt.timedelta(microseconds=1)
HOUR, DAY = dt.timedelta(hours=1), dt.timedelta(days=1)


def scope_of(
    days: int = 10, clinics: tuple[str, ...] | None = None, tz: str = "Asia/Shanghai"
) -> ReportScope:
    """The report's scope: ten local days from START, every clinic, in Shanghai."""
    return ReportScope(
        start=START,
        end=START + dt.timedelta(days=days),
        timezone=tz,
        clinics=clinics,
        roles=ROLES,
    )


def text_of(value: Any) -> str | None:
    """A group value as the report writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return json.dumps(value)
    return None


def matches(event: Event, step: FunnelStep) -> bool:
    return event.name == step.event and match_where(step.where, event.properties)


def journey(
    population: Population, c: Customer, scope: ReportScope, request: FunnelRequest
) -> tuple[list[Event], list[dt.datetime]] | None:
    """(entry events, times of the steps reached) of one customer; None when not entered."""
    events = [e for e in population.events if e.customer_id == c.id]
    first = request.steps[0]
    entries = [e for e in events if matches(e, first) and scope.since <= e.at < scope.until]
    if not entries:
        return None
    entry = min(e.at for e in entries)
    times = [entry]
    for step in request.steps[1:]:
        later = [
            e.at
            for e in events
            if matches(e, step) and e.at > times[-1] and e.at < entry + request.window
        ]
        if not later:
            break
        times.append(min(later))
    return [e for e in entries if e.at == entry], times


def group_of(population: Population, c: Customer, entries: list[Event], by: Any) -> str:
    kind, name = by
    if kind == "event":
        values = [text_of(e.properties.get(name)) for e in entries]
    elif kind == "attribute":
        values = [text_of({"clinic_id": c.clinic}.get(name) if c.clinic else None)]
    else:
        firsts = [t for t in population.touches if t.customer_id == c.id and t.first]
        values = [t.fields.get(name) for t in firsts]
    present = [v for v in values if v is not None]
    return min(present) if present else NONE


def figures(events: list[str], journeys: list[list[dt.datetime]]) -> list[FunnelStepFigures]:
    out = []
    for k, event in enumerate(events, start=1):
        reached = [t for t in journeys if len(t) >= k]
        before = len([t for t in journeys if len(t) >= k - 1]) if k > 1 else 0
        gaps = sorted((t[k - 1] - t[k - 2]) // US for t in reached) if k > 1 else []
        median: float | None = None
        if gaps:
            n = len(gaps)
            middle = (
                Fraction(gaps[n // 2]) if n % 2 else Fraction(gaps[n // 2 - 1] + gaps[n // 2], 2)
            )
            median = float(middle / 1_000_000)
        out.append(
            FunnelStepFigures(
                event=event,
                customers=len(reached),
                from_previous=(round(len(reached) / before, 4) if before else None)
                if k > 1
                else None,
                from_first=round(len(reached) / len(journeys), 4) if journeys else None,
                median_seconds_from_previous=median,
            )
        )
    return out


def oracle(population: Population, scope: ReportScope, request: FunnelRequest) -> FunnelReport:
    """Contract section 2, Funnels: enter at the first S1 in the range; step k is the
    earliest Sk strictly after step k-1's event and before entry + W."""
    by = request.split()
    everyone: list[list[dt.datetime]] = []
    groups: dict[str, list[list[dt.datetime]]] = {}
    latest: dt.datetime | None = None
    for c in population.live(scope):
        found = journey(population, c, scope, request)
        if found is None:
            continue
        entries, times = found
        everyone.append(times)
        latest = times[0] if latest is None else max(latest, times[0])
        if by is not None:
            groups.setdefault(group_of(population, c, entries, by), []).append(times)
    events = [s.event for s in request.steps]
    order = sorted(groups, key=lambda v: (-len(groups[v]), v))
    return FunnelReport(
        by=request.by,
        steps=figures(events, everyone),
        groups=[FunnelGroup(value=v, steps=figures(events, groups[v])) for v in order]
        if by is not None
        else None,
        provisional=latest is not None and latest + request.window > NOW,
    )
