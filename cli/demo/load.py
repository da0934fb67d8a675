"""Load a demo population into a store: deploy, write, cost rows, segments, summary.

The only inputs are the seed, the number of customers and the anchor day (``today``):
the same three give the same rows. The anchor defaults to today at 00:00
Asia/Shanghai, so a run spans the 180 days before today; tests pass a fixed one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from cli.demo.calendar import Calendar, today_in_zone
from cli.demo.costs import daily_costs
from cli.demo.counts import table_counts
from cli.demo.deploy import deploy_journeys, deploy_segments
from cli.demo.population import generate
from cli.demo.progress import Progress
from cli.demo.records import DemoCustomer
from cli.demo.world import World
from cli.demo.writer import Tally, Writer
from engine.store.sql import SqlStore

__all__ = ["EXAMPLE_WORKSPACE", "DemoOptions", "DemoSummary", "load_demo"]

#: The example workspace of the repository (``examples/eye-clinic``).
EXAMPLE_WORKSPACE = Path(__file__).resolve().parents[2] / "examples" / "eye-clinic"
#: Customers generated and written together (their events go in batches of
#: ``writer.BATCH`` per transaction).
CHUNK = 250


@dataclass(frozen=True, slots=True)
class DemoOptions:
    customers: int = 2000
    seed: int = 1
    today: date = field(default_factory=today_in_zone)
    workspace: Path = EXAMPLE_WORKSPACE


@dataclass(frozen=True, slots=True)
class DemoSummary:
    options: DemoOptions
    tally: Tally
    costs: int
    counts: dict[str, int]
    seconds: float

    @property
    def events_per_second(self) -> float:
        """Events written per second of the whole run (deploy, costs and segments in)."""
        return self.tally.events / max(self.seconds, 1e-9)

    def line(self) -> str:
        """One line: what was loaded."""
        o, c = self.options, self.counts
        return (
            f"demo data: {c['customers']:,} customers, {c['events']:,} events, "
            f"{c['merges']:,} merges, {self.costs:,} cost rows, {c['enrollments']:,} "
            f"enrollments (seed {o.seed}, {o.customers:,} people, 180 days to {o.today})"
        )

    def lines(self) -> list[str]:
        """The summary ``carepath demo-data`` prints."""
        o, c, t = self.options, self.counts, self.tally
        journeys = ", ".join(f"{j} {n:,}" for j, n in sorted(t.enrollments.items())) or "none"
        out = [
            f"loaded demo data: seed {o.seed}, 180 days before {o.today} (Asia/Shanghai)",
            f"  customers     {c['customers']:,} ({t.customers:,} people; {c['merges']:,} merges)",
            f"  events        {c['events']:,} ({c['events'] / max(t.customers, 1):.1f} per person)",
            f"  touches       {c['touches']:,} (QR codes and contact-me codes: {c['qr_codes']})",
            f"  consents      {c['consents']:,}   tags {c['tags']:,}",
            f"  cost rows     {self.costs:,}",
            f"  enrollments   {c['enrollments']:,} ({journeys})",
            f"  deliveries    {c['deliveries']:,}   handoff tasks {c['handoff_tasks']:,}",
            f"  time          {self.seconds:.1f} s ({self.events_per_second:,.0f} events/s)",
        ]
        if t.not_played:
            skipped = ", ".join(f"{j} {n:,}" for j, n in sorted(t.not_played.items()))
            out.append(
                f"  not written   {skipped} enrollments (journey not deployed as the demo plays it)"
            )
        return out


def load_demo(
    store: SqlStore, options: DemoOptions, progress: Progress | None = None
) -> DemoSummary:
    """Deploy the workspace, write the population, its costs and segments; the summary."""
    started = time.monotonic()
    calendar = Calendar.of(options.today)
    world = World.build(options.seed, calendar)
    deployed = deploy_journeys(store, options.workspace, at=calendar.start - timedelta(days=1))
    for code in world.codes.values():
        store.create_qrcode(code)
    writer = Writer(store, deployed, calendar, world.codes.values())
    for chunk in _chunks(generate(world, options.customers)):
        writer.write(chunk)
        if progress is not None:
            progress.update(writer.tally.customers, writer.tally.events)
    costs = daily_costs(options.seed, options.customers, calendar)
    store.put_costs(costs, source="cli:demo-data", at=calendar.anchor)
    deploy_segments(store, deployed, at=calendar.anchor)
    _settle_segments(store, calendar.anchor)
    if progress is not None:
        progress.finish(writer.tally.customers, writer.tally.events)
    seconds = time.monotonic() - started
    return DemoSummary(options, writer.tally, len(costs), table_counts(store), seconds)


def _chunks(customers: Iterator[DemoCustomer]) -> Iterator[list[DemoCustomer]]:
    chunk: list[DemoCustomer] = []
    for customer in customers:
        chunk.append(customer)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _settle_segments(store: SqlStore, at: datetime) -> None:
    """Segment enters and exits the demo caused (only when segments were deployed
    before it ran) are history: nothing is told of them."""
    while changes := store.pending_segment_changes(limit=500):
        store.mark_segment_changes([c.id for c in changes], at=at)
