"""SegmentRefreshWorkflow: one run of a time-based segment's refresh schedule.

The workflow only pins the evaluation time (the schedule's start time, from workflow
time, so a retried activity evaluates the same instant) and runs the activity that
does the work in SQL and tells the journeys. Retrying is safe: a recompute finds the
membership already written and dispatches what is still in the outbox.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from engine.contracts.segment_refresh import (
        REFRESH_ACTIVITY,
        SEGMENT_REFRESH_WORKFLOW,
        SegmentRefreshInput,
        SegmentRefreshResult,
    )


@workflow.defn(name=SEGMENT_REFRESH_WORKFLOW)
class SegmentRefreshWorkflow:
    @workflow.run
    async def run(self, arg: SegmentRefreshInput) -> SegmentRefreshResult:
        at = arg.at or workflow.now()
        result = await workflow.execute_activity(
            REFRESH_ACTIVITY,
            SegmentRefreshInput(segment_id=arg.segment_id, at=at),
            result_type=SegmentRefreshResult,
            start_to_close_timeout=timedelta(minutes=30),
            heartbeat_timeout=timedelta(minutes=2),
            retry_policy=RetryPolicy(maximum_interval=timedelta(minutes=1), maximum_attempts=10),
        )
        assert isinstance(result, SegmentRefreshResult)
        return result
