"""Event dispatch: store events, enroll on event triggers, forward events.

Events are stored first (those no trigger and no running enrollment wants are stored
already dispatched); after commit each new one enrolls the customer in the journeys
whose trigger matches it and reaches the customer's running enrollments as the
``event`` signal. Enrollment is idempotent (workflow ids) and workflows drop a
repeated message_id, so doing an event again (a retried request, the sweep) is safe.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from functools import partial

from engine.contracts.journey import EventSignal
from engine.dispatch.attempts import Attempts
from engine.dispatch.deployment import Deployment
from engine.dispatch.enroller import Enroller
from engine.dispatch.group_commit import GroupCommit
from engine.dispatch.pending import unreachable
from engine.dispatch.report import DispatchReport
from engine.dispatch.segments import SegmentDispatch
from engine.dispatch.signals import Signals
from engine.dispatch.triggers import TriggerIndex
from engine.expressions.clock import utcnow
from engine.store.records import Identities, IngestGroup, NewEvent, StoredEvent

log = logging.getLogger("carepath.dispatch")


class EventDispatch:
    """Stores events and acts on them once committed."""

    def __init__(
        self,
        deployment: Deployment,
        enroller: Enroller,
        signals: Signals,
        segments: SegmentDispatch,
        attempts: Attempts,
    ) -> None:
        self.deployment = deployment
        self.enroller = enroller
        self.signals = signals
        self.segments = segments
        self.attempts = attempts
        self.store = deployment.store
        self._in_flight: set[str] = set()
        self._group_commit: GroupCommit[IngestGroup, list[StoredEvent]] = GroupCommit(
            self._ingest_groups, shared=self.store.shared_failure
        )

    def ingest(
        self, items: Sequence[tuple[Identities, NewEvent]], *, at: datetime
    ) -> list[StoredEvent]:
        """Store events in one transaction (blocking: call it from a thread). Events that
        no trigger and no running enrollment wants are stored already dispatched."""
        (stored,) = self._ingest_groups([IngestGroup(items=items, at=at)])
        return stored

    async def accept(
        self, items: Sequence[tuple[Identities, NewEvent]], *, at: datetime
    ) -> list[StoredEvent]:
        """``ingest`` for the API: requests that arrive together are stored in one
        transaction (``engine.dispatch.group_commit``), each request's events all or none."""
        return await self._group_commit.submit(IngestGroup(items=items, at=at))

    def _ingest_groups(self, groups: Sequence[IngestGroup]) -> list[list[StoredEvent]]:
        index = self.deployment.index()  # a reload reads the database: before the write lock

        def triggers(event: NewEvent) -> bool:
            # A paused journey's trigger too: its skip is recorded once the event is.
            return bool(
                index.for_event(event.name, event.properties, event.at)
                or index.paused_for_event(event.name, event.properties, event.at)
            )

        return self.store.ingest_groups(groups, triggers=triggers)

    async def accepted(self, events: list[StoredEvent]) -> DispatchReport:
        """Enroll on event triggers and forward events to running enrollments.

        An event is acted on when it is new, or when an earlier dispatch of it never
        finished (the repeat of a request that failed half-way, or the sweep). Doing it
        again is safe: enrollment ids are unique and workflows drop a repeated
        message_id. Each event is marked dispatched once it has been. A journey that
        cannot enroll the customer (a key template the event does not fill) holds up
        neither the other journeys nor the signals: the event stays unmarked and the
        answer says ``pending``, and the sweep retries it with backoff.
        """
        report = DispatchReport()
        index = self.deployment.index()
        for event in events:
            done, failures = await self._once(event, index)
            report.merge(done)
            if failures:
                report.pending = True
                log.warning(
                    "event %s: %d journey(s) could not enroll; the sweep retries: %s",
                    event.message_id,
                    len(failures),
                    "; ".join(str(f) for f in failures),
                )
        return report

    async def _once(
        self, event: StoredEvent, index: TriggerIndex
    ) -> tuple[DispatchReport, list[Exception]]:
        report = DispatchReport()
        if event.segments:  # enters and exits it caused (their own outbox)
            report.merge(await self.segments.changed(event.segments))
        if event.dispatched or (not event.new and event.message_id in self._in_flight):
            return report, []  # acted on once
        self._in_flight.add(event.message_id)
        try:
            started, failures = await self._dispatch(event, index)
            report.merge(started)
            if not failures:
                await asyncio.to_thread(self.store.mark_dispatched, [event.message_id], at=utcnow())
        finally:
            self._in_flight.discard(event.message_id)
        return report, failures

    async def _dispatch(
        self, event: StoredEvent, index: TriggerIndex
    ) -> tuple[DispatchReport, list[Exception]]:
        started = DispatchReport()
        failures: list[Exception] = []
        for bundle in index.for_event(event.name, event.properties, event.at):
            try:
                started.merge(
                    await self.enroller.triggered(bundle, event.customer_id, event.properties)
                )
            except Exception as exc:
                if unreachable(exc):
                    raise  # Temporal is away: the whole event waits for the sweep
                failures.append(exc)  # this journey's own failure: the others go on
        paused = index.paused_for_event(event.name, event.properties, event.at)
        started.merge(
            await self.enroller.paused(
                paused, event.customer_id, f"event:{event.message_id}", f"event {event.name}"
            )
        )
        signal = EventSignal(
            name=event.name, properties=event.properties, at=event.at, message_id=event.message_id
        )
        # The enrollments this event just started do not need it again.
        skip = set(started.enrollment_ids)
        started.merge(
            await self.signals.forward(event.customer_id, "event", signal, skip, event.running)
        )
        return started, failures

    async def _redispatch(self, event: StoredEvent) -> DispatchReport:
        """One swept event; its first journey failure is raised, so the sweep counts
        the attempt and backs off (the journeys that did enroll are not enrolled twice)."""
        report, failures = await self._once(event, self.deployment.index())
        if failures:
            raise failures[0]
        return report

    async def sweep(self, older_than: float) -> int:
        """Dispatch events stored ``older_than`` seconds ago or more whose dispatch never
        completed, each on its own (a failing one is retried with backoff, then parked,
        and never holds up the rest); how many were found."""
        now = utcnow()
        before = now - timedelta(seconds=older_than)
        events = await asyncio.to_thread(self.store.undispatched_events, before, now=now)
        for event in events:
            await self.attempts.run(
                "event", event.id, event.customer_id, partial(self._redispatch, event)
            )
        return len(events)
