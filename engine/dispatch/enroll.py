"""Enrolling a customer: entry rule, key, re-entry, and the workflow start.

Uniqueness is Temporal's, not a lookup race: the workflow id is
``journey:{id}:customer:{id}[:key:{key}]`` and a start against a running id fails
(``after_exit``/``never``) or gets a fresh suffix (``always``). ``never`` also checks
our own enrollment records, which outlive the namespace's retention.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from engine.compliance.guardians import guardian_consent_missing
from engine.contracts.journey import WORKFLOW_NAME, EnrollmentInput, EnrollmentResult, RunOptions
from engine.expressions.context_refs import resolve
from engine.expressions.templating import render, scope_for
from engine.models.workspace import JourneyBundle
from engine.store import ActivityStore, Customer, EnrollmentRecord
from rules.evaluate import evaluate
from rules.models import dump_rule, parse_rule

EnrollStatus = Literal["started", "already_active", "not_eligible", "not_again"]


@dataclass(frozen=True)
class Enrolled:
    status: EnrollStatus
    enrollment_id: str | None = None
    handle: WorkflowHandle[Any, Any] | None = None
    detail: str = ""


def _guardian_consent_missing(
    store: ActivityStore,
    purposes: list[str],
    customer: Customer,
    now: datetime,
    bundle: JourneyBundle,
) -> str | None:
    """Why the journey's ``guardian_consent`` is not met (engine.compliance.guardians), or None."""
    linked = [store.get_customer(g) for g in store.guardians_of(customer.id)]
    return guardian_consent_missing(purposes, customer, linked, now, bundle.timezone)


def workflow_id(journey_id: str, customer_id: str, key: str | None) -> str:
    base = f"journey:{journey_id}:customer:{customer_id}"
    return f"{base}:key:{key}" if key else base


@dataclass(frozen=True)
class _Admitted:
    """What the entry checks decided: refused (``refusal``), or the key and timezone."""

    refusal: Enrolled | None = None
    key: str | None = None
    timezone: str | None = None


async def _admit(
    store: ActivityStore,
    bundle: JourneyBundle,
    customer_id: str,
    context: dict[str, Any],
    now: datetime,
) -> _Admitted:
    """The entry rule, guardian consent and the key.

    Store calls run in a thread: the API's event loop also serves the worker. The whole
    profile (tags, consents, recent events) is read only when the entry rule or the key
    needs it; otherwise the timezone is all enrolling uses.
    """
    journey = bundle.journey
    if not (journey.entry or journey.key or journey.guardian_consent):
        return _Admitted(timezone=await asyncio.to_thread(store.customer_timezone, customer_id))
    customer = await asyncio.to_thread(store.get_customer, customer_id)
    segments = {sid: seg.rule for sid, seg in bundle.segments.items()}
    entry = parse_rule(resolve(dump_rule(journey.entry), context)) if journey.entry else None
    if entry is not None and not evaluate(
        entry, customer.view(), now=now, segments=segments, context=context
    ):
        return _Admitted(Enrolled("not_eligible", detail="entry rule not met"))
    if journey.guardian_consent:
        missing = await asyncio.to_thread(
            _guardian_consent_missing, store, journey.guardian_consent, customer, now, bundle
        )
        if missing is not None:
            return _Admitted(Enrolled("not_eligible", detail=missing))
    scope = scope_for(
        customer.template_scope(), context, {"id": journey.id, "version": bundle.version}
    )
    key = render(journey.key, scope) if journey.key else None
    return _Admitted(key=key, timezone=customer.timezone)


async def enroll(
    client: Client,
    store: ActivityStore,
    bundle: JourneyBundle,
    customer_id: str,
    context: dict[str, Any],
    *,
    now: datetime,
    task_queue: str,
    clock_offset_seconds: float = 0.0,
    options: RunOptions | None = None,
    tick: str | None = None,
) -> Enrolled:
    """Enroll one customer in one journey version, at most once per (customer, key).

    ``tick`` (a scheduled journey's tick key, see ``engine.dispatch.journey_schedules``) is
    appended to the key; that id is never run twice (not even after it ended, nor with
    ``reentry: always``), and ``reentry`` across ticks is the caller's to decide.
    """
    journey = bundle.journey
    admitted = await _admit(store, bundle, customer_id, context, now)
    if admitted.refusal is not None:
        return admitted.refusal
    key = admitted.key
    if tick is not None:
        key = f"{key}@{tick}" if key else tick
    if (
        tick is None
        and journey.reentry == "never"
        and await asyncio.to_thread(store.ever_enrolled, journey.id, customer_id, key)
    ):
        return Enrolled("not_again", detail="reentry: never, and enrolled before")
    wid = workflow_id(journey.id, customer_id, key)
    if journey.reentry == "always" and tick is None:
        wid = f"{wid}:{uuid.uuid4().hex[:12]}"
    arg = EnrollmentInput(
        enrollment_id=wid,
        journey=journey,
        version=bundle.version,
        customer_id=customer_id,
        context=context,
        timezone=admitted.timezone or bundle.timezone,
        enrolled_at=now,
        clock_offset_seconds=clock_offset_seconds,
        options=options or RunOptions(),
    )
    # ``never`` and ticks: an id that ran once never runs again.
    once = journey.reentry == "never" or tick is not None
    return await _start(client, store, arg, key, task_queue, once=once)


async def _start(
    client: Client,
    store: ActivityStore,
    arg: EnrollmentInput,
    key: str | None,
    task_queue: str,
    *,
    once: bool,
) -> Enrolled:
    """Start the workflow (Temporal refuses a duplicate id), then record the enrollment."""
    reuse = (
        WorkflowIDReusePolicy.REJECT_DUPLICATE if once else WorkflowIDReusePolicy.ALLOW_DUPLICATE
    )
    wid = arg.enrollment_id
    try:
        handle = await client.start_workflow(
            WORKFLOW_NAME,
            arg,
            id=wid,
            task_queue=task_queue,
            id_reuse_policy=reuse,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            result_type=EnrollmentResult,
        )
    except WorkflowAlreadyStartedError:
        return Enrolled("already_active", wid, detail="an enrollment with this key is running")
    await asyncio.to_thread(
        store.record_enrollment,
        EnrollmentRecord(
            id=wid,
            journey_id=arg.journey.id,
            version=arg.version,
            customer_id=arg.customer_id,
            key=key,
            started_at=arg.enrolled_at,
        ),
    )
    return Enrolled("started", wid, handle)
