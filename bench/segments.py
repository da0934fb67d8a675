"""Segment queries: compiled rules against hand-written SQL, counts, incremental cost.

    python -m bench.segments [--customers 100000] [--events 2000000] [--large]
                             [--database-url postgresql+psycopg://...] [--repeat 5]

One run, one database: a SQLite file in a temporary folder, or a scratch schema of
its own on the PostgreSQL server of ``--database-url`` (dropped afterwards). The
population is generated (seeded) and bulk-loaded into the migrated schema by
:mod:`bench.population`: customers with profile attributes, first-touch source, tags,
consents, events over a year and 1% merged away. ``--large``: 1M customers and 20M
events.

(a) For each of five segments (``SEGMENTS``), ``rules.sql.customers_matching`` against
    the hand-written SQL for the same segment (``HANDWRITTEN``; where there are
    several ways to write it, the fastest of them): both must return the same ids;
    each runs ``--repeat`` times, alternating, and the medians give the ratio
    (compiled / hand-written; the target is at most 1.2).
(b) ``rules.sql.count_matching`` for each segment: the full population count.
(c) One customer's membership of each segment (the compiled condition with
    ``customers.id = :id``), over 200 customers: what re-evaluating one customer
    costs per segment.
(d) The incremental re-evaluation cost per event with 50 deployed segments, from
    ``bench.segments_live.measure_incremental``.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, Executable, text

from bench.measure import machine, store_name
from bench.population import NOW, populate, stamp
from bench.segments_live import measure_incremental
from engine.store.sql.db import make_engine
from rules.models import parse_rule
from rules.sql import count_matching, customers_matching, rule_condition
from rules.sql.tables import CUSTOMERS
from tests.scratch import scratch_database

SEGMENTS: dict[str, dict[str, Any]] = {
    # examples/eye-clinic/segments/high_intent_parents.yaml
    "high_intent_parents": {
        "all": [
            {"event": "school_screening.attended", "count": {"gte": 2}, "within": "180d"},
            {"event": "form.submitted", "where": {"form_id": "vision_feedback"}, "within": "90d"},
        ]
    },
    # examples/eye-clinic/segments/vip.yaml
    "vip": {"any": [{"tag": "VIP"}, {"attribute": "lifetime_value", "gte": 5000}]},
    "orthok_due": {
        "all": [
            {"attribute": "lens", "eq": "ortho-k"},
            {"attribute": "last_check", "older_than": "180d"},
        ]
    },
    "sms_marketing": {"consent": {"purpose": "marketing", "channel": "sms"}},
    "school_channel": {"source": {"channel": "school_event", "clinic": {"in": ["c01", "c02"]}}},
}

# The same segments written by hand, per dialect; {name} placeholders are bound below.
_CONSENT_EXISTS = """
SELECT c.id FROM customers c WHERE c.merged_into IS NULL AND EXISTS (
  SELECT 1 FROM consents g WHERE g.customer_id = c.id AND g.purpose = 'marketing'
    AND (g.channel = 'sms' OR g.channel IS NULL) AND g.granted = {true}
    AND NOT EXISTS (
      SELECT 1 FROM consents w WHERE w.customer_id = g.customer_id AND w.purpose = 'marketing'
        AND (w.channel = 'sms' OR w.channel IS NULL) AND w.granted = {false} AND w.at >= g.at))
ORDER BY c.id"""
_CONSENT_LATEST = """
SELECT c.id FROM customers c JOIN (
  SELECT customer_id, granted, row_number() OVER (
    PARTITION BY customer_id ORDER BY at DESC, granted ASC) AS n
  FROM consents WHERE purpose = 'marketing' AND (channel = 'sms' OR channel IS NULL)
) latest ON latest.customer_id = c.id AND latest.n = 1 AND latest.granted = {true}
WHERE c.merged_into IS NULL ORDER BY c.id"""
_INTENT_EXISTS = """
SELECT c.id FROM customers c WHERE c.merged_into IS NULL
  AND (SELECT count(*) FROM events e WHERE e.customer_id = c.id
       AND e.name = 'school_screening.attended' AND e.at >= :since180 AND e.at <= :now) >= 2
  AND EXISTS (SELECT 1 FROM events e WHERE e.customer_id = c.id AND e.name = 'form.submitted'
       AND {form_id} = 'vision_feedback' AND e.at >= :since90 AND e.at <= :now)
ORDER BY c.id"""
_INTENT_GROUPED = """
SELECT c.id FROM customers c WHERE c.merged_into IS NULL
  AND c.id IN (SELECT customer_id FROM events WHERE name = 'school_screening.attended'
       AND at >= :since180 AND at <= :now GROUP BY customer_id HAVING count(*) >= 2)
  AND c.id IN (SELECT e.customer_id FROM events e WHERE e.name = 'form.submitted'
       AND {form_id} = 'vision_feedback' AND e.at >= :since90 AND e.at <= :now)
ORDER BY c.id"""

HANDWRITTEN: dict[str, dict[str, list[str]]] = {
    "sqlite": {
        "high_intent_parents": [
            _INTENT_EXISTS.format(form_id="json_extract(e.properties, '$.form_id')"),
            _INTENT_GROUPED.format(form_id="json_extract(e.properties, '$.form_id')"),
        ],
        "vip": [
            "SELECT c.id FROM customers c WHERE c.merged_into IS NULL AND (EXISTS ("
            "SELECT 1 FROM tags t WHERE t.customer_id = c.id AND t.tag = 'VIP') "
            "OR json_extract(c.attributes, '$.lifetime_value') >= 5000) ORDER BY c.id"
        ],
        "orthok_due": [
            "SELECT c.id FROM customers c WHERE c.merged_into IS NULL "
            "AND json_extract(c.attributes, '$.lens') = 'ortho-k' "
            # julianday, not a text comparison: ISO text with an offset (+08:00) does not
            # sort as time, and PostgreSQL's version parses the date too.
            "AND julianday(json_extract(c.attributes, '$.last_check')) < julianday(:since180_text) "
            "ORDER BY c.id"
        ],
        "sms_marketing": [
            _CONSENT_EXISTS.format(true=1, false=0),
            _CONSENT_LATEST.format(true=1, false=0),
        ],
        "school_channel": [
            "SELECT c.id FROM customers c WHERE c.merged_into IS NULL "
            "AND json_extract(c.source, '$.channel') = 'school_event' "
            "AND json_extract(c.source, '$.clinic') IN ('c01', 'c02') ORDER BY c.id"
        ],
    },
    "postgresql": {
        "high_intent_parents": [
            _INTENT_EXISTS.format(form_id="e.properties->>'form_id'"),
            _INTENT_GROUPED.format(form_id="e.properties->>'form_id'"),
        ],
        "vip": [
            "SELECT c.id FROM customers c WHERE c.merged_into IS NULL AND (EXISTS ("
            "SELECT 1 FROM tags t WHERE t.customer_id = c.id AND t.tag = 'VIP') "
            "OR (c.attributes->>'lifetime_value')::numeric >= 5000) ORDER BY c.id"
        ],
        "orthok_due": [
            "SELECT c.id FROM customers c WHERE c.merged_into IS NULL "
            "AND c.attributes->>'lens' = 'ortho-k' "
            "AND (c.attributes->>'last_check')::timestamptz < :since180 ORDER BY c.id"
        ],
        "sms_marketing": [
            _CONSENT_EXISTS.format(true="true", false="false"),
            _CONSENT_LATEST.format(true="true", false="false"),
        ],
        "school_channel": [
            "SELECT c.id FROM customers c WHERE c.merged_into IS NULL "
            "AND c.source->>'channel' = 'school_event' "
            "AND c.source->>'clinic' IN ('c01', 'c02') ORDER BY c.id"
        ],
    },
}


# measurements ---------------------------------------------------------------------------


def _run(conn: Connection, query: Executable, params: dict[str, Any] | None = None) -> float:
    """Seconds to run a query and fetch every row."""
    started = time.perf_counter()
    conn.execute(query, params).all()
    return time.perf_counter() - started


def _params(dialect: str) -> dict[str, Any]:
    since180 = NOW - timedelta(days=180)
    return {
        "now": stamp(NOW, dialect),
        "since180": stamp(since180, dialect),
        "since90": stamp(NOW - timedelta(days=90), dialect),
        "since180_text": since180.strftime("%Y-%m-%d %H:%M:%S"),
    }


def compare_segments(engine: Engine, repeat: int) -> None:
    """(a) and (b): compiled against hand-written, and the population counts."""
    dialect = engine.dialect.name
    params = _params(dialect)
    rules = {sid: parse_rule(data) for sid, data in SEGMENTS.items()}
    print(
        "\n(a) compiled vs hand-written (median of "
        f"{repeat}, ms)\n{'segment':<22}{'members':>9}{'compiled':>11}{'hand':>9}{'ratio':>8}"
    )
    counts: list[tuple[str, float, int]] = []
    with engine.connect() as conn:
        for sid, rule in rules.items():
            compiled = customers_matching(rule, now=NOW, dialect=dialect)
            handwritten = [text(sql) for sql in HANDWRITTEN[dialect][sid]]
            expected = list(conn.execute(compiled).scalars())  # also warms the caches
            for query in handwritten:
                got = list(conn.execute(query, params).scalars())
                if got != expected:
                    raise SystemExit(
                        f"{sid}: hand-written SQL disagrees ({len(got)} vs {len(expected)})"
                    )
            mine: list[float] = []
            theirs: list[list[float]] = [[] for _ in handwritten]
            for _ in range(repeat):
                mine.append(_run(conn, compiled))
                for times, query in zip(theirs, handwritten, strict=True):
                    times.append(_run(conn, query, params))
            m = statistics.median(mine)
            h = min(statistics.median(times) for times in theirs)
            print(f"{sid:<22}{len(expected):>9}{m * 1000:>11.1f}{h * 1000:>9.1f}{m / h:>8.2f}")
            count = count_matching(rule, now=NOW, dialect=dialect)
            conn.execute(count).scalar()
            seconds = statistics.median(_run(conn, count) for _ in range(repeat))
            counts.append((sid, seconds, conn.execute(count).scalar_one()))
    print(f"\n(b) count_matching over the population (median of {repeat}, ms)")
    for sid, seconds, n in counts:
        print(f"{sid:<22}{n:>9}{seconds * 1000:>11.1f}")
    print(f"{'all five':<22}{'':>9}{sum(s for _, s, _ in counts) * 1000:>11.1f}")


def one_customer(engine: Engine, live: Sequence[str], n: int = 200) -> None:
    """(c): one customer's membership of each segment."""
    dialect = engine.dialect.name
    rng = random.Random(11)
    sample = rng.sample(list(live), min(n, len(live)))
    print(f"\n(c) one customer's membership, compiled (mean over {len(sample)} customers, ms)")
    total = 0.0
    with engine.connect() as conn:
        for sid, data in SEGMENTS.items():
            held = rule_condition(parse_rule(data), CUSTOMERS.c.id, now=NOW, dialect=dialect)
            query = CUSTOMERS.select().with_only_columns(held).where(CUSTOMERS.c.id == text(":cid"))
            conn.execute(query, {"cid": sample[0]}).scalar()
            started = time.perf_counter()
            for cid in sample:
                conn.execute(query, {"cid": cid}).scalar()
            each = (time.perf_counter() - started) / len(sample)
            total += each
            print(f"{sid:<22}{each * 1000:>11.2f}")
    print(f"{'all five':<22}{total * 1000:>11.2f}")


def incremental(url: str, live: Sequence[str]) -> None:
    """(d): ``bench.segments_live``'s incremental cost, on this population."""
    print("\n(d) incremental re-evaluation per event, 50 deployed segments")
    figures = measure_incremental(url, live, segments=50, events=2000)
    for name, value in figures.items():
        print(f"{name:<30}{value:>11.3f}")


def main(
    customers: int, events: int, database_url: str | None, repeat: int, live_phase: bool = True
) -> None:
    print(f"bench.segments on {store_name(database_url)}; {machine()}")
    with (
        tempfile.TemporaryDirectory(prefix="carepath-segments-") as folder,
        scratch_database(Path(folder) / "bench.db", database_url, "bench_segments") as url,
    ):
        engine = make_engine(url)
        try:
            live = populate(engine, customers, events)
            compare_segments(engine, repeat)
            one_customer(engine, live)
        finally:
            engine.dispose()
        if live_phase:
            incremental(url, live)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--customers", type=int, default=None, help="default 100000")
    parser.add_argument("--events", type=int, default=None, help="default 2000000")
    parser.add_argument("--large", action="store_true", help="1M customers, 20M events")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (a scratch schema)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-incremental", action="store_true", help="leave out (d)")
    args = parser.parse_args()
    default_customers, default_events = (
        (1_000_000, 20_000_000) if args.large else (100_000, 2_000_000)
    )
    main(
        args.customers or default_customers,
        args.events or default_events,
        args.database_url,
        args.repeat,
        not args.no_incremental,
    )
