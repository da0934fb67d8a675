"""The activity of a segment refresh: recompute in SQL, then tell the journeys.

It needs a Temporal client (enrolling in ``segment_entered`` journeys and signalling
running enrollments is what the API's dispatcher does after a request; here the
refresh is the cause), so it is a class built by the worker with the client.
"""

from __future__ import annotations

import asyncio

from temporalio import activity
from temporalio.client import Client

from engine.contracts.segment_refresh import (
    REFRESH_ACTIVITY,
    SegmentRefreshInput,
    SegmentRefreshResult,
)
from engine.dispatch.dispatcher import Dispatcher
from engine.models.segment_index import SegmentIndex
from engine.store.service_store import ServiceStore

#: Enters and exits dispatched per page (a heartbeat between pages).
PAGE = 200


class SegmentActivities:
    """Segment refreshes over one store, enrolling and signalling through ``client``."""

    def __init__(self, client: Client, store: ServiceStore, task_queue: str) -> None:
        self.dispatcher = Dispatcher(client, store, task_queue)
        self.store = store

    def all(self) -> list[object]:
        return [self.refresh_segment]

    @activity.defn(name=REFRESH_ACTIVITY)
    async def refresh_segment(self, arg: SegmentRefreshInput) -> SegmentRefreshResult:
        """Recompute a segment (and those using it) at ``arg.at``; dispatch what changed.

        A retry recomputes (finding the membership already written: no changes) and
        dispatches what the outbox still holds, so nothing is told twice.
        """
        at = arg.at or activity.info().scheduled_time
        changes = await asyncio.to_thread(self.store.refresh_segment, arg.segment_id, now=at)
        result = SegmentRefreshResult(segment_id=arg.segment_id, at=at, changes=changes)
        index = SegmentIndex(await asyncio.to_thread(self.store.deployed_segments))
        for sid in index.closure([arg.segment_id]):
            while True:
                page = await asyncio.to_thread(
                    self.store.pending_segment_changes, segment_id=sid, limit=PAGE
                )
                if not page:
                    break
                report = await self.dispatcher.segments_changed(page)
                result.entered += sum(1 for c in page if c.entered)
                result.exited += sum(1 for c in page if not c.entered)
                result.enrolled += report.enrollment_ids
                result.signalled += report.signalled
                activity.heartbeat(sid, result.entered + result.exited)
        return result
