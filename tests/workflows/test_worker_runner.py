"""The worker process runs the journey interpreter outside the sandbox: same journeys,
same outcomes, same traces as under the sandbox the other tests use."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from temporalio.testing import WorkflowEnvironment

from activities.channels.registry import build_adapters
from engine.contracts.journey import EnrollmentResult, EventSignal, HandoffOutcomeSignal
from engine.dispatch.enroll import enroll
from engine.models.journey import Journey
from engine.models.message import Message
from engine.models.workspace import JourneyBundle
from engine.store import Customer, MemoryStore
from simulators import ProviderSimulators
from tests.factories import SERVICE_MESSAGE
from worker import build_worker

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)

STEPS: list[dict[str, Any]] = [
    {"id": "remind", "send": {"message": "notice", "channels": ["sms"]}},
    {"id": "reply", "wait_for": {"event": "reply", "timeout": "1d"}},
    {"id": "call", "handoff": {"queue": "optometrist", "outcomes": {"booked": "done"}}},
    {"id": "left", "exit": "not_booked"},
    {"id": "done", "exit": "booked"},
]


async def run_three_steps(
    env: WorkflowEnvironment, sandbox_interpreter: bool
) -> tuple[EnrollmentResult, list[tuple[str, str | None, str | None]], list[str]]:
    """Send, wait for the reply, hand off, answer ``booked``: the result, the trace
    (kind, step, outcome) and the recipients of the SMS provider."""
    store = MemoryStore()
    store.put_customer(Customer(id="c-1", attributes={"name": "张三", "phone": "+8613800000000"}))
    journey = Journey.model_validate({"id": "three", "trigger": {"api": True}, "steps": STEPS})
    bundle = JourneyBundle(
        journey=journey, version=1, messages={"notice": Message.model_validate(SERVICE_MESSAGE)}
    )
    store.put_bundle(bundle)
    queue = f"t-{uuid.uuid4().hex[:8]}"
    with ProviderSimulators() as sims:
        adapters = build_adapters(sims.channel_settings())
        async with build_worker(
            env.client, store, adapters, queue, sandbox_interpreter=sandbox_interpreter
        ):
            started = await enroll(env.client, store, bundle, "c-1", {}, now=NOW, task_queue=queue)
            assert started.handle is not None
            await started.handle.signal("event", EventSignal(name="reply", message_id="m-1"))
            while not (tasks := store.list_tasks(queue="optometrist")):
                await env.sleep(1)
            store.complete_task(tasks[0].id, "booked")
            outcome = HandoffOutcomeSignal(task_id=tasks[0].id, outcome="booked")
            await started.handle.signal("handoff_outcome", outcome)
            result: EnrollmentResult = await started.handle.result()
        texts = [m.recipient for m in sims.sms.messages]
    assert started.enrollment_id is not None
    trace = [(e.kind, e.step, e.outcome) for e in store.get_trace(started.enrollment_id)]
    return result, trace, texts


async def test_the_interpreter_runs_the_same_outside_the_sandbox(
    time_env: WorkflowEnvironment,
) -> None:
    sandboxed = await run_three_steps(time_env, sandbox_interpreter=True)
    direct = await run_three_steps(time_env, sandbox_interpreter=False)
    result, trace, texts = direct
    assert (result.status, result.exit_reason) == ("completed", "booked")
    assert ("handoff", "call", "booked") in trace
    assert texts == ["+8613800000000"]
    assert direct == sandboxed
