"""Every running enrollment shows its journey, version, step and status as search
attributes, upserted when it enters a step: what "waiting now" counts."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from activities.channels.registry import build_adapters
from engine.contracts.journey import (
    SA_JOURNEY,
    SA_STATUS,
    SA_STEP,
    SA_VERSION,
    EnrollmentResult,
    EventSignal,
)
from engine.dispatch.enroll import enroll
from engine.models.journey import Journey
from engine.models.workspace import JourneyBundle
from engine.store import Customer, MemoryStore
from simulators import ProviderSimulators
from worker import build_worker

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
STEPS: list[dict[str, Any]] = [
    {"id": "rest", "wait": {"duration": "1h"}},
    {"id": "also", "wait": {"duration": "1h"}, "next": "ask"},
    {"id": "ask", "wait_for": {"event": "done", "timeout": "1d"}},
    {"id": "end", "exit": "done"},
]


@dataclass
class Rig:
    env: WorkflowEnvironment
    store: MemoryStore
    queue: str


@pytest.fixture
async def rig(time_env: WorkflowEnvironment) -> AsyncIterator[Rig]:
    store = MemoryStore()
    store.put_customer(Customer(id="c-1", attributes={"name": "张三"}))
    with ProviderSimulators() as sims:
        queue = f"vis-{uuid.uuid4().hex[:8]}"
        adapters = build_adapters(sims.channel_settings())
        async with build_worker(time_env.client, store, adapters, queue):
            yield Rig(time_env, store, queue)


async def shown(handle: WorkflowHandle[Any, Any], expect: tuple[Any, ...]) -> tuple[Any, ...]:
    """The four attributes, once they equal ``expect`` or after 5 s of real time."""
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        attrs = (await handle.describe()).typed_search_attributes
        got = tuple(attrs.get(key) for key in (SA_JOURNEY, SA_VERSION, SA_STEP, SA_STATUS))
        if got == expect or asyncio.get_running_loop().time() > deadline:
            return got
        await asyncio.sleep(0.05)


async def test_the_step_and_status_follow_the_enrollment(rig: Rig) -> None:
    journey = Journey.model_validate({"id": "vis", "trigger": {"api": True}, "steps": STEPS})
    bundle = JourneyBundle(journey=journey, version=3)
    rig.store.put_bundle(bundle)
    started = await enroll(
        rig.env.client, rig.store, bundle, "c-1", {}, now=NOW, task_queue=rig.queue
    )
    assert started.handle is not None
    handle = started.handle
    with rig.env.auto_time_skipping_disabled():
        assert await shown(handle, ("vis", 3, "rest", "running")) == ("vis", 3, "rest", "running")
        await rig.env.sleep(timedelta(minutes=61))
        assert await shown(handle, ("vis", 3, "also", "running")) == ("vis", 3, "also", "running")
        await rig.env.sleep(timedelta(minutes=61))
        assert await shown(handle, ("vis", 3, "ask", "running")) == ("vis", 3, "ask", "running")
        await handle.signal("event", EventSignal(name="done"))
        result: EnrollmentResult = await handle.result()
    assert result.status == "completed"
    # The step it ended at stays for the Web UI; the status says how it ended.
    assert await shown(handle, ("vis", 3, "end", "completed")) == ("vis", 3, "end", "completed")
    history = await handle.fetch_history()
    upserts = [
        set(e.upsert_workflow_search_attributes_event_attributes.search_attributes.indexed_fields)
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES
    ]
    # One command per step entered (four steps) and one when it ended; the patch that
    # guards them adds its marker and its own TemporalChangeVersion upsert, once.
    assert upserts == [
        {"TemporalChangeVersion"},
        {"CarepathJourney", "CarepathVersion", "CarepathStep", "CarepathStatus"},
        {"CarepathStep"},
        {"CarepathStep"},
        {"CarepathStep"},
        {"CarepathStatus"},
    ]
