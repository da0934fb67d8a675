"""The service's side of journeys: enroll on triggers, forward events, staff answers.

Called by the API after each accepted change (its transaction already committed):
events and tag changes are matched against the trigger index and enroll the
customer; events also reach the customer's running enrollments as signals.
Enrollment is idempotent (workflow ids), so a retried request enrolls nobody twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from engine.contracts.journey import (
    CancelSignal,
    EnrollmentState,
    EventSignal,
    HandoffOutcomeSignal,
    ReceiptSignal,
    TraceEntry,
)
from engine.dispatch.enroll import Enrolled, enroll
from engine.dispatch.journey_schedules import ScheduleSync, sync_schedules
from engine.dispatch.segments import SegmentDispatch
from engine.dispatch.triggers import TriggerIndex
from engine.errors import CarepathError, NotFound
from engine.intake.group_commit import GroupCommit
from engine.models.workspace import JourneyBundle
from engine.store.records import (
    HandoffTask,
    Identities,
    IngestGroup,
    JourneyVersionInfo,
    NewEvent,
    StoredEvent,
    TagChange,
)
from engine.store.service_store import ServiceStore
from engine.workspace.loader import load_workspace

INDEX_MAX_AGE = 5.0  # seconds: other API processes' deploys are seen within this
SWEEP_AFTER = 10.0  # seconds: an event still undispatched this long after arrival is retried
SWEEP_INTERVAL = 5.0
log = logging.getLogger("carepath.dispatch")
# What a call to Temporal raises when the frontend cannot be reached (RPCError
# UNAVAILABLE once connected; RuntimeError from a lazy client's first connect).
TEMPORAL_UNREACHABLE = (RPCError, RuntimeError, OSError, asyncio.TimeoutError)


class JourneyClosed(CarepathError):
    """Raised when a journey is paused or does not accept API enrollments."""


@dataclass
class DispatchReport:
    """What one accepted change caused: enrollments started and signals sent."""

    enrolled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    signalled: list[str] = field(default_factory=list)
    enrollment_ids: list[str] = field(default_factory=list)

    def merge(self, other: DispatchReport) -> None:
        self.enrolled += other.enrolled
        self.enrollment_ids += other.enrollment_ids
        self.skipped += other.skipped
        self.signalled += other.signalled


def utcnow() -> datetime:
    return datetime.now(UTC)


class Dispatcher(SegmentDispatch):
    """Enrolls and signals on behalf of the API; one per process."""

    def __init__(self, client: Client, store: ServiceStore, task_queue: str) -> None:
        self.client = client
        self.store = store
        self.task_queue = task_queue
        self._index = TriggerIndex(())
        self._loaded_at = 0.0
        self._deployment: list[tuple[str, int, bool]] | None = None
        self._in_flight: set[str] = set()
        self._group_commit: GroupCommit[IngestGroup, list[StoredEvent]] = GroupCommit(
            self._ingest_groups, shared=store.shared_failure
        )

    # ---- deployment ------------------------------------------------------------------

    def index(self) -> TriggerIndex:
        """The trigger index, reloaded when older than a few seconds."""
        if time.monotonic() - self._loaded_at > INDEX_MAX_AGE:
            self.reload()
        return self._index

    def reload(self) -> None:
        """Rebuild the index when a deploy, pause or resume changed what is deployed."""
        deployment = self.store.deployment()
        if deployment != self._deployment:
            paused = [jid for jid, _, is_paused in deployment if is_paused]
            self._index = TriggerIndex(self.store.deployed_bundles(), paused)
            self._deployment = deployment
        self._loaded_at = time.monotonic()

    def deploy(self, root: Path, journey_id: str | None = None) -> list[JourneyVersionInfo]:
        """Validate a workspace and deploy every journey (or one); unchanged ones keep
        their version. ``root`` may also be one journey file inside a workspace."""
        if root.is_file():
            workspace = load_workspace(root.parent.parent)
            named = [
                name.removeprefix("journeys/")
                for name, file in workspace.files.items()
                if name.startswith("journeys/") and Path(file).resolve() == root.resolve()
            ]
            if not named:
                raise NotFound(f"{root} is not a journey file of a workspace (journeys/*.yaml)")
            journey_id = named[0]
        else:
            workspace = load_workspace(root)
        ids = [journey_id] if journey_id else sorted(workspace.journeys)
        for name, document in sorted(workspace.documents.items()):
            self.store.put_document(name, document, at=utcnow())
        # Every workspace segment, used by a journey or not (sync_segment_schedules
        # then makes the refresh schedules follow).
        self.segments_deployed = self.store.deploy_segments(workspace.segments, at=utcnow())
        self.segment_timezone = workspace.timezone
        infos = []
        for jid in ids:
            if jid not in workspace.journeys:
                raise NotFound(f"no journey {jid!r} in {root}")
            infos.append(self.store.deploy(workspace.bundle(jid), at=utcnow()))
        self.reload()
        return infos

    async def sync_schedules(self, journey_ids: list[str] | None = None) -> ScheduleSync:
        """Make Temporal's schedules match the deployed ``schedule`` triggers (after a
        deploy, a pause or a resume); ``engine.dispatch.journey_schedules``."""
        return await sync_schedules(self.client, self.store, self.task_queue, journey_ids)

    # ---- triggers --------------------------------------------------------------------

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
        transaction (``engine.intake.group_commit``), each request's events all or none."""
        return await self._group_commit.submit(IngestGroup(items=items, at=at))

    def _ingest_groups(self, groups: Sequence[IngestGroup]) -> list[list[StoredEvent]]:
        index = self.index()  # a reload reads the database: before the write lock

        def triggers(event: NewEvent) -> bool:
            return bool(index.for_event(event.name, event.properties, event.at))

        return self.store.ingest_groups(groups, triggers=triggers)

    async def events_accepted(self, events: list[StoredEvent]) -> DispatchReport:
        """Enroll on event triggers and forward events to running enrollments.

        An event is acted on when it is new, or when an earlier dispatch of it never
        finished (the repeat of a request that failed half-way, or the sweep). Doing it
        again is safe: enrollment ids are unique and workflows drop a repeated
        message_id. Each event is marked dispatched once it has been.
        """
        report = DispatchReport()
        index = self.index()
        for event in events:
            if event.segments:  # enters and exits it caused (their own outbox)
                report.merge(await self.segments_changed(event.segments))
            if event.dispatched or (not event.new and event.message_id in self._in_flight):
                continue  # acted on once
            self._in_flight.add(event.message_id)
            try:
                started = DispatchReport()
                for bundle in index.for_event(event.name, event.properties, event.at):
                    started.merge(await self._enroll(bundle, event.customer_id, event.properties))
                report.merge(started)
                signal = EventSignal(
                    name=event.name,
                    properties=event.properties,
                    at=event.at,
                    message_id=event.message_id,
                )
                # The enrollments this event just started do not need it again.
                skip = set(started.enrollment_ids)
                report.merge(
                    await self._forward(event.customer_id, "event", signal, skip, event.running)
                )
                await asyncio.to_thread(self.store.mark_dispatched, [event.message_id], at=utcnow())
            finally:
                self._in_flight.discard(event.message_id)
        return report

    async def sweep(self, older_than: float = SWEEP_AFTER) -> int:
        """Dispatch events whose dispatch never completed; how many were found."""
        before = utcnow() - timedelta(seconds=older_than)
        events = await asyncio.to_thread(self.store.undispatched_events, before)
        if events:
            await self.events_accepted(events)
        tags = await self.sweep_tags(older_than)
        return len(events) + tags + await self.sweep_segments(older_than)

    async def sweep_forever(self, interval: float = SWEEP_INTERVAL) -> None:
        """Run ``sweep`` every ``interval`` seconds; a failed round waits for the next."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except (*TEMPORAL_UNREACHABLE, CarepathError):
                log.warning("event sweep failed; retrying in %.0fs", interval, exc_info=True)

    async def tags_changed(
        self, changes: list[TagChange], context: dict[str, Any] | None = None
    ) -> DispatchReport:
        """Enroll on tag_added triggers; the added tags are marked dispatched once done
        (what is left unmarked, the sweep does again)."""
        return await self._tags_added([(c, context or {}) for c in changes if c.added])

    async def sweep_tags(self, older_than: float) -> int:
        """Enroll on tags added ``older_than`` seconds ago or more that no dispatch
        finished: tags a journey step added in the worker, tags added while Temporal was
        unreachable. Their context is ``{"tag_source": <who added it>}``; how many."""
        before = utcnow() - timedelta(seconds=older_than)
        changes = await asyncio.to_thread(self.store.undispatched_tags, before)
        await self._tags_added([(c, {"tag_source": c.source}) for c in changes])
        return len(changes)

    async def _tags_added(self, added: list[tuple[TagChange, dict[str, Any]]]) -> DispatchReport:
        report = DispatchReport()
        index = self.index()
        for change, context in added:
            for bundle in index.for_tag(change.tag):
                report.merge(await self._enroll(bundle, change.customer_id, dict(context)))
        done = [c.history_id for c, _ in added if c.history_id is not None]
        if done:
            await asyncio.to_thread(self.store.mark_tags_dispatched, done, at=utcnow())
        return report

    async def enroll_api(
        self, journey_id: str, identities: Identities, context: dict[str, Any]
    ) -> tuple[str, Enrolled]:
        """``POST /v1/journeys/{id}/enrollments``: the customer's id and what enrolling
        did. NotFound for an unknown customer or journey; JourneyClosed when paused or
        ``api: false``."""

        def look_up() -> tuple[str, JourneyBundle]:  # one trip to a thread for the reads
            customer_id = self.store.resolve(identities, create=False, at=utcnow()).customer_id
            current = {jid: (v, p) for jid, v, p in self.store.deployment()}
            if journey_id not in current:
                raise NotFound(f"no journey {journey_id!r} deployed")
            version, paused = current[journey_id]
            if paused:
                raise JourneyClosed(f"journey {journey_id} is paused")
            return customer_id, self.store.get_bundle(journey_id, version)

        customer_id, bundle = await asyncio.to_thread(look_up)
        if not bundle.journey.api:
            raise JourneyClosed(
                f"journey {journey_id} does not accept API enrollments (api: false)"
            )
        enrolled = await enroll(
            self.client,
            self.store,
            bundle,
            customer_id,
            context,
            now=utcnow(),
            task_queue=self.task_queue,
        )
        return customer_id, enrolled

    async def _enroll(
        self, bundle: JourneyBundle, customer_id: str, context: dict[str, Any]
    ) -> DispatchReport:
        result = await enroll(
            self.client,
            self.store,
            bundle,
            customer_id,
            context,
            now=utcnow(),
            task_queue=self.task_queue,
        )
        report = DispatchReport()
        target = report.enrolled if result.status == "started" else report.skipped
        target.append(f"{bundle.journey.id}:{result.status}")
        if result.status == "started" and result.enrollment_id:
            report.enrollment_ids.append(result.enrollment_id)
        return report

    async def _forward(
        self,
        customer_id: str,
        name: str,
        signal: Any,
        skip: set[str] | None = None,
        running: list[str] | None = None,
    ) -> DispatchReport:
        """Signal the customer's running enrollments (``running``: their ids, when the
        caller read them already) except those in ``skip``."""
        report = DispatchReport()
        if running is None:
            records = await asyncio.to_thread(
                self.store.list_enrollments, customer_id=customer_id, status="running"
            )
            running = [e.id for e in records]
        targets = [eid for eid in running if eid not in (skip or set())]
        sends = [self._signal(eid, name, signal) for eid in targets]
        for eid, ok in zip(targets, await asyncio.gather(*sends), strict=True):
            if ok:
                report.signalled.append(eid)
        return report

    async def _signal(self, enrollment_id: str, name: str, arg: Any) -> bool:
        try:
            await self.client.get_workflow_handle(enrollment_id).signal(name, arg)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False  # it ended meanwhile; its record catches up
            raise
        return True

    # ---- staff, receipts, operators --------------------------------------------------

    async def complete_handoff(
        self,
        task_id: str,
        outcome: str,
        note: str | None,
        check: Callable[[HandoffTask], None] | None = None,
    ) -> HandoffTask:
        """Record a handoff outcome and resume the waiting enrollment; ``check(task)``
        (the caller's permission and outcome checks) runs first, in the same thread."""

        def record() -> HandoffTask:
            if check is not None:
                check(self.store.get_task(task_id))
            return self.store.complete_task(task_id, outcome)

        task = await asyncio.to_thread(record)
        await self._signal(
            task.enrollment_id,
            "handoff_outcome",
            HandoffOutcomeSignal(task_id=task_id, outcome=outcome, note=note),
        )
        return task

    async def receipt(self, enrollment_id: str, signal: ReceiptSignal) -> bool:
        return await self._signal(enrollment_id, "receipt", signal)

    async def cancel(self, enrollment_id: str, reason: str) -> bool:
        self.store.get_enrollment(enrollment_id)
        return await self._signal(enrollment_id, "cancel", CancelSignal(reason=reason))

    async def live_trace(self, enrollment_id: str) -> list[TraceEntry]:
        """The stored trace plus what a running enrollment has not persisted yet."""
        trace = self.store.get_trace(enrollment_id)
        record = self.store.get_enrollment(enrollment_id)
        if record.status != "running":
            return trace
        try:
            state = await self.client.get_workflow_handle(enrollment_id).query(
                "state", result_type=EnrollmentState
            )
        except RPCError:
            return trace
        last = trace[-1].seq if trace else 0
        return trace + [e for e in state.pending_trace if e.seq > last]
