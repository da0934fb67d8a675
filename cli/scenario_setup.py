"""A scenario's setup: reading it with the workspace its journey lives in, and the
memory store a simulation starts from (what a deploy and the customer's past leave).

Only simulations use this: their store is a sandbox of its own, never the clinic's.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from engine.dispatch.journey_schedules import CUSTOMER, tick_key
from engine.errors import ScenarioError, ValidationFailed
from engine.models.journey import (
    ApiTrigger,
    EventTrigger,
    ScheduleTrigger,
    SegmentEnteredTrigger,
    TagAddedTrigger,
)
from engine.models.reading import load_model
from engine.models.scenario import Scenario, ScenarioEvent
from engine.models.workspace import JourneyBundle, Workspace
from engine.settings import get_settings
from engine.store import Customer, MemoryStore
from engine.store.records import SendSlot
from engine.workspace.loader import load_workspace
from rules.conditions import dump_where
from rules.match import match_where
from rules.view import ConsentRecord, EventRecord

__all__ = [
    "StartEnrollment",
    "enrolls",
    "load_scenario_workspace",
    "prepare_store",
    "start_enrollment",
    "tick_of",
]


def load_scenario_workspace(path: Path) -> tuple[Scenario, JourneyBundle, Workspace]:
    """The scenario, its journey's bundle and the whole workspace (its documents: the
    compliance settings and holidays the simulated engine uses)."""
    scenario, problems = load_model(path, Scenario)
    if problems or scenario is None:
        raise ValidationFailed(problems)
    journey_path = (path.parent / scenario.journey).resolve()
    if not journey_path.is_file():
        raise ScenarioError(f"{path}: journey file {scenario.journey!r} does not exist")
    if journey_path.parent.name != "journeys":
        raise ScenarioError(f"{path}: the journey file must sit in a workspace's journeys/ folder")
    workspace = load_workspace(journey_path.parent.parent)
    for name, file in workspace.files.items():
        journey_id = name.removeprefix("journeys/")
        if Path(file).resolve() == journey_path and journey_id in workspace.journeys:
            for sent in scenario.customer.sent:
                if sent.journey not in workspace.journeys:
                    raise ScenarioError(
                        f"{path}: customer.sent names journey {sent.journey!r}, which is not "
                        f"in {journey_path.parent}"
                    )
            return scenario, workspace.bundle(journey_id, version=1), workspace
    raise ScenarioError(f"{path}: no journey was read from {journey_path}")


def prepare_store(store: MemoryStore, scenario: Scenario, workspace: Workspace) -> None:
    """The sandbox as a deploy and the customer's past leave it: the workspace's
    documents, the customer, their guardians, and what other journeys sent them."""
    for name, document in sorted(workspace.documents.items()):
        store.put_document(name, document, at=scenario.start)
    store.put_customer(_customer(scenario, scenario.start))
    for guardian in scenario.customer.guardians:
        consents = [
            ConsentRecord(
                purpose=x.purpose, channel=x.channel, granted=x.granted, at=scenario.start
            )
            for x in guardian.consents
        ]
        store.put_customer(
            Customer(
                id=guardian.id,
                attributes=dict(guardian.attributes),
                identities=dict(guardian.identities),
                follows_wechat=guardian.follows_wechat,
                consents=consents,
            )
        )
        store.link_guardian(scenario.customer.id, guardian.id)
    tz = ZoneInfo(get_settings().compliance.timezone)  # where the caps count days
    for i, sent in enumerate(scenario.customer.sent):
        at = scenario.start - sent.ago
        local = at.astimezone(tz)
        slot = SendSlot(
            key=f"journey:{sent.journey}:customer:{scenario.customer.id}:scenario-sent:{i}",
            customer_id=scenario.customer.id,
            purpose=sent.purpose,
            channel=sent.channel,
            day=local.date().isoformat(),
            month=local.strftime("%Y-%m"),
            at=at,
        )
        store.reserve_send(slot, [])


def _customer(scenario: Scenario, start: datetime) -> Customer:
    c = scenario.customer
    return Customer(
        id=c.id,
        attributes=dict(c.attributes),
        identities=dict(c.identities),
        tags=dict.fromkeys(c.tags, "scenario"),
        follows_wechat=c.follows_wechat,
        consents=[
            ConsentRecord(purpose=x.purpose, channel=x.channel, granted=x.granted, at=start)
            for x in c.consents
        ],
        events=[
            EventRecord(name=h.event, properties=h.properties, at=start - h.ago) for h in c.history
        ],
        source=dict(c.source),
        timezone=c.timezone,
    )


def enrolls(bundle: JourneyBundle, item: ScenarioEvent, now: datetime) -> bool:
    trigger = bundle.journey.trigger
    if isinstance(trigger, TagAddedTrigger):
        return item.kind == "tag_added" and item.name == trigger.tag_added
    if isinstance(trigger, EventTrigger):
        return (
            item.kind == "event"
            and item.name == trigger.event
            and match_where(
                dump_where(trigger.where) if trigger.where else None, item.properties, now=now
            )
        )
    return False


@dataclass(frozen=True)
class StartEnrollment:
    """When a scenario enrolls its customer without a trigger entry, and with what."""

    after: timedelta
    context: dict[str, Any] = field(default_factory=dict)


def start_enrollment(bundle: JourneyBundle, scenario: Scenario) -> StartEnrollment | None:
    """The scenario's ``enroll`` entry; else, for a journey no scenario entry can trigger
    (``api``, ``segment_entered``, ``schedule``), an enrollment at the scenario's start
    with the context production gives that trigger; None: the events enroll.

    The segment and schedule contexts are the ones ``engine.dispatch.segments`` and a
    tick give, so a journey reading ``context.segment`` or ``context.tick`` renders in a
    simulation as it does live.
    """
    if scenario.enroll is not None:
        return StartEnrollment(scenario.enroll.after, dict(scenario.enroll.context))
    trigger = bundle.journey.trigger
    if isinstance(trigger, ApiTrigger):
        return StartEnrollment(timedelta(0))
    if isinstance(trigger, SegmentEnteredTrigger):
        return StartEnrollment(timedelta(0), {"segment": trigger.segment_entered})
    if isinstance(trigger, ScheduleTrigger):
        tick = tick_of(bundle, scenario, scenario.start).removeprefix("tick:")
        return StartEnrollment(timedelta(0), {"tick": tick, "segment": trigger.schedule.segment})
    return None


def tick_of(bundle: JourneyBundle, scenario: Scenario, at: datetime) -> str:
    """A scheduled journey's tick key for an enrollment at ``at``: ``at`` in the zone the
    cron runs in for this customer (``engine.dispatch.journey_schedules``)."""
    trigger = bundle.journey.trigger
    assert isinstance(trigger, ScheduleTrigger)
    zone = trigger.schedule.timezone
    if zone == CUSTOMER:
        zone = scenario.customer.timezone
    try:
        local = at.astimezone(ZoneInfo(zone or bundle.timezone))
    except (ZoneInfoNotFoundError, ValueError):
        local = at.astimezone(ZoneInfo(bundle.timezone))  # an unknown zone: as a tick reads it
    return tick_key(local)
