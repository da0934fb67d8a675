"""One tick of a scheduled journey: plan it, then enroll the segment's members in slices.

Started by the journey's Temporal Schedule (``engine.dispatch.journey_schedules``). The
tick's time is the schedule's scheduled time (the ``TemporalScheduledStartTime`` search attribute),
so a tick that starts late, or is retried, keeps the key of the cron time it stands
for. Each slice is one activity that enrolls a few batches and heartbeats its cursor;
the workflow adds up what the slices did, answers the ``progress`` query with it, and
continues as new when its history grows long (a very large segment).

Determinism: time only through ``workflow.now()`` and the search attribute; the
world only through the two activities.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey

with workflow.unsafe.imports_passed_through():
    from engine.contracts.ticks import (
        SCHEDULED_WORKFLOW_NAME,
        PlanInput,
        ScheduledEnrollInput,
        SliceInput,
        SliceResult,
        TickPlan,
        TickProgress,
    )

_SCHEDULED_AT = SearchAttributeKey.for_datetime("TemporalScheduledStartTime")
_PERMANENT = ["NotFound", "ValueError", "ValidationError"]
_PLAN: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        maximum_interval=timedelta(seconds=30), non_retryable_error_types=_PERMANENT
    ),
}
# A slice heartbeats while it enrolls; a worker that dies mid-slice is noticed after
# the heartbeat timeout and the retry resumes from the last heartbeat's cursor.
_SLICE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(hours=1),
    "heartbeat_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(seconds=30),
        non_retryable_error_types=_PERMANENT,
    ),
}


@workflow.defn(name=SCHEDULED_WORKFLOW_NAME)
class ScheduledEnrollWorkflow:
    """Enrolls a scheduled journey's segment once, for one tick."""

    @workflow.init
    def __init__(self, input: ScheduledEnrollInput) -> None:
        self.progress = input.resume or TickProgress(journey_id=input.journey_id)

    @workflow.query(name="progress")
    def get_progress(self) -> TickProgress:
        """Members enrolled and skipped so far, and where the tick is."""
        return self.progress

    @workflow.run
    async def run(self, input: ScheduledEnrollInput) -> TickProgress:
        plan = input.plan
        if plan is None:
            tick_at = input.tick_at or self._scheduled_at()
            plan = await workflow.execute_activity(
                "plan_scheduled_tick",
                PlanInput(journey_id=input.journey_id, tick_at=tick_at),
                result_type=TickPlan,
                **_PLAN,
            )
            self.progress = self.progress.model_copy(
                update={
                    "version": plan.version,
                    "segment": plan.segment,
                    "tick_at": plan.tick_at,
                    "status": "enrolling" if plan.run else "not_run",
                    "reason": plan.reason,
                }
            )
            if not plan.run:
                return self.progress
        while True:
            done = await workflow.execute_activity(
                "enroll_scheduled_slice",
                SliceInput(
                    plan=plan,
                    cursor=self.progress.cursor,
                    batch_size=input.batch_size,
                    max_batches=input.batches_per_slice,
                ),
                result_type=SliceResult,
                **_SLICE,
            )
            self._add(done)
            if done.done:
                break
            if workflow.info().is_continue_as_new_suggested():
                workflow.continue_as_new(
                    input.model_copy(update={"plan": plan, "resume": self.progress})
                )
        self.progress = self.progress.model_copy(update={"status": "done"})
        return self.progress

    def _add(self, done: SliceResult) -> None:
        skips = dict(self.progress.skips)
        for reason, n in done.skips.items():
            skips[reason] = skips.get(reason, 0) + n
        p = self.progress
        self.progress = p.model_copy(
            update={
                "enrolled": p.enrolled + done.enrolled,
                "skipped": p.skipped + done.skipped,
                "batches": p.batches + done.batches,
                "cursor": done.cursor or p.cursor,
                "skips": skips,
                "reason": done.reason or p.reason,
                "resumed": p.resumed + done.resumed,
            }
        )

    def _scheduled_at(self) -> datetime:
        scheduled = workflow.info().typed_search_attributes.get(_SCHEDULED_AT)
        return scheduled if scheduled is not None else workflow.now()
