"""Small generated populations for the report property tests, and the plain-Python
reading of them that every oracle starts from.

A population is customers (some merged away, as a merge leaves them: no events or
touches of their own), their touches and events, and cost rows. Times cluster on the
edges reports must get right: local midnight in Asia/Shanghai (16:00 UTC), the range's
ends, exactly a window after a first touch. Each example is inserted into a migrated
database in a transaction that the test rolls back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import strategies as st
from sqlalchemy import Connection, Engine, insert
from sqlalchemy.orm import Session

from engine.models.events import effective_roles
from engine.models.reports.scope import ReportScope
from engine.store.sql.db import make_engine
from engine.store.sql.tables import CustomerRow, EventRow, TouchRow
from tests.db import migrated_database

ZONE = ZoneInfo("Asia/Shanghai")
#: The first local day of the ranges reports are asked for.
START = dt.date(2026, 3, 1)
BASE = dt.datetime.combine(START, dt.time(), ZONE).astimezone(dt.UTC)
CLINICS = ("c1", "c2")
ROLES = effective_roles({"activity_exclude": ["his.sync.*"]})
EVENT_NAMES = (
    "page.viewed",
    "content.viewed",
    "share.sent",
    "appointment.booked",
    "appointment.paid",
    "order.paid",
    "appointment.refunded",
    "appointment.cancelled",
    "carepath.channel_alert",
    "his.sync.visit",
)


@dataclass
class Customer:
    id: str
    clinic: str | None
    merged_into: str | None = None


@dataclass
class Touch:
    customer_id: str
    at: dt.datetime
    first: bool
    fields: dict[str, str]


@dataclass
class Event:
    customer_id: str
    name: str
    at: dt.datetime
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass
class Population:
    customers: list[Customer]
    touches: list[Touch]
    events: list[Event]

    def live(self, scope: ReportScope) -> list[Customer]:
        """Survivors the scope's clinics allow."""
        return [
            c
            for c in self.customers
            if c.merged_into is None and (scope.clinics is None or c.clinic in scope.clinics)
        ]


def local(at: dt.datetime, zone: ZoneInfo = ZONE) -> dt.date:
    return at.astimezone(zone).date()


# -- strategies ---------------------------------------------------------------------

#: Minutes from BASE that sit on edges: local midnights, a minute either side, the
#: range's end after 10 days, 60 days later.
_EDGES = [
    d * 1440 + m for d in (-31, -30, -7, -1, 0, 1, 6, 7, 9, 10, 29, 30, 60) for m in (-1, 0, 1)
]


def instants() -> st.SearchStrategy[dt.datetime]:
    minutes = st.one_of(st.sampled_from(_EDGES), st.integers(-40 * 1440, 70 * 1440))
    micro = st.sampled_from([0, 0, 1, 999_999])
    return st.builds(lambda m, us: BASE + dt.timedelta(minutes=m, microseconds=us), minutes, micro)


def _properties() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {},
        optional={
            "amount": st.sampled_from([100, 250.5, 0.01, "12", None]),
            "content_id": st.sampled_from(["a1", "a2"]),
            "doctor_id": st.sampled_from(["d1", "d2"]),
            "page": st.sampled_from(["mall", "home"]),
            "appointment_id": st.sampled_from(["p1", "p2"]),
        },
    )


@st.composite
def populations(draw: st.DrawFn, max_customers: int = 6) -> Population:
    n = draw(st.integers(1, max_customers))
    customers = [Customer(f"u{i}", draw(st.sampled_from([*CLINICS, None]))) for i in range(n)]
    if n > 1 and draw(st.booleans()):
        customers.append(Customer("merged", customers[1].clinic, merged_into=customers[0].id))
    touches: list[Touch] = []
    events: list[Event] = []
    for c in customers:
        if c.merged_into is not None:
            continue
        for i in range(draw(st.integers(0, 2))):
            fields = draw(
                st.fixed_dictionaries(
                    {},
                    optional={
                        "channel": st.sampled_from(["qrcode", "web"]),
                        "utm_source": st.sampled_from(["baidu", "dianping"]),
                        "activity": st.sampled_from(["screening", "live"]),
                    },
                )
            )
            touches.append(Touch(c.id, draw(instants()), i == 0, fields))
        for _ in range(draw(st.integers(0, 7))):
            name = draw(st.sampled_from(EVENT_NAMES))
            events.append(Event(c.id, name, draw(instants()), draw(_properties())))
    return Population(customers, touches, events)


# -- the database -------------------------------------------------------------------


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    with migrated_database(tmp_path_factory.mktemp("reports")) as url:
        engine = make_engine(url)
        yield engine
        engine.dispose()


@contextmanager
def loaded(engine: Engine, population: Population) -> Iterator[Session]:
    """A session over the inserted population, rolled back afterwards."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            insert_population(conn, population)
            with Session(bind=conn) as session:
                yield session
        finally:
            transaction.rollback()


def insert_population(conn: Connection, population: Population) -> None:
    rows = [
        {
            "id": c.id,
            "attributes": {} if c.clinic is None else {"clinic_id": c.clinic},
            "source": {},
            "merged_into": None,
            "created_at": BASE,
        }
        for c in population.customers
    ]
    conn.execute(insert(CustomerRow), rows)
    for c in population.customers:
        if c.merged_into is not None:
            conn.execute(
                CustomerRow.__table__.update()
                .where(CustomerRow.__table__.c.id == c.id)
                .values(merged_into=c.merged_into)
            )
    if population.touches:
        conn.execute(insert(TouchRow), [_touch_row(t) for t in population.touches])
    if population.events:
        conn.execute(
            insert(EventRow),
            [
                {
                    "message_id": f"m{i}",
                    "customer_id": e.customer_id,
                    "name": e.name,
                    "properties": e.properties,
                    "at": e.at,
                    "received_at": e.at,
                }
                for i, e in enumerate(population.events)
            ],
        )


def _touch_row(t: Touch) -> dict[str, Any]:
    columns = ("channel", "activity", "clinic", "doctor")
    return {
        "customer_id": t.customer_id,
        "kind": "imported",
        **{k: t.fields.get(k) for k in columns},
        "fields": t.fields,
        "first": t.first,
        "at": t.at,
        "code_id": t.fields.get("qrcode"),
    }


def scope(
    days: int = 10,
    clinics: tuple[str, ...] | None = None,
    timezone: str = "Asia/Shanghai",
    **kw: Any,
) -> ReportScope:
    return ReportScope(
        start=START,
        end=START + dt.timedelta(days=days),
        timezone=timezone,
        clinics=clinics,
        roles=ROLES,
        **kw,
    )
