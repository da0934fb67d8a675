"""What writing an enrollment's trace costs the store: record it, append its trace in
the chunks a journey's activities write (a welcome send with a fallback, a wait, a
split, a reminder), end it; CPU time of this process per enrollment.

    python -m bench.trace_writes [--n 2000] [--rounds 3] [--database-url URL]

Run it in two trees (with and without a change to the trace's write path) alternating,
on the same machine: the difference per enrollment is the change's cost. Each round
writes into a fresh SQLite file (or a fresh PostgreSQL schema).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from bench.measure import machine
from engine.contracts.journey import TraceEntry
from engine.store.records import EnrollmentRecord
from engine.store.sql import SqlStore, upgrade

START = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def _chunks(at: dt.datetime, arm: str) -> list[list[TraceEntry]]:
    def entry(seq: int, kind: str, step: str, **fields: str) -> TraceEntry:
        return TraceEntry(
            seq=seq, at=at + dt.timedelta(seconds=seq), step=step, kind=kind, **fields
        )

    return [
        [
            entry(1, "send", "welcome"),
            entry(
                2, "attempt", "welcome", channel="wechat_template", outcome="failed", detail="43004"
            ),
        ],
        [
            entry(3, "attempt", "welcome", channel="sms", outcome="accepted"),
            entry(4, "receipt", "welcome", channel="sms", outcome="delivered"),
        ],
        [entry(5, "wait", "pause"), entry(6, "split", "ab", variant=arm)],
        [
            entry(7, "send", "remind"),
            entry(
                8,
                "attempt",
                "remind",
                channel="sms",
                outcome="skipped",
                detail="frequency cap: 1 per day",
            ),
        ],
    ]


def _round(url: str, n: int) -> float:
    """CPU seconds of this process for ``n`` enrollments."""
    store = SqlStore(url)
    try:
        started = time.process_time()
        for i in range(n):
            at = START + dt.timedelta(minutes=i)
            eid = f"bench:{i}"
            store.record_enrollment(
                EnrollmentRecord(
                    id=eid, journey_id="bench", version=1, customer_id=f"c{i}", started_at=at
                )
            )
            *chunks, last = _chunks(at, "a" if i % 2 else "b")
            for chunk in chunks:
                store.append_trace(eid, chunk)
            store.finish_enrollment(eid, "completed", None, None, at, last)
        return time.process_time() - started
    finally:
        store.close()


def _fresh(base: str | None, folder: Path) -> str:
    if base is None:
        url = f"sqlite:///{folder / f'{uuid.uuid4().hex}.db'}"
    else:
        schema = f"bench_{uuid.uuid4().hex[:10]}"
        with create_engine(base).begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
        url = f"{base}?options=-csearch_path%3D{schema}"
    upgrade(url)
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(f"bench.trace_writes; {machine()}")
    with tempfile.TemporaryDirectory() as folder:
        for r in range(args.rounds):
            url = _fresh(args.database_url, Path(folder))
            cpu = _round(url, args.n)
            print(
                f"round {r + 1}: {cpu / args.n * 1e3:.3f} ms of CPU per enrollment ({args.n})",
                flush=True,
            )


if __name__ == "__main__":
    main()
