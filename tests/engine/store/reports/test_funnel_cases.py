"""Funnels: the cases the definition decides, each on SQLite and (with
CAREPATH_TEST_DATABASE_URL) PostgreSQL, and each checked against the oracle too."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import Engine

from engine.models.reports.funnel import FunnelReport, FunnelRequest, FunnelStepFigures
from engine.store.sql.reports.funnel import funnel_report
from tests.engine.store.reports.funnel_oracle import DAY, HOUR, NOW, US, oracle, scope_of
from tests.engine.store.reports.population import (
    BASE,
    Customer,
    Event,
    Population,
    database,
    loaded,
)

pytestmark = pytest.mark.db
__all__ = ["database"]


def funnel(
    *steps: str | tuple[str, dict[str, Any]], window: str = "1d", by: str | None = None
) -> FunnelRequest:
    return FunnelRequest.model_validate(
        {
            "steps": [
                {"event": s} if isinstance(s, str) else {"event": s[0], "where": s[1]}
                for s in steps
            ],
            "window": window,
            "by": by,
        }
    )


def report_of(
    database: Engine, events: list[Event], request: FunnelRequest, **kw: Any
) -> FunnelReport:
    customers = [Customer(c, "c1") for c in sorted({e.customer_id for e in events})]
    population = Population(customers, [], events)
    with loaded(database, population) as s:
        got = funnel_report(s, scope_of(**kw), request, now=NOW)
    assert got == oracle(population, scope_of(**kw), request)
    return got


def reached(report: FunnelReport) -> list[int]:
    return [s.customers for s in report.steps]


def test_an_event_at_the_same_instant_is_not_after(database: Engine) -> None:
    # A page view and a booking logged together: their order is unknown, so the booking
    # does not follow the view; a microsecond later it does.
    events = [
        Event("u0", "page.viewed", BASE),
        Event("u0", "appointment.booked", BASE),
        Event("u1", "page.viewed", BASE),
        Event("u1", "appointment.booked", BASE + US),
    ]
    report = report_of(database, events, funnel("page.viewed", "appointment.booked"))
    assert reached(report) == [2, 1]
    assert report.steps[1].median_seconds_from_previous == 0.000001


def test_one_event_never_serves_two_steps(database: Engine) -> None:
    events = [Event("u0", "page.viewed", BASE + HOUR)]
    assert reached(report_of(database, events, funnel("page.viewed", "page.viewed"))) == [1, 0]


def test_the_window_is_counted_from_the_entry_and_excludes_its_end(database: Engine) -> None:
    entry = BASE + HOUR
    events = [
        Event("u0", "content.viewed", entry),
        Event("u0", "appointment.booked", entry + DAY - US),  # the last microsecond in W
        Event("u1", "content.viewed", entry),
        Event("u1", "appointment.booked", entry + DAY),  # exactly W after: too late
        # Step 3 is within W of the entry, not of step 2.
        Event("u0", "appointment.paid", entry + DAY + HOUR),
    ]
    request = funnel("content.viewed", "appointment.booked", "appointment.paid", window="1d")
    assert reached(report_of(database, events, request)) == [2, 1, 0]


def test_customers_enter_at_their_first_step_1_event_in_the_range(database: Engine) -> None:
    end = BASE + 10 * DAY  # 2026-03-11 00:00 in Shanghai, the day after the range
    events = [
        # u0 viewed before the range too: the entry is the first view inside it.
        Event("u0", "content.viewed", BASE - 2 * HOUR),
        Event("u0", "appointment.booked", BASE - HOUR),
        Event("u0", "content.viewed", BASE),
        Event("u0", "appointment.booked", BASE + 2 * HOUR),
        Event("u1", "content.viewed", end - US),  # the range's last microsecond
        Event("u1", "appointment.booked", end + HOUR),  # later steps may fall after it
        Event("u2", "content.viewed", end),  # the first instant after the range
        Event("u2", "appointment.booked", end + HOUR),
    ]
    report = report_of(database, events, funnel("content.viewed", "appointment.booked"))
    assert reached(report) == [2, 2]
    # Gaps of 2 hours and of 1 hour and a microsecond: the median is their mean.
    assert report.steps[1].median_seconds_from_previous == 10_800_000_001 / 2_000_000


def test_days_are_local_to_the_timezone(database: Engine) -> None:
    # 2026-03-10 16:30 UTC is March 11 00:30 in Shanghai: after a range ending March 10
    # there, inside it in UTC.
    late = BASE + 10 * DAY + dt.timedelta(minutes=30)
    events = [Event("u0", "page.viewed", late), Event("u0", "appointment.booked", late + HOUR)]
    request = funnel("page.viewed", "appointment.booked")
    assert reached(report_of(database, events, request)) == [0, 0]
    assert reached(report_of(database, events, request, tz="UTC")) == [1, 1]


def test_each_step_takes_the_earliest_event_after_the_previous_one(database: Engine) -> None:
    events = [
        Event("u0", "content.viewed", BASE),
        Event("u0", "appointment.paid", BASE + HOUR),  # before the booking: not yet
        Event("u0", "appointment.booked", BASE + 2 * HOUR),
        Event("u0", "appointment.booked", BASE + 3 * HOUR),
        Event("u0", "appointment.paid", BASE + 5 * HOUR),
        Event("u0", "appointment.paid", BASE + 6 * HOUR),
    ]
    request = funnel("content.viewed", "appointment.booked", "appointment.paid")
    report = report_of(database, events, request)
    assert reached(report) == [1, 1, 1]
    medians = [s.median_seconds_from_previous for s in report.steps]
    assert medians == [None, 7200.0, 10800.0]
    assert [s.from_previous for s in report.steps] == [None, 1.0, 1.0]


def test_where_uses_the_rule_operators(database: Engine) -> None:
    events = [
        Event("u0", "page.viewed", BASE, {"page": "mall"}),
        Event("u0", "appointment.paid", BASE + HOUR, {"amount": 250.5}),
        Event("u1", "page.viewed", BASE, {"page": "home"}),
        Event("u2", "page.viewed", BASE, {"page": "mall"}),
        Event("u2", "appointment.paid", BASE + HOUR, {"amount": "250.5"}),  # text: no number
    ]
    request = funnel(
        ("page.viewed", {"page": {"in": ["mall", "promo"]}}),
        ("appointment.paid", {"amount": {"gte": 100}}),
    )
    report = report_of(database, events, request)
    assert reached(report) == [2, 1]
    assert [s.from_first for s in report.steps] == [1.0, 0.5]


def test_groups_by_the_entry_event_and_refunds_are_events_like_any(database: Engine) -> None:
    events = [
        # Two entry events at the same instant: the least value is the group.
        Event("u0", "content.viewed", BASE, {"content_id": "a2"}),
        Event("u0", "content.viewed", BASE, {"content_id": "a1"}),
        Event("u0", "appointment.refunded", BASE + HOUR, {"amount": 100}),
        Event("u1", "content.viewed", BASE + HOUR, {"content_id": 7}),
        Event("u1", "content.viewed", BASE + 2 * HOUR, {"content_id": "a1"}),  # not the entry
        Event("u2", "content.viewed", BASE, {}),
        Event("u3", "content.viewed", BASE, {"content_id": "a1"}),
    ]
    request = funnel("content.viewed", "appointment.refunded", by="event.content_id")
    report = report_of(database, events, request)
    assert report.groups is not None
    assert [(g.value, reached_of(g.steps)) for g in report.groups] == [
        ("a1", [2, 1]),
        ("(none)", [1, 0]),
        ("7", [1, 0]),
    ]


def reached_of(steps: list[FunnelStepFigures]) -> list[int]:
    return [s.customers for s in steps]


def test_nobody_entered_gives_empty_figures(database: Engine) -> None:
    request = funnel("content.viewed", "appointment.booked", by="first_touch.channel")
    report = report_of(database, [Event("u0", "page.viewed", BASE)], request)
    assert report.groups == []
    assert [(s.customers, s.from_first, s.from_previous) for s in report.steps] == [
        (0, None, None),
        (0, None, None),
    ]
    assert report.provisional is False


def test_a_window_still_open_is_provisional(database: Engine) -> None:
    events = [Event("u0", "page.viewed", BASE)]
    request = funnel("page.viewed", "appointment.booked", window="366d")
    population = Population([Customer("u0", None)], [], events)
    with loaded(database, population) as s:
        before = funnel_report(s, scope_of(), request, now=BASE + 366 * DAY - US)
        after = funnel_report(s, scope_of(), request, now=BASE + 366 * DAY)
    assert (before.provisional, after.provisional) == (True, False)
