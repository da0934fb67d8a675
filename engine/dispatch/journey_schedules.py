"""Scheduled journeys: one Temporal Schedule per ``schedule: {cron, segment}`` journey.

``sync_schedules`` makes Temporal's schedules match what is deployed (created,
updated, deleted, paused with the journey); deploys, pauses, resumes and every
worker start call it. Each tick starts ``ScheduledEnrollWorkflow`` with the id
``journey-tick:{journey}`` (Temporal appends the tick's time), which plans the tick
here (``plan_tick``) and enrolls the segment's members in batches.

The cron runs in the journey's ``timezone``, else the workspace's. With
``timezone: customer`` the schedule fires every hour at the cron's minutes (in UTC)
and each tick enrolls the members whose own local time reached a cron time since the
previous tick (profile ``timezone``, else the workspace's): on time in every
whole-hour zone, and at the next tick in a zone with a half-hour offset.

Each member is enrolled with the tick's key (``tick:2026-12-07T10:00+08:00``, the
cron time in the member's zone), so a retried batch or a restarted worker finds the
enrollment it already started and starts no second one.
"""

from __future__ import annotations

import asyncio
import logging
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from croniter import croniter
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
)

from engine.contracts.ticks import SCHEDULED_WORKFLOW_NAME, ScheduledEnrollInput, TickPlan
from engine.dispatch.schedules import delete_schedule, put_schedule
from engine.models.journey import ScheduleSpec as JourneySchedule
from engine.models.journey import ScheduleTrigger
from engine.models.workspace import JourneyBundle
from engine.store.service_store import ServiceStore

log = logging.getLogger("carepath.schedules")

SCHEDULE_PREFIX = "journey-schedule:"
TICK_PREFIX = "journey-tick:"
#: A tick missed by at most this much (Temporal or the workers were down) still runs
#: once; older ones are dropped (Temporal's default would fire every run of a year).
CATCHUP_WINDOW = timedelta(minutes=10)
CUSTOMER = "customer"


def schedule_id(journey_id: str) -> str:
    """The Temporal Schedule of a scheduled journey."""
    return f"{SCHEDULE_PREFIX}{journey_id}"


def tick_workflow_prefix(journey_id: str) -> str:
    """Ticks' workflow ids start with this (Temporal appends the scheduled time)."""
    return f"{TICK_PREFIX}{journey_id}"


def schedule_of(bundle: JourneyBundle) -> JourneySchedule | None:
    """The journey's ``schedule:`` trigger, or None for other triggers."""
    trigger = bundle.journey.trigger
    return trigger.schedule if isinstance(trigger, ScheduleTrigger) else None


def temporal_cron(spec: JourneySchedule, workspace_zone: str) -> tuple[str, str]:
    """(cron, zone) Temporal runs: the journey's own, or hourly at its minutes in UTC
    for ``timezone: customer``."""
    if spec.timezone == CUSTOMER:
        return f"{spec.cron.split()[0]} * * * *", "UTC"
    return spec.cron, spec.timezone or workspace_zone


def build_schedule(bundle: JourneyBundle, *, paused: bool, task_queue: str) -> Schedule:
    """The Temporal Schedule of a scheduled journey (overlap SKIP, short catch-up)."""
    spec = schedule_of(bundle)
    if spec is None:
        raise ValueError(f"journey {bundle.journey.id} has no schedule trigger")
    cron, zone = temporal_cron(spec, bundle.timezone)
    journey_id = bundle.journey.id
    return Schedule(
        action=ScheduleActionStartWorkflow(
            SCHEDULED_WORKFLOW_NAME,
            ScheduledEnrollInput(journey_id=journey_id),
            id=tick_workflow_prefix(journey_id),
            task_queue=task_queue,
        ),
        spec=ScheduleSpec(cron_expressions=[cron], time_zone_name=zone),
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=CATCHUP_WINDOW),
        state=ScheduleState(
            paused=paused,
            note=f"carepath: enrolls segment {spec.segment} ({spec.cron}, {spec.timezone or zone})",
        ),
    )


@dataclass
class ScheduleSync:
    """What ``sync_schedules`` changed, by journey id."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


async def sync_schedules(
    client: Client,
    store: ServiceStore,
    task_queue: str,
    journey_ids: Iterable[str] | None = None,
) -> ScheduleSync:
    """Create, update, pause or delete the schedules of the deployed journeys (or of
    ``journey_ids``) so Temporal runs exactly the deployed ``schedule`` triggers."""

    def read() -> list[tuple[JourneyBundle, bool]]:
        wanted = set(journey_ids) if journey_ids is not None else None
        out = []
        for jid, version, paused in store.deployment():
            if wanted is None or jid in wanted:
                out.append((store.get_bundle(jid, version), paused))
        return out

    result = ScheduleSync()
    for bundle, paused in await asyncio.to_thread(read):
        jid = bundle.journey.id
        if schedule_of(bundle) is None:
            # False: it had none, or the server has no schedules (the time-skipping
            # test server) and so none to delete either.
            if await delete_schedule(client, schedule_id(jid)):
                result.deleted.append(jid)
            continue
        schedule = build_schedule(bundle, paused=paused, task_queue=task_queue)
        if await put_schedule(client, schedule_id(jid), schedule) == "created":
            result.created.append(jid)
            continue
        handle = client.get_schedule_handle(schedule_id(jid))
        # The update carries the state too; pausing explicitly also covers servers
        # that keep the old state on update.
        if paused:
            await handle.pause(note="journey paused")
        else:
            await handle.unpause(note="journey resumed")
        result.updated.append(jid)
    if result.created or result.updated or result.deleted:
        log.info("schedules synced: %s", result)
    return result


# ---- planning a tick -------------------------------------------------------------------


def tick_key(fire: datetime) -> str:
    """The enrollment key of one cron time: ``tick:2026-12-07T10:00+08:00``."""
    return "tick:" + fire.isoformat(timespec="minutes")


def _zone(name: str | None, default: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or default)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(default)


def due_zone_keys(
    spec: JourneySchedule, tick_at: datetime, profile_zones: Iterable[str | None], default: str
) -> dict[str, str]:
    """``timezone: customer``: for each profile timezone ('' for none) whose local cron
    time fell in (previous tick, this tick], that cron time's key. An unknown zone
    counts as the workspace's."""
    hourly, _ = temporal_cron(spec, default)
    at = tick_at.astimezone(UTC)
    previous = croniter(hourly, at).get_prev(datetime)
    out: dict[str, str] = {}
    for name in profile_zones:
        local = at.astimezone(_zone(name, default))
        fire = croniter(spec.cron, local + timedelta(seconds=1)).get_prev(datetime)
        if previous < fire <= at + timedelta(seconds=1):
            out[name or ""] = tick_key(fire)
    return out


def plan_tick(
    bundle: JourneyBundle | None,
    *,
    journey_id: str,
    paused: bool,
    tick_at: datetime,
    profile_zones: Iterable[str | None] = (),
) -> TickPlan:
    """What the tick at ``tick_at`` enrolls (``profile_zones``: the timezones of live
    customers, read only for ``timezone: customer``)."""
    if bundle is None:
        return TickPlan(journey_id=journey_id, tick_at=tick_at, run=False, reason="not deployed")
    spec = schedule_of(bundle)
    base = TickPlan(
        journey_id=journey_id,
        version=bundle.version,
        segment=spec.segment if spec else "",
        tick_at=tick_at,
    )
    if spec is None:
        return base.model_copy(update={"run": False, "reason": "no schedule trigger any more"})
    if paused:
        return base.model_copy(update={"run": False, "reason": "journey paused"})
    if spec.timezone == CUSTOMER:
        keys = due_zone_keys(spec, tick_at, profile_zones, bundle.timezone)
        if not keys:
            return base.model_copy(
                update={"run": False, "reason": "no customer's local cron time is due"}
            )
        return base.model_copy(update={"zone_keys": keys})
    local = tick_at.astimezone(_zone(spec.timezone, bundle.timezone))
    return base.model_copy(update={"key": tick_key(local)})


def key_for(plan: TickPlan, profile_zone: str | None) -> str | None:
    """The tick key of a member with this profile timezone; None: not due this tick."""
    if plan.key is not None:
        return plan.key
    return plan.zone_keys.get(profile_zone or "")


def profile_zones_due(plan: TickPlan) -> list[str | None] | None:
    """The profile timezones whose members this tick enrolls; None: every member."""
    if plan.key is not None:
        return None
    return [zone or None for zone in plan.zone_keys]
