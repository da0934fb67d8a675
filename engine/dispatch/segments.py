"""The dispatcher's side of segments: act on enters and exits after commit.

An enter enrolls the customer in the deployed ``segment_entered`` journeys of that
segment (through the one enroll path: entry, key, re-entry) and tells the customer's
running enrollments whose goal is ``segment_entered`` of it; an exit tells those with
``exit_when: {segment_exited: ...}`` of it. Both as the ``segment`` signal, in the
request that caused the change. Each change is marked in the outbox once acted on; the
sweep picks up what a crash (or a change made by a journey step in the worker) left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from temporalio.client import Client

from engine.contracts.journey import SegmentSignal
from engine.dispatch.segment_schedules import RefreshSync, sync_refresh_schedules
from engine.models.journey import ExitSegment, GoalSegment
from engine.models.segment_index import SegmentIndex
from engine.store.records import SegmentChange, SegmentDeploy
from engine.store.service_store import ServiceStore

if TYPE_CHECKING:
    from engine.dispatch.dispatcher import DispatchReport
    from engine.dispatch.triggers import TriggerIndex
    from engine.models.workspace import JourneyBundle


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SegmentDispatch:
    """Mixin of ``engine.dispatch.dispatcher.Dispatcher``: segment enters and exits, refreshes."""

    client: Client
    store: ServiceStore
    task_queue: str
    #: Set by a deploy: the workspace timezone refresh crons run in, what changed.
    segment_timezone: str = "Asia/Shanghai"
    segments_deployed: SegmentDeploy | None = None

    # provided by the Dispatcher
    def index(self) -> TriggerIndex:
        raise NotImplementedError

    async def _enroll(
        self, bundle: JourneyBundle, customer_id: str, context: dict[str, Any]
    ) -> DispatchReport:
        raise NotImplementedError

    async def _signal(self, enrollment_id: str, name: str, arg: Any) -> bool:
        raise NotImplementedError

    async def segments_changed(self, changes: Sequence[SegmentChange]) -> DispatchReport:
        """Enroll on enters, signal goals and exits; mark the changes dispatched."""
        from engine.dispatch.dispatcher import DispatchReport

        report = DispatchReport()
        if not changes:
            return report
        index = self.index()
        for change in changes:
            started = DispatchReport()
            if change.entered:
                for bundle in index.for_segment(change.segment_id):
                    context = {"segment": change.segment_id}
                    started.merge(await self._enroll(bundle, change.customer_id, context))
            report.merge(started)
            skip = set(started.enrollment_ids)
            targets = await asyncio.to_thread(self._listening, change, skip)
            signal = SegmentSignal(segment=change.segment_id, entered=change.entered)
            told = await asyncio.gather(*(self._signal(e, "segment", signal) for e in targets))
            report.signalled += [eid for eid, ok in zip(targets, told, strict=True) if ok]
        ids = [c.id for c in changes]
        await asyncio.to_thread(self.store.mark_segment_changes, ids, at=_utcnow())
        return report

    def _listening(self, change: SegmentChange, skip: set[str]) -> list[str]:
        """The customer's running enrollments whose journey version has a goal
        (entered) or an exit (left) on this segment."""
        out = []
        records = self.store.list_enrollments(
            customer_id=change.customer_id, status="running", limit=1000
        )
        for record in records:
            if record.id in skip:
                continue
            journey = self.store.get_bundle(record.journey_id, record.version).journey
            if change.entered:
                goal = journey.goal
                hit = isinstance(goal, GoalSegment) and goal.segment_entered == change.segment_id
            else:
                hit = any(
                    isinstance(cond, ExitSegment) and cond.segment_exited == change.segment_id
                    for cond in journey.exit_when
                )
            if hit:
                out.append(record.id)
        return out

    async def customers_changed(self, customer_ids: Sequence[str]) -> DispatchReport:
        """Act on the undispatched enters and exits of these customers (after a tag,
        attribute or consent change that the API made)."""
        pending = await asyncio.to_thread(
            self.store.pending_segment_changes, customer_ids=list(dict.fromkeys(customer_ids))
        )
        return await self.segments_changed(pending)

    async def sweep_segments(self, older_than: float) -> int:
        """Dispatch enters and exits left undispatched for ``older_than`` seconds (a
        crash after commit, a journey step's change in the worker); how many."""
        before = _utcnow() - timedelta(seconds=older_than)
        pending = await asyncio.to_thread(self.store.pending_segment_changes, before=before)
        await self.segments_changed(pending)
        return len(pending)

    async def sync_segment_schedules(self) -> RefreshSync:
        """After a deploy: Temporal's refresh schedules match the deployed time-based
        segments, and the exits the deploy caused (changed or removed segments) are
        dispatched."""
        index = SegmentIndex(await asyncio.to_thread(self.store.deployed_segments))
        deployed = self.segments_deployed
        forget = list(deployed.removed) if deployed else []
        result = await sync_refresh_schedules(
            self.client,
            index,
            timezone=self.segment_timezone,
            task_queue=self.task_queue,
            forget=forget,
        )
        if deployed is not None:
            for sid in index.closure(deployed.changed) + deployed.removed:
                pending = await asyncio.to_thread(
                    self.store.pending_segment_changes, segment_id=sid
                )
                await self.segments_changed(pending)
        return result
