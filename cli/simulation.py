"""Run one scenario: a journey for one customer, simulated providers, skipped time.

The runner drives Temporal's time-skipping test server from the installed binary.
It keeps an agenda (the scenario's events, staff completing handoff tasks, the
providers' delivery receipts) and advances the server clock to the next thing that
happens: an agenda item or the workflow's own timer, whichever comes first. Before
each step it waits until the enrollment is idle (no activity in flight, every
signal seen), so what the trace shows is what production would do. Reading the
scenario and seeding its memory store are ``scenario_setup``'s.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import LoggingConfig, Runtime, TelemetryConfig, TelemetryFilter
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from activities.channels.registry import build_adapters
from cli.devserver import register_search_attributes
from cli.scenario_setup import (
    enrolls,
    load_scenario_workspace,
    prepare_store,
    start_enrollment,
    tick_of,
)
from engine.binaries import find_binary
from engine.compliance.policy import opt_out_channels, read_policy
from engine.contracts.journey import (
    AttributesSignal,
    CancelSignal,
    EnrollmentState,
    EventSignal,
    HandoffOutcomeSignal,
    ReceiptSignal,
    RunOptions,
    SegmentSignal,
    TraceEntry,
)
from engine.dispatch.enroll import enroll
from engine.errors import ScenarioError
from engine.models.journey import ScheduleTrigger
from engine.models.scenario import Scenario, ScenarioEvent
from engine.models.workspace import JourneyBundle
from engine.store import MemoryStore
from rules.view import EventRecord
from simulators import ProviderSimulators
from simulators.scenario import configure_providers, receipt_signal
from worker import build_worker
from workflows.journey import JourneyWorkflow

IDLE_POLL = 0.01
SETTLE_SECONDS = 60.0

#: How often a clock skip the test server timed out on is asked again.
_SKIP_TRIES = 3
#: What the test server says of a skip it did not finish on a busy machine.
_SKIP_TRANSIENT = ("Timeout expired", "h2 protocol error")


def _transient(exc: RPCError) -> bool:
    return any(text in exc.message for text in _SKIP_TRANSIENT)


@dataclass
class SimulationResult:
    journey: str
    version: int
    status: str
    exit_reason: str | None
    variant: str | None
    trace: list[TraceEntry]
    timezone: str
    store: MemoryStore | None = field(default=None, repr=False)
    enrollment_id: str | None = None
    history_json: str | None = field(default=None, repr=False)

    def as_json(self) -> dict[str, Any]:
        tz = ZoneInfo(self.timezone)
        trace = []
        for entry in self.trace:
            item = entry.public()
            item["at"] = entry.at.astimezone(tz).isoformat(timespec="seconds")
            trace.append(item)
        return {
            "journey": self.journey,
            "version": self.version,
            "status": self.status,
            "exit_reason": self.exit_reason,
            "variant": self.variant,
            "trace": trace,
        }


class _Run:
    """One scenario run; the agenda is a heap of (scenario time, order, action)."""

    def __init__(
        self,
        scenario: Scenario,
        bundle: JourneyBundle,
        env: WorkflowEnvironment,
        store: MemoryStore,
        sims: ProviderSimulators,
        task_queue: str,
        options: RunOptions | None,
    ) -> None:
        self.scenario, self.bundle, self.env, self.store = scenario, bundle, env, store
        self.sims, self.task_queue, self.options = sims, task_queue, options
        self.client: Client = env.client
        self.offset = timedelta(0)
        self.handle: WorkflowHandle[Any, Any] | None = None
        self.enrollment_id: str | None = None
        self.signals_sent = 0
        self.agenda: list[tuple[datetime, int, Callable[[], Awaitable[None]]]] = []
        self.order = itertools.count()
        self.scheduled: set[str] = set()
        self.handoffs = list(scenario.handoffs)
        self.enroll_detail: str | None = None

    def at(self, when: datetime, action: Callable[[], Awaitable[None]]) -> None:
        heapq.heappush(self.agenda, (when, next(self.order), action))

    async def now(self) -> datetime:
        return await self.env.get_current_time() + self.offset

    async def start(self) -> None:
        self.offset = self.scenario.start - await self.env.get_current_time()
        start = self.scenario.start
        planned = start_enrollment(self.bundle, self.scenario)
        if planned is not None:
            # Before the events: entries at the same offset reach the running enrollment.
            context = planned.context
            self.at(start + planned.after, lambda: self._enroll(context))
        for item in self.scenario.events:
            self.at(start + item.after, self._event_action(item, planned is None))

    def _event_action(self, item: ScenarioEvent, may_enroll: bool) -> Callable[[], Awaitable[None]]:
        async def act() -> None:
            now = await self.now()
            if item.kind == "event":
                self.store.add_event(
                    self.scenario.customer.id,
                    EventRecord(name=item.name, properties=item.properties, at=now),
                )
                # An opt-out reply withdraws marketing consent, as the callbacks do.
                policy = read_policy(self.store)
                for channel in opt_out_channels(item.name, item.properties, policy):
                    self.store.withdraw_consent(
                        self.scenario.customer.id, "marketing", channel, "opt-out reply", now
                    )
            elif item.kind in ("tag_added", "tag_removed"):
                add = [item.name] if item.kind == "tag_added" else []
                remove = [item.name] if item.kind == "tag_removed" else []
                self.store.change_tags(self.scenario.customer.id, add, remove, "scenario")
            elif item.attributes is not None:  # a profile change, as identify makes it
                self.store.set_attributes(self.scenario.customer.id, item.attributes)
                if self.handle is not None:
                    await self._signal(
                        "attributes", AttributesSignal(values=item.attributes, at=now)
                    )
            if self.handle is None and may_enroll and enrolls(self.bundle, item, now):
                await self._enroll(dict(item.properties))
            elif self.handle is not None and item.kind == "event":
                await self._signal(
                    "event", EventSignal(name=item.name, properties=item.properties, at=now)
                )
            elif self.handle is not None and item.kind.startswith("segment_"):
                entered = item.kind == "segment_entered"
                await self._signal("segment", SegmentSignal(segment=item.name, entered=entered))

        return act

    async def _enroll(self, context: dict[str, Any]) -> None:
        if self.handle is not None:
            return
        now = await self.now()
        scheduled = isinstance(self.bundle.journey.trigger, ScheduleTrigger)
        result = await enroll(
            self.client,
            self.store,
            self.bundle,
            self.scenario.customer.id,
            context,
            now=now,
            task_queue=self.task_queue,
            clock_offset_seconds=self.offset.total_seconds(),
            options=self.options,
            # A scheduled journey enrolls as a tick does: the tick's key after the key.
            tick=tick_of(self.bundle, self.scenario, now) if scheduled else None,
        )
        if result.handle is None:
            self.enroll_detail = f"{result.status}: {result.detail}"
            return
        self.handle, self.enrollment_id = result.handle, result.enrollment_id

    async def _signal(self, name: str, arg: Any) -> None:
        assert self.handle is not None
        try:
            await self.handle.signal(name, arg)
        except RPCError:
            return  # the enrollment already ended: nothing waits for this any more
        self.signals_sent += 1

    async def idle_state(self) -> EnrollmentState | None:
        """Wait until the enrollment is idle; None once it has closed."""
        assert self.handle is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SETTLE_SECONDS
        while True:
            if loop.time() > deadline:
                raise ScenarioError(
                    f"enrollment {self.enrollment_id} did not settle within {SETTLE_SECONDS:.0f}s "
                    "of real time; its workflow task may be failing (see the worker log)"
                )
            desc = await self.handle.describe()
            if desc.status is not None and desc.status.name != "RUNNING":
                return None
            try:
                state: EnrollmentState = await self.handle.query(JourneyWorkflow.state)
            except RPCError:
                await asyncio.sleep(IDLE_POLL)
                continue
            due = state.waiting.until if state.waiting else None
            if (
                state.status == "running"
                and not state.busy
                and state.waiting is not None
                and state.signals_seen >= self.signals_sent
                and (due is None or due > state.now)
            ):
                return state
            await asyncio.sleep(IDLE_POLL)

    def discover(self, state: EnrollmentState) -> None:
        """Schedule what the outside world does next: staff answers and receipts."""
        waiting = state.waiting
        if waiting is None:
            return
        if waiting.kind == "handoff" and waiting.task_id and waiting.task_id not in self.scheduled:
            self.scheduled.add(waiting.task_id)
            if self.handoffs:
                answer = self.handoffs.pop(0)
                task = self.store.get_task(waiting.task_id)
                task_id = waiting.task_id

                async def complete() -> None:
                    self.store.complete_task(task_id, answer.outcome)
                    await self._signal(
                        "handoff_outcome",
                        HandoffOutcomeSignal(task_id=task_id, outcome=answer.outcome),
                    )

                self.at(task.created_at + answer.after, complete)
        if waiting.kind == "receipt" and waiting.provider_ref and waiting.channel:
            ref, channel = waiting.provider_ref, waiting.channel
            if ref in self.scheduled:
                return
            self.scheduled.add(ref)
            planned = receipt_signal(self.sims, channel, ref)
            if planned is not None and waiting.attempt_at is not None:
                signal, delay = planned

                async def deliver(sig: ReceiptSignal = signal) -> None:
                    await self._signal("receipt", sig)

                self.at(waiting.attempt_at + timedelta(seconds=delay), deliver)

    async def advance_to(self, when: datetime) -> None:
        """Skip the clock to ``when``. On a busy machine the test server may answer a
        skip with "Timeout expired" (it could not settle it in time) or drop the call
        ("h2 protocol error"); the clock may have moved part of the way, so the skip is
        asked again from where it stands."""
        for attempt in range(_SKIP_TRIES):
            delta = (when - await self.now()).total_seconds()
            if delta <= 0:
                return
            try:
                await self.env.sleep(delta)
                return
            except RPCError as exc:
                if not _transient(exc) or attempt == _SKIP_TRIES - 1:
                    raise

    async def run(self) -> None:
        end = self.scenario.start + self.scenario.until
        await self.start()
        while True:
            state = await self.idle_state() if self.handle is not None else None
            if self.handle is not None and state is None:
                return  # the enrollment closed
            if state is not None:
                self.discover(state)
            next_item = self.agenda[0][0] if self.agenda else None
            wake = state.waiting.until if state and state.waiting else None
            if self.handle is None and next_item is None:
                return  # nothing enrolled and nothing left to happen
            target = min(t for t in (next_item, wake, end) if t is not None)
            await self.advance_to(target)
            if (
                target >= end
                and (next_item is None or next_item >= end)
                and (wake is None or wake >= end)
            ):
                return
            if next_item is not None and next_item <= target:
                while self.agenda and self.agenda[0][0] <= target:
                    _, _, action = heapq.heappop(self.agenda)
                    await action()
                    if self.handle is not None:
                        await self.idle_state()


async def start_test_server() -> WorkflowEnvironment:
    """Temporal's time-skipping test server from the installed binary, quiet on stderr."""
    runtime = Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(filter=TelemetryFilter(core_level="ERROR", other_level="ERROR"))
        )
    )
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=find_binary("temporal-test-server"),
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )
    await register_search_attributes(env.client)
    return env


async def simulate(
    path: Path,
    *,
    options: RunOptions | None = None,
    keep_env: WorkflowEnvironment | None = None,
    record_history: bool = False,
) -> SimulationResult:
    """Run the scenario at ``path`` and return its trace."""
    scenario, bundle, workspace = load_scenario_workspace(path)
    store = MemoryStore()
    store.put_bundle(bundle)
    prepare_store(store, scenario, workspace)
    with ProviderSimulators() as sims:
        configure_providers(sims, scenario.providers)
        adapters = build_adapters(sims.channel_settings())
        env = keep_env or await start_test_server()
        try:
            task_queue = f"simulate-{uuid.uuid4().hex[:8]}"
            async with build_worker(env.client, store, adapters, task_queue):
                run = _Run(scenario, bundle, env, store, sims, task_queue, options)
                await run.run()
                result = await _result(run, bundle, scenario)
                if record_history and run.handle is not None:
                    result.history_json = (await run.handle.fetch_history()).to_json()
                return result
        finally:
            if keep_env is None:
                await env.shutdown()


async def _result(run: _Run, bundle: JourneyBundle, scenario: Scenario) -> SimulationResult:
    tz = scenario.customer.timezone or bundle.timezone
    base = SimulationResult(
        journey=bundle.journey.id,
        version=bundle.version,
        status="not_enrolled",
        exit_reason=run.enroll_detail or "no scenario entry enrolled the customer",
        variant=None,
        trace=[],
        timezone=tz,
        store=run.store,
        enrollment_id=run.enrollment_id,
    )
    if run.enrollment_id is None or run.handle is None:
        return base
    trace = run.store.get_trace(run.enrollment_id)
    record = run.store.get_enrollment(run.enrollment_id)
    status: str = record.status
    reason, variant = record.exit_reason, record.variant
    if status == "running":
        state: EnrollmentState = await run.handle.query(JourneyWorkflow.state)
        if await _end_waiting(run.handle):
            last = trace[-1].seq if trace else 0
            trace += [e for e in state.pending_trace if e.seq > last]
            status, reason, variant = "waiting", None, state.variant
        else:  # it finished on its own between the read and the signal
            trace = run.store.get_trace(run.enrollment_id)
            record = run.store.get_enrollment(run.enrollment_id)
            status, reason, variant = record.status, record.exit_reason, record.variant
    base.status, base.exit_reason, base.variant, base.trace = status, reason, variant, trace
    return base


async def _end_waiting(handle: WorkflowHandle[Any, Any]) -> bool:
    """End a run still waiting at `until`; False when it had already completed.

    It is ended through the workflow (not terminated): a terminated run's pending timer
    would keep a shared time-skipping server from skipping time afterwards.
    """
    try:
        await handle.signal("cancel", CancelSignal(reason="simulation reached until"))
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        await handle.result()
        return False
    await handle.result()
    return True
