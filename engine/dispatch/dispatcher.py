"""The service's side of journeys: one object the API and the worker hold.

Called after each accepted change (its transaction already committed): events and
tag changes are matched against the trigger index and enroll the customer; events
also reach the customer's running enrollments as signals. The work is done by named
collaborators, each in its own module, composed here and reachable as attributes:

    deployment  deploys, pausing, the trigger index, journey schedules  (deployment.py)
    enroller    enrolling on a trigger and through the API              (enroller.py)
    signals     signals to running enrollments, live traces             (signals.py)
    segments    segment enters and exits, refresh schedules             (segments.py)
    events      storing events, enrolling on them, forwarding them      (events.py)
    tags        enrolling on added tags                                 (tags.py)
    attempts    one outbox item at a time: failures, backoff, parking  (attempts.py)
    sweeper     what a crash or an unreachable Temporal left            (sweeps.py)
    outbox      an operator's retry of one outbox item                  (outbox.py)

The methods below are one-line delegations, so a caller needs one object and no
knowledge of which collaborator does what.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from temporalio.client import Client

from engine.contracts.journey import ReceiptSignal, TraceEntry
from engine.dispatch.attempts import Attempts
from engine.dispatch.deployment import Deployment
from engine.dispatch.enroll import Enrolled
from engine.dispatch.enroller import Enroller
from engine.dispatch.events import EventDispatch
from engine.dispatch.journey_schedules import ScheduleSync
from engine.dispatch.outbox import OutboxDispatch
from engine.dispatch.report import DispatchReport
from engine.dispatch.schedule_runs import ScheduleRuns, schedule_runs
from engine.dispatch.segment_schedules import RefreshSync
from engine.dispatch.segments import SegmentDispatch
from engine.dispatch.signals import Signals
from engine.dispatch.sweeps import SWEEP_AFTER, Sweeper
from engine.dispatch.tags import TagDispatch
from engine.dispatch.triggers import TriggerIndex
from engine.store.records import (
    HandoffTask,
    Identities,
    JourneyVersionInfo,
    NewEvent,
    OutboxKind,
    SegmentChange,
    StoredEvent,
    TagChange,
)
from engine.store.service_store import ServiceStore


class Dispatcher:
    """Enrolls and signals on behalf of the API and the worker; one per process."""

    def __init__(self, client: Client, store: ServiceStore, task_queue: str) -> None:
        self.client = client
        self.store = store
        self.task_queue = task_queue
        self.deployment = Deployment(client, store, task_queue)
        self.enroller = Enroller(client, store, task_queue)
        self.attempts = Attempts(store)
        self.signals = Signals(client, store, self.attempts)
        self.segments = SegmentDispatch(self.deployment, self.enroller, self.signals, self.attempts)
        self.events = EventDispatch(
            self.deployment, self.enroller, self.signals, self.segments, self.attempts
        )
        self.tags = TagDispatch(self.deployment, self.enroller, self.attempts)
        self.sweeper = Sweeper(self.events, self.tags, self.segments, self.signals)
        self.outbox = OutboxDispatch(
            self.events, self.tags, self.segments, self.signals, self.attempts
        )

    # ---- deployment ------------------------------------------------------------------

    def index(self) -> TriggerIndex:
        return self.deployment.index()

    def reload(self) -> None:
        self.deployment.reload()

    def deploy(self, root: Path, journey_id: str | None = None) -> list[JourneyVersionInfo]:
        return self.deployment.deploy(root, journey_id)

    def set_paused(self, journey_id: str, paused: bool) -> None:
        self.deployment.set_paused(journey_id, paused)

    async def sync_schedules(self, journey_ids: list[str] | None = None) -> ScheduleSync:
        return await self.deployment.sync_schedules(journey_ids)

    async def sync_segment_schedules(self) -> RefreshSync:
        return await self.segments.sync_schedules()

    async def journey_runs(self, journey_id: str, limit: int) -> ScheduleRuns:
        return await schedule_runs(self.client, journey_id, limit)

    # ---- accepted changes ------------------------------------------------------------

    def ingest(
        self, items: Sequence[tuple[Identities, NewEvent]], *, at: datetime
    ) -> list[StoredEvent]:
        return self.events.ingest(items, at=at)

    async def accept(
        self, items: Sequence[tuple[Identities, NewEvent]], *, at: datetime
    ) -> list[StoredEvent]:
        return await self.events.accept(items, at=at)

    async def events_accepted(self, events: list[StoredEvent]) -> DispatchReport:
        return await self.events.accepted(events)

    async def tags_changed(
        self, changes: list[TagChange], context: dict[str, Any] | None = None
    ) -> DispatchReport:
        return await self.tags.changed(changes, context)

    async def segments_changed(self, changes: Sequence[SegmentChange]) -> DispatchReport:
        return await self.segments.changed(changes)

    async def customers_changed(self, customer_ids: Sequence[str]) -> DispatchReport:
        return await self.segments.customers_changed(customer_ids)

    async def enroll_api(
        self, journey_id: str, identities: Identities, context: dict[str, Any]
    ) -> tuple[str, Enrolled]:
        return await self.enroller.api(journey_id, identities, context)

    # ---- sweeps ----------------------------------------------------------------------

    async def sweep(self, older_than: float = SWEEP_AFTER) -> int:
        return await self.sweeper.sweep(older_than)

    # ---- staff, receipts, operators --------------------------------------------------

    async def complete_handoff(
        self,
        task_id: str,
        outcome: str,
        note: str | None,
        check: Callable[[HandoffTask], None] | None = None,
    ) -> tuple[HandoffTask, bool]:
        return await self.signals.complete_handoff(task_id, outcome, note, check)

    async def receipt(self, enrollment_id: str, signal: ReceiptSignal) -> bool:
        return await self.signals.receipt(enrollment_id, signal)

    async def cancel(self, enrollment_id: str, reason: str) -> tuple[bool, bool]:
        return await self.signals.cancel(enrollment_id, reason)

    async def retry_outbox(self, kind: OutboxKind, item_id: int) -> tuple[DispatchReport, bool]:
        return await self.outbox.retry(kind, item_id)

    async def live_trace(self, enrollment_id: str) -> list[TraceEntry]:
        return await self.signals.live_trace(enrollment_id)
