"""The generated population ``bench.segments`` queries: customers with profile
attributes, first-touch source, tags, consents, events over a year and 1% merged away,
seeded so two runs load the same rows.

Rows are bulk-loaded into the migrated schema (``executemany`` in one transaction on
SQLite, ``COPY`` on PostgreSQL); the events' secondary indexes are dropped during the
load and built once after it, then ``ANALYZE``, so the planner sees the loaded data.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Index, text

from engine.store.sql.tables import Base

__all__ = ["NOW", "populate", "stamp"]

NOW = datetime.now(UTC).replace(microsecond=0)
EVENT_NAMES = [  # name, share of events
    ("page.viewed", 0.40),
    ("message.opened", 0.20),
    ("appointment.booked", 0.08),
    ("visit.completed", 0.08),
    ("school_screening.attended", 0.08),
    ("form.submitted", 0.10),
    ("payment.completed", 0.06),
]
FORMS = ["vision_feedback", "intake", "nps"]
CHANNELS = ["school_event", "wechat_qr", "wechat_follow", "referral", "walk_in"]


def stamp(at: datetime, dialect: str) -> Any:
    """A time as the store writes it on ``dialect`` (the rows bypass the ORM)."""
    if dialect == "sqlite":  # the store's text format for times on SQLite
        return at.strftime("%Y-%m-%d %H:%M:%S.%f")
    return at


def _customers(n: int, rng: random.Random, dialect: str) -> Iterator[tuple[Any, ...]]:
    for i in range(n):
        cid = f"c{i:07d}"
        lens = "ortho-k" if rng.random() < 0.1 else rng.choice(["glasses", "contacts", "none"])
        attributes = {
            "lifetime_value": int(rng.expovariate(1 / 1500)),
            "age_group": rng.choice(["child", "teen", "adult", "senior"]),
            "lens": lens,
            "last_check": (NOW - timedelta(days=rng.uniform(0, 400))).strftime("%Y-%m-%d"),
            "city": rng.choice(["beijing", "shanghai", "chengdu", "wuhan"]),
        }
        source = {"channel": rng.choice(CHANNELS), "clinic": f"c{rng.randrange(1, 21):02d}"}
        merged = f"c{rng.randrange(0, i):07d}" if i > 0 and rng.random() < 0.01 else None
        yield (
            cid,
            json.dumps(attributes),
            False,
            json.dumps(source),
            merged,
            stamp(NOW - timedelta(days=400), dialect),
        )


def _events(n: int, customers: int, rng: random.Random, dialect: str) -> Iterator[tuple[Any, ...]]:
    names = [name for name, _ in EVENT_NAMES]
    weights = [share for _, share in EVENT_NAMES]
    picks = rng.choices(names, weights, k=n)
    for i, name in enumerate(picks):
        props: dict[str, Any]
        if name == "form.submitted":
            props = {"form_id": rng.choice(FORMS)}
        elif name == "page.viewed":
            props = {"page": rng.choice(["home", "orthok", "booking", "prices"])}
        else:
            props = {}
        at = NOW - timedelta(seconds=rng.uniform(0, 365 * 86400))
        yield (
            f"m{i:09d}",
            f"c{rng.randrange(customers):07d}",
            name,
            json.dumps(props),
            stamp(at, dialect),
        )


def _tags(customers: int, rng: random.Random) -> Iterator[tuple[Any, ...]]:
    for i in range(customers):
        cid = f"c{i:07d}"
        for tag, share in (("VIP", 0.03), ("myopia", 0.2), ("ortho-k", 0.08)):
            if rng.random() < share:
                yield (cid, tag)


def _consents(customers: int, rng: random.Random, dialect: str) -> Iterator[tuple[Any, ...]]:
    for i in range(customers):
        cid = f"c{i:07d}"
        if rng.random() < 0.7:
            granted_at = NOW - timedelta(days=rng.uniform(10, 300))
            yield (cid, "marketing", "sms", True, stamp(granted_at, dialect))
            if rng.random() < 0.2:
                withdrawn = granted_at + timedelta(days=rng.uniform(-5, 5))
                yield (
                    cid,
                    "marketing",
                    rng.choice(["sms", None]),
                    False,
                    stamp(withdrawn, dialect),
                )
        if rng.random() < 0.3:
            yield (cid, "service", None, True, stamp(NOW - timedelta(days=30), dialect))
        if rng.random() < 0.1:
            yield (cid, "marketing", "wecom", True, stamp(NOW - timedelta(days=20), dialect))


_COLUMNS = {
    "customers": ["id", "attributes", "follows_wechat", "source", "merged_into", "created_at"],
    "events": ["message_id", "customer_id", "name", "properties", "at"],
    "tags": ["customer_id", "tag"],
    "consents": ["customer_id", "purpose", "channel", "granted", "at"],
}


def _load(
    engine: Engine, table: str, rows: Iterator[tuple[Any, ...]], extra: dict[str, Any]
) -> int:
    """Bulk-insert rows (plus constant columns); how many."""
    columns = _COLUMNS[table] + list(extra)
    constants = tuple(extra.values())
    raw = engine.raw_connection()
    count = 0
    try:
        driver: Any = raw.driver_connection
        if engine.dialect.name == "sqlite":
            marks = ", ".join("?" * len(columns))
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
            driver.execute("BEGIN")
            batch: list[tuple[Any, ...]] = []
            for row in rows:
                batch.append(row + constants)
                if len(batch) == 50_000:
                    driver.executemany(sql, batch)
                    count += len(batch)
                    batch = []
            driver.executemany(sql, batch)
            count += len(batch)
            driver.execute("COMMIT")
        else:
            with (
                driver.cursor() as cur,
                cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy,
            ):
                for row in rows:
                    copy.write_row(row + constants)
                    count += 1
            driver.commit()
    finally:
        raw.close()
    return count


def populate(engine: Engine, customers: int, events: int, seed: int = 7) -> list[str]:
    """Generate and load the population; the ids of live customers."""
    rng = random.Random(seed)
    dialect = engine.dialect.name
    now = stamp(NOW, dialect)
    started = time.perf_counter()
    _load(engine, "customers", _customers(customers, rng, dialect), {})
    # Secondary indexes of events are built once after the load, not row by row.
    secondary = [ix for ix in Base.metadata.tables["events"].indexes if not ix.unique]
    with engine.begin() as conn:
        for ix in secondary:
            conn.execute(text(f"DROP INDEX {ix.name}"))
    n_events = _load(
        engine, "events", _events(events, customers, rng, dialect), {"received_at": now}
    )
    with engine.begin() as conn:
        for ix in secondary:
            Index.create(ix, conn)
    _load(engine, "tags", _tags(customers, rng), {"source": "import", "at": now})
    n_consents = _load(engine, "consents", _consents(customers, rng, dialect), {"source": "import"})
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))
        live = list(
            conn.execute(text("SELECT id FROM customers WHERE merged_into IS NULL")).scalars()
        )
    print(
        f"population: {customers} customers ({customers - len(live)} merged away), "
        f"{n_events} events, {n_consents} consents, loaded in "
        f"{time.perf_counter() - started:.1f} s"
    )
    return live
