"""Enrollment semantics: keys, re-entry, version pinning and continue-as-new."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.channels.registry import build_adapters
from engine.contracts.journey import CancelSignal, EnrollmentResult, EventSignal, RunOptions
from engine.dispatch.enroll import enroll
from engine.models.journey import Journey
from engine.models.message import Message
from engine.models.workspace import JourneyBundle
from engine.store import Customer, MemoryStore
from simulators import ProviderSimulators
from tests.factories import SERVICE_MESSAGE
from worker import build_worker

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@dataclass
class Rig:
    env: WorkflowEnvironment
    store: MemoryStore
    task_queue: str
    sims: ProviderSimulators

    async def enroll(self, bundle: JourneyBundle, context: dict[str, Any], **kw: Any) -> Any:
        self.store.put_bundle(bundle)
        return await enroll(
            self.env.client,
            self.store,
            bundle,
            "c-1",
            context,
            now=NOW,
            task_queue=self.task_queue,
            **kw,
        )


@pytest.fixture
async def rig(time_env: WorkflowEnvironment) -> AsyncIterator[Rig]:
    store = MemoryStore()
    store.put_customer(Customer(id="c-1", attributes={"name": "张三", "phone": "+8613800000000"}))
    with ProviderSimulators() as sims:
        queue = f"t-{uuid.uuid4().hex[:8]}"
        async with build_worker(
            time_env.client, store, build_adapters(sims.channel_settings()), queue
        ):
            yield Rig(time_env, store, queue, sims)
            # End leftover enrollments through the workflow itself: a terminated run's
            # pending timer stops the shared test server from skipping time afterwards.
            for enrollment_id in store.enrollments:
                handle = time_env.client.get_workflow_handle(enrollment_id)
                if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
                    await handle.signal("cancel", CancelSignal(reason="test finished"))
                    await handle.result()


def bundle(steps: list[dict[str, Any]], version: int = 1, **extra: Any) -> JourneyBundle:
    journey = Journey.model_validate(
        {"id": f"j{extra.pop('suffix', '')}", "trigger": {"api": True}, "steps": steps, **extra}
    )
    return JourneyBundle(
        journey=journey,
        version=version,
        messages={"notice": Message.model_validate(SERVICE_MESSAGE)},
    )


WAIT_THEN_EXIT = [
    {"id": "w", "wait_for": {"event": "done", "timeout": "1d"}},
    {"id": "end", "exit": "done"},
]


async def test_a_key_allows_one_active_enrollment_per_key(rig: Rig) -> None:
    b = bundle(WAIT_THEN_EXIT, key="{{ context.appointment_id }}", suffix="key")
    first = await rig.enroll(b, {"appointment_id": "A-1"})
    again = await rig.enroll(b, {"appointment_id": "A-1"})
    other = await rig.enroll(b, {"appointment_id": "A-2"})
    assert (first.status, again.status, other.status) == ("started", "already_active", "started")
    assert first.enrollment_id == "journey:jkey:customer:c-1:key:A-1"
    assert again.enrollment_id == first.enrollment_id


async def test_reentry_after_exit_never_and_always(rig: Rig) -> None:
    after = bundle(WAIT_THEN_EXIT, suffix="after")
    first = await rig.enroll(after, {})
    assert (await rig.enroll(after, {})).status == "already_active"
    await first.handle.signal("event", EventSignal(name="done"))
    assert (await first.handle.result()).status == "completed"
    assert (await rig.enroll(after, {})).status == "started"

    never = bundle(WAIT_THEN_EXIT, reentry="never", suffix="never")
    once = await rig.enroll(never, {})
    await once.handle.signal("event", EventSignal(name="done"))
    await once.handle.result()
    assert (await rig.enroll(never, {})).status == "not_again"

    always = bundle(WAIT_THEN_EXIT, reentry="always", suffix="always")
    a, b = await rig.enroll(always, {}), await rig.enroll(always, {})
    assert a.status == b.status == "started" and a.enrollment_id != b.enrollment_id


async def test_entry_rule_refuses_enrollment(rig: Rig) -> None:
    b = bundle(WAIT_THEN_EXIT, entry={"tag": "VIP"}, suffix="entry")
    result = await rig.enroll(b, {})
    assert result.status == "not_eligible" and result.handle is None


async def test_running_enrollments_keep_their_version(rig: Rig) -> None:
    v1 = bundle(
        [{"id": "w", "wait": {"duration": "1h"}}, {"id": "end", "exit": "v1"}],
        reentry="always",
        suffix="pin",
    )
    v2 = bundle(
        [{"id": "w", "wait": {"duration": "1h"}}, {"id": "end", "exit": "v2"}],
        version=2,
        reentry="always",
        suffix="pin",
    )
    old = await rig.enroll(v1, {})
    rig.store.put_bundle(v2)  # a deploy while the first enrollment waits
    new = await rig.enroll(v2, {})
    old_result: EnrollmentResult = await old.handle.result()
    new_result: EnrollmentResult = await new.handle.result()
    assert (old_result.exit_reason, new_result.exit_reason) == ("v1", "v2")
    assert rig.store.get_enrollment(old.enrollment_id).version == 1


async def test_long_journeys_continue_as_new_without_losing_the_trace(rig: Rig) -> None:
    steps = [
        {"id": "tick", "wait": {"duration": "1h"}},
        {"id": "mark", "tag": {"add": "looped"}},
        {
            "id": "again",
            "branch": [
                {"when": {"attribute": "stop", "eq": True}, "goto": "end"},
                {"else": "tick"},
            ],
        },
        {"id": "end", "exit": "stopped"},
    ]
    b = bundle(steps, suffix="can")
    started = await rig.enroll(b, {}, options=RunOptions(continue_as_new_after_events=40))
    first_run = (await started.handle.describe()).run_id
    # Let it loop for a day and a half of journey time, then stop it.
    await rig.env.sleep(timedelta(hours=36))
    rig.store.set_attributes("c-1", {"stop": True})
    result: EnrollmentResult = await started.handle.result()
    assert result.status == "completed" and result.exit_reason == "stopped"
    old = rig.env.client.get_workflow_handle(started.enrollment_id, run_id=first_run)
    history = await old.fetch_history()
    assert history.events[-1].event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW
    assert (await old.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    trace = rig.store.get_trace(started.enrollment_id)
    ticks = [e for e in trace if e.step == "tick"]
    assert len(ticks) >= 30
    assert [e.seq for e in trace] == list(range(1, len(trace) + 1))  # nothing lost or doubled


async def test_a_repeated_event_message_id_is_acted_on_once(rig: Rig) -> None:
    steps = [
        {"id": "first", "wait_for": {"event": "tick", "timeout": "1h"}, "on_timeout": "late"},
        {"id": "second", "wait_for": {"event": "tick", "timeout": "1h"}, "on_timeout": "late"},
        {"id": "both", "exit": "two_ticks"},
        {"id": "late", "exit": "timed_out"},
    ]
    started = await rig.enroll(bundle(steps, suffix="dedupe"), {})
    tick = EventSignal(name="tick", message_id="m-1")
    await started.handle.signal("event", tick)
    await started.handle.signal("event", tick)  # the same event, dispatched again
    result: EnrollmentResult = await started.handle.result()
    assert result.exit_reason == "timed_out"


async def test_an_event_during_the_send_before_a_wait_for_counts(rig: Rig) -> None:
    steps = [
        {"id": "s", "send": {"message": "notice", "channels": ["sms"]}},
        {
            "id": "wf",
            "wait_for": {"event": "paid", "timeout": "1d"},
            "on_event": "yes",
            "on_timeout": "no",
        },
        {"id": "yes", "exit": "paid_seen"},
        {"id": "no", "exit": "missed"},
    ]
    rig.sims.sms.configure(default={"result": "slow:1"})  # the send takes a second
    started = await rig.enroll(bundle(steps, suffix="early"), {})
    await started.handle.signal("event", EventSignal(name="paid", message_id="p-1"))
    assert (await started.handle.describe()).status == WorkflowExecutionStatus.RUNNING
    result: EnrollmentResult = await started.handle.result()
    assert result.exit_reason == "paid_seen"
    sent = [m for m in rig.sims.sms.messages if "+8613800000000" in m.recipient]
    assert len(sent) == 1


async def test_an_event_before_the_first_step_counts_for_the_wait_for_after_it(rig: Rig) -> None:
    # The enrollment's queue has no worker yet, so the event is in the workflow before
    # its first step runs (a signal can overtake a new enrollment's first task).
    steps = [
        {"id": "s", "send": {"message": "notice", "channels": ["sms"]}},
        {
            "id": "wf",
            "wait_for": {"event": "paid", "timeout": "1d"},
            "on_event": "yes",
            "on_timeout": "no",
        },
        {"id": "yes", "exit": "paid_seen"},
        {"id": "no", "exit": "missed"},
    ]
    idle = f"idle-{uuid.uuid4().hex[:8]}"
    b = bundle(steps, suffix="before")
    rig.store.put_bundle(b)
    started = await enroll(rig.env.client, rig.store, b, "c-1", {}, now=NOW, task_queue=idle)
    await started.handle.signal("event", EventSignal(name="paid", message_id="p-0"))
    adapters = build_adapters(rig.sims.channel_settings())
    async with build_worker(rig.env.client, rig.store, adapters, idle):
        result: EnrollmentResult = await started.handle.result()
    assert result.exit_reason == "paid_seen"
