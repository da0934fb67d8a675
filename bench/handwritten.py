"""The yardsticks: a hand-written three-step workflow and a trivial one.

``HandWrittenJourney`` does what the benchmark journey does (send one SMS through
the same activity, wait for an event, create a handoff task and wait for its
outcome) with no interpreter, so the ratio of the two rates is the interpreter's
cost. ``Trivial`` starts and completes: the ceiling of the server.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from engine.contracts.journey import (
        EventSignal,
        HandoffInput,
        HandoffOutcomeSignal,
        HandoffResult,
        SendInput,
        SendResult,
    )
    from workflows import policies


@workflow.defn(name="HandWrittenJourney")
class HandWrittenJourney:
    def __init__(self) -> None:
        self.events: list[EventSignal] = []
        self.outcome: HandoffOutcomeSignal | None = None

    @workflow.signal
    def event(self, signal: EventSignal) -> None:
        self.events.append(signal)

    @workflow.signal
    def handoff_outcome(self, signal: HandoffOutcomeSignal) -> None:
        self.outcome = signal

    @workflow.run
    async def run(self, send: SendInput) -> str:
        await workflow.execute_activity(
            "send_channel", send, result_type=SendResult, **policies.for_activity("send_channel")
        )
        await workflow.wait_condition(lambda: bool(self.events), timeout=timedelta(hours=1))
        handoff = HandoffInput(
            **send.model_dump(exclude={"message", "channel", "idempotency_key"}),
            queue="optometrist",
        )
        task: HandoffResult = await workflow.execute_activity(
            "create_handoff",
            handoff,
            result_type=HandoffResult,
            **policies.for_activity("create_handoff"),
        )
        await workflow.wait_condition(lambda: self.outcome is not None)
        return task.task_id


@workflow.defn(name="Trivial")
class Trivial:
    @workflow.run
    async def run(self) -> None:
        return None
