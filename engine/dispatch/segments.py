"""Segment dispatch: act on enters and exits after commit.

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
from datetime import timedelta
from functools import partial

from engine.contracts.journey import SegmentSignal
from engine.dispatch.attempts import Attempts
from engine.dispatch.deployment import Deployment
from engine.dispatch.enroller import Enroller
from engine.dispatch.report import DispatchReport
from engine.dispatch.segment_schedules import RefreshSync, sync_refresh_schedules
from engine.dispatch.signals import Signals
from engine.expressions.clock import utcnow
from engine.models.journey import ExitSegment, GoalSegment
from engine.models.segment_index import SegmentIndex
from engine.store.records import SegmentChange


class SegmentDispatch:
    """Segment enters and exits, and the refresh schedules of deployed segments."""

    def __init__(
        self, deployment: Deployment, enroller: Enroller, signals: Signals, attempts: Attempts
    ) -> None:
        self.deployment = deployment
        self.enroller = enroller
        self.signals = signals
        self.attempts = attempts
        self.store = deployment.store

    async def changed(self, changes: Sequence[SegmentChange]) -> DispatchReport:
        """Enroll on enters, signal goals and exits; mark the changes dispatched."""
        report = DispatchReport()
        if not changes:
            return report
        index = self.deployment.index()
        for change in changes:
            started = DispatchReport()
            if change.entered:
                for bundle in index.for_segment(change.segment_id):
                    context = {"segment": change.segment_id}
                    started.merge(
                        await self.enroller.triggered(bundle, change.customer_id, context)
                    )
                paused = index.paused_for_segment(change.segment_id)
                trigger = f"segment_entered {change.segment_id}"
                started.merge(
                    await self.enroller.paused(
                        paused, change.customer_id, f"segment:{change.id}", trigger
                    )
                )
            report.merge(started)
            skip = set(started.enrollment_ids)
            targets = await asyncio.to_thread(self._listening, change, skip)
            signal = SegmentSignal(segment=change.segment_id, entered=change.entered)
            told = await asyncio.gather(*(self.signals.send(e, "segment", signal) for e in targets))
            report.signalled += [eid for eid, ok in zip(targets, told, strict=True) if ok]
        ids = [c.id for c in changes]
        await asyncio.to_thread(self.store.mark_segment_changes, ids, at=utcnow())
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
        return await self.changed(pending)

    async def sweep(self, older_than: float) -> int:
        """Dispatch enters and exits left undispatched for ``older_than`` seconds (a
        crash after commit, a journey step's change in the worker, Temporal away, a
        failed dispatch), each on its own; how many."""
        now = utcnow()
        before = now - timedelta(seconds=older_than)
        pending = await asyncio.to_thread(
            self.store.pending_segment_changes, before=before, now=now
        )
        for change in pending:
            await self.attempts.run(
                "segment", change.id, change.customer_id, partial(self.changed, [change])
            )
        return len(pending)

    async def sync_schedules(self) -> RefreshSync:
        """After a deploy: Temporal's refresh schedules match the deployed time-based
        segments, and the exits the deploy caused (changed or removed segments) are
        dispatched."""
        index = SegmentIndex(await asyncio.to_thread(self.store.deployed_segments))
        deployed = self.deployment.segments_deployed
        forget = list(deployed.removed) if deployed else []
        result = await sync_refresh_schedules(
            self.deployment.client,
            index,
            timezone=self.deployment.segment_timezone,
            task_queue=self.deployment.task_queue,
            forget=forget,
        )
        if deployed is not None:
            for sid in index.closure(deployed.changed) + deployed.removed:
                pending = await asyncio.to_thread(
                    self.store.pending_segment_changes, segment_id=sid
                )
                await self.changed(pending)
        return result
