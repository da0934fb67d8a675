"""BackgroundWorkflow: the one owner of the sweep and the WeCom result reads.

Every worker starts it at start-up under one id (``carepath-background``) and Temporal
keeps exactly one running, so N workers and N API processes still sweep once. It
loops: a sweep, every ``wecom_every`` rounds a read of WeCom send results, then a
durable timer; after ``rounds_per_run`` rounds it continues as new to keep its history
short. A failed activity is retried by Temporal; a round that still fails is logged
and the loop goes on, so one bad round never stops the background work.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError

# The sandbox re-imports workflow modules; pydantic models pass through it unchanged.
with workflow.unsafe.imports_passed_through():
    from engine.contracts.background import (
        BACKGROUND_WORKFLOW,
        SWEEP_ACTIVITY,
        WECOM_RESULTS_ACTIVITY,
        BackgroundInput,
        BackgroundResult,
        SweepInput,
        SweepResult,
        WeComResultsInput,
        WeComResultsResult,
    )

_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), maximum_attempts=3)


@workflow.defn(name=BACKGROUND_WORKFLOW)
class BackgroundWorkflow:
    @workflow.run
    async def run(self, arg: BackgroundInput) -> BackgroundResult:
        for round_no in range(1, arg.rounds_per_run + 1):
            await self._sweep(arg)
            if round_no % arg.wecom_every == 0:
                await self._wecom_results()
            await workflow.sleep(timedelta(seconds=arg.sweep_seconds))
        workflow.continue_as_new(arg)

    async def _sweep(self, arg: BackgroundInput) -> None:
        try:
            await workflow.execute_activity(
                SWEEP_ACTIVITY,
                SweepInput(older_than_seconds=arg.sweep_after_seconds),
                result_type=SweepResult,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=_RETRY,
            )
        except ActivityError:
            workflow.logger.warning("sweep failed; the next round tries again")

    async def _wecom_results(self) -> None:
        try:
            await workflow.execute_activity(
                WECOM_RESULTS_ACTIVITY,
                WeComResultsInput(),
                result_type=WeComResultsResult,
                start_to_close_timeout=timedelta(minutes=5),
                retry_policy=_RETRY,
            )
        except ActivityError:
            workflow.logger.warning("WeCom result read failed; the next round tries again")
