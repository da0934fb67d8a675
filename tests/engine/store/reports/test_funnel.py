"""Funnels: the SQL report against the contract's definition in plain Python
(:mod:`.funnel_oracle`), on generated populations whose events crowd the edges (the
same instant, a microsecond apart, exactly a window after the entry, the range's ends),
on SQLite and, with CAREPATH_TEST_DATABASE_URL, PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from engine.models.reports.funnel import FunnelRequest
from engine.store.sql.reports.funnel import funnel_report
from tests.engine.store.reports.funnel_oracle import DAY, HOUR, NOW, US, oracle, scope_of
from tests.engine.store.reports.population import (
    BASE,
    CLINICS,
    Customer,
    Event,
    Population,
    Touch,
    database,
    instants,
    loaded,
)

pytestmark = pytest.mark.db
__all__ = ["database"]

NAMES = ("content.viewed", "page.viewed", "appointment.booked", "appointment.paid")
WHERES: list[dict[str, Any] | None] = [
    *[None] * 6,
    {"page": "mall"},
    {"content_id": {"in": ["a1"]}},
    {"amount": {"gte": 100}},
    {"amount": {"exists": True}},
    {"page": {"ne": "home"}},
    {"content_id": {"not_in": ["a2"]}, "page": {"exists": False}},
    {"content_id": {"contains": "1"}},
    {"amount": 100},
    {"amount": {"lt": "5"}},
]
SPLITS = [
    None,
    "event.content_id",
    "event.amount",
    "event.vip",
    "attribute.clinic_id",
    "first_touch.channel",
    "first_touch.utm_source",
]


#: Instants that meet: the same instant twice, a microsecond apart, exactly an hour
#: and a day apart (the windows below), around the range's ends (days 0 and 10).
_POOL = [
    BASE + dt.timedelta(days=d) + delta
    for d in (-1, 0, 1, 9, 10)
    for delta in (dt.timedelta(), US, -US, HOUR, HOUR - US, DAY, DAY - US)
]


#: Gaps between the steps of a walk: none, a microsecond, either side of the windows.
_STRIDES = [dt.timedelta(), US, HOUR - US, HOUR, DAY - US, DAY, 3 * DAY]
#: Properties most wheres above hold for (not all: some walks stop at a where).
_MATCHING = st.just({"page": "mall", "content_id": "a1", "amount": 100})


def _properties() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "amount": st.sampled_from([100, 250.5, 0.01, 1.0, "12", None, [1]]),
            "content_id": st.sampled_from(["a1", "a2", "文章"]),
            "page": st.sampled_from(["mall", "home"]),
            "vip": st.booleans(),
        },
    )


@st.composite
def funnel_populations(draw: st.DrawFn, walk: tuple[str, ...] = ()) -> Population:
    """Customers with touches and events; some walk the steps ``walk`` in order (at
    instants of the pool, ties included), among events of any step."""
    n = draw(st.integers(1, 7))
    customers = [Customer(f"u{i}", draw(st.sampled_from([*CLINICS, None]))) for i in range(n)]
    if n > 1 and draw(st.booleans()):
        customers.append(Customer("merged", customers[1].clinic, merged_into=customers[0].id))
    touches: list[Touch] = []
    events: list[Event] = []
    at = st.one_of(*[st.sampled_from(_POOL)] * 6, instants())
    for c in customers:
        if c.merged_into is not None:
            continue  # as a merge leaves them: no events or touches of their own
        for i in range(draw(st.integers(0, 2))):
            fields = draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "channel": st.sampled_from(["qrcode", "web"]),
                        "utm_source": st.sampled_from(["baidu", "dianping"]),
                    },
                )
            )
            touches.append(Touch(c.id, draw(at), i == 0, fields))
        if walk and draw(st.sampled_from([True, True, True, False])):
            when = draw(st.sampled_from(_POOL[7:-7]))  # entering in the range
            for name in walk:
                events.append(Event(c.id, name, when, draw(st.one_of(_MATCHING, _properties()))))
                when += draw(st.sampled_from(_STRIDES))
        for _ in range(draw(st.integers(0, 8))):
            name = draw(st.sampled_from(NAMES[:3]))
            events.append(Event(c.id, name, draw(at), draw(_properties())))
    return Population(customers, touches, events)


@st.composite
def requests(draw: st.DrawFn) -> FunnelRequest:
    steps = [
        {"event": draw(st.sampled_from(NAMES[:3])), "where": draw(st.sampled_from(WHERES))}
        for _ in range(draw(st.integers(2, 4)))
    ]
    window = draw(st.sampled_from(["1h", "1d", "7d", "60d"]))
    return FunnelRequest.model_validate(
        {"steps": steps, "window": window, "by": draw(st.sampled_from(SPLITS))}
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[Population, FunnelRequest]:
    """A funnel, and a population some of whose customers walk its steps."""
    request = draw(requests())
    walk = tuple(step.event for step in request.steps)
    return draw(funnel_populations(walk)), request


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    case=cases(),
    clinics=st.sampled_from([None, None, ("c1",), ()]),
    tz=st.sampled_from(["Asia/Shanghai", "UTC"]),
)
def test_matches_the_definition(
    database: Engine,
    case: tuple[Population, FunnelRequest],
    clinics: tuple[str, ...] | None,
    tz: str,
) -> None:
    population, request = case
    asked = scope_of(clinics=clinics, tz=tz)
    with loaded(database, population) as s:
        assert funnel_report(s, asked, request, now=NOW) == oracle(population, asked, request)
