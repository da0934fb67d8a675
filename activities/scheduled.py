"""The activities of a scheduled journey's tick: plan it, enroll a slice of members.

A slice pages the segment's members by customer id and enrolls each batch through
the normal enroll path (``engine.dispatch.enroll.enroll``) with the tick's key. After
each batch it heartbeats what it did with the cursor (the last customer id); a retry
after a worker died resumes from that heartbeat. The batch in hand when the worker
died is enrolled again, which starts no one twice: the workflow id holds the tick's
key and is never run twice (``enroll(tick=...)``), and a member whose enrollment for
this tick exists (running or ended) counts as enrolled, not again.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from temporalio import activity
from temporalio.client import Client

from engine.contracts.ticks import PlanInput, SliceInput, SliceResult, TickPlan
from engine.dispatch.enroll import enroll
from engine.dispatch.journey_schedules import (
    CUSTOMER,
    key_for,
    plan_tick,
    profile_zones_due,
    schedule_of,
)
from engine.errors import NotFound, TemplateError
from engine.expressions.clock import utcnow
from engine.models.workspace import JourneyBundle
from engine.store import EnrollmentRecord
from engine.store.sql import SqlStore
from engine.store.sql.audience import Audience, Member
from rules.deps import dependencies

#: Enrollments of one batch started at the same time (each is a Temporal start).
CONCURRENCY = 16
ENROLLED = "enrolled"


class ScheduledActivities:
    """The tick activities over a Temporal client and the SQL store."""

    def __init__(
        self, client: Client, store: SqlStore, task_queue: str, *, concurrency: int = CONCURRENCY
    ) -> None:
        self.client, self.store, self.task_queue = client, store, task_queue
        self.audience = Audience(store)
        self.concurrency = concurrency

    def all(self) -> list[Any]:
        """Every activity, for the worker to register."""
        return [self.plan_scheduled_tick, self.enroll_scheduled_slice]

    @activity.defn(name="plan_scheduled_tick")
    async def plan_scheduled_tick(self, arg: PlanInput) -> TickPlan:
        """Pin the current version and work out the tick's key(s)."""

        def work() -> TickPlan:
            current = {jid: (v, p) for jid, v, p in self.store.deployment()}
            if arg.journey_id not in current:
                return plan_tick(None, journey_id=arg.journey_id, paused=False, tick_at=arg.tick_at)
            version, paused = current[arg.journey_id]
            bundle = self.store.get_bundle(arg.journey_id, version)
            spec = schedule_of(bundle)
            if spec is not None and not paused:
                self._refresh_if_timed(spec.segment)
            zones = self.audience.timezones() if spec and spec.timezone == CUSTOMER else []
            return plan_tick(
                bundle,
                journey_id=arg.journey_id,
                paused=paused,
                tick_at=arg.tick_at,
                profile_zones=zones,
            )

        return await asyncio.to_thread(work)

    @activity.defn(name="enroll_scheduled_slice")
    async def enroll_scheduled_slice(self, arg: SliceInput) -> SliceResult:
        """Enroll up to ``max_batches`` batches after the cursor; resume from the last
        heartbeat when this is a retry."""
        plan = arg.plan
        resumed = _resumed(activity.info().heartbeat_details)
        if resumed is not None:
            resumed = resumed.model_copy(update={"resumed": 1})
        done = resumed or SliceResult(cursor=arg.cursor)
        bundle = await asyncio.to_thread(self.store.get_bundle, plan.journey_id, plan.version)
        zones = profile_zones_due(plan)
        while not done.done and done.batches < arg.max_batches:
            if await asyncio.to_thread(self._paused, plan.journey_id):
                return done.model_copy(update={"done": True, "reason": "journey paused"})
            members = await asyncio.to_thread(
                self.audience.page,
                segment=plan.segment,
                now=utcnow(),
                after=done.cursor,
                limit=arg.batch_size,
                zones=zones,
            )
            if not members:
                done = done.model_copy(update={"done": True})
                break
            outcomes = await self._batch(bundle, plan, members, done)
            skips = Counter(done.skips)
            skips.update(o for o in outcomes if o != ENROLLED)
            done = done.model_copy(
                update={
                    "cursor": members[-1].customer_id,
                    "enrolled": done.enrolled + outcomes.count(ENROLLED),
                    "skipped": done.skipped + sum(1 for o in outcomes if o != ENROLLED),
                    "batches": done.batches + 1,
                    "skips": dict(skips),
                    "done": len(members) < arg.batch_size,
                }
            )
            activity.heartbeat(done)
        return done

    # ---- one batch ---------------------------------------------------------------------

    async def _batch(
        self, bundle: JourneyBundle, plan: TickPlan, members: list[Member], before: SliceResult
    ) -> list[str]:
        existing = await asyncio.to_thread(
            self.audience.enrollments_of, plan.journey_id, [m.customer_id for m in members]
        )
        gate = asyncio.Semaphore(self.concurrency)

        async def one(member: Member) -> str:
            async with gate:
                outcome = await self._one(
                    bundle, plan, member, existing.get(member.customer_id, [])
                )
                activity.heartbeat(before)  # alive; the cursor moves once the batch is done
                return outcome

        return list(await asyncio.gather(*(one(m) for m in members)))

    async def _one(
        self,
        bundle: JourneyBundle,
        plan: TickPlan,
        member: Member,
        existing: list[tuple[str | None, str]],
    ) -> str:
        """``enrolled``, or why the member was passed over."""
        key = key_for(plan, member.timezone)
        if key is None:
            return "not due in the customer's timezone"
        if any(k is not None and k.endswith(key) for k, _ in existing):
            return ENROLLED  # this tick's enrollment exists: a retried batch
        others = [status for k, status in existing if not (k is not None and k.endswith(key))]
        reentry = bundle.journey.reentry
        if reentry == "after_exit" and "running" in others:
            return "still in the journey (an earlier enrollment is running)"
        if reentry == "never" and others:
            return "reentry: never, and enrolled before"
        context = {"tick": key.removeprefix("tick:"), "segment": plan.segment}
        now = utcnow()
        try:
            enrolled = await enroll(
                self.client,
                self.store,
                bundle,
                member.customer_id,
                context,
                now=now,
                task_queue=self.task_queue,
                tick=key,
            )
        except TemplateError as exc:
            return f"key: {exc}"
        except NotFound:
            return "customer no longer exists"
        if enrolled.status == "started":
            return ENROLLED
        if enrolled.status == "already_active" and enrolled.enrollment_id:
            # Started before a crash that came before its record was written: write it.
            wid = enrolled.enrollment_id
            await asyncio.to_thread(
                self.store.record_enrollment,
                EnrollmentRecord(
                    id=wid,
                    journey_id=bundle.journey.id,
                    version=bundle.version,
                    customer_id=member.customer_id,
                    key=wid.split(":key:", 1)[1] if ":key:" in wid else key,
                    started_at=now,
                ),
            )
            return ENROLLED
        return enrolled.detail or enrolled.status

    def _refresh_if_timed(self, segment_id: str) -> None:
        """A segment whose rule reads time windows (``within``, ``older_than``) is
        recomputed first, so the tick enrolls who is a member at the tick rather than at
        the last refresh. Event-driven membership is current already."""
        definition = self.audience.segment(segment_id)
        if not definition.membership:
            return  # compiled at each page: current by construction
        rules = {s.id: s.rule for s in self.audience.segments()}
        if dependencies(definition.rule, rules).time_windows:
            self.store.refresh_segment(segment_id, now=utcnow())

    def _paused(self, journey_id: str) -> bool:
        return any(jid == journey_id and paused for jid, _, paused in self.store.deployment())


def _resumed(details: Any) -> SliceResult | None:
    """The last heartbeat's progress (a retry after the worker died), if any."""
    if not details:
        return None
    last = details[0]
    return SliceResult.model_validate(last if isinstance(last, dict) else last.model_dump())
