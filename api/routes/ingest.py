"""Ingest: events and identities from other systems (CRM, HIS, mini-program, WeChat)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, status
from fastapi.concurrency import run_in_threadpool

from api import guardianship
from api.changes import dispatch_changes
from api.deps import DispatcherDep, IngestKey, StoreDep, source_of
from api.schemas.common import dispatch_fields
from api.schemas.customers import MergePublic
from api.schemas.ingest import (
    IdentifyRequest,
    IdentifyResult,
    TrackAccepted,
    TrackBatch,
    TrackBody,
    TrackResult,
)
from engine.dispatch.pending import dispatch_or_defer
from engine.models.attribution import utm_touches
from engine.store.records import ConsentChange, NewEvent

router = APIRouter(tags=["ingest"])


@router.post("/track", status_code=status.HTTP_202_ACCEPTED, response_model=TrackResult)
async def track(
    body: TrackBody, key: IngestKey, store: StoreDep, dispatcher: DispatcherDep
) -> TrackResult:
    """Store one event or a batch (idempotent per message_id) and start what it triggers."""
    events = body.batch if isinstance(body, TrackBatch) else [body]
    now = datetime.now(UTC)
    # Validation already covered the whole batch: nothing in here refuses an event, and
    # the batch is stored in one transaction.
    items = [
        (
            e.customer,
            NewEvent(
                message_id=e.message_id,
                name=e.event,
                properties=e.properties,
                at=e.timestamp or now,
            ),
        )
        for e in events
    ]
    stored = await dispatcher.accept(items, at=now)
    # Events carrying utm_source are touches (first touch once): one more transaction,
    # only for them, before dispatch so the journeys they start see the first touch.
    visits = utm_touches(stored)
    if visits:
        await run_in_threadpool(store.record_touches, visits)
    # Temporal unreachable: the events are stored, the dispatcher's sweep acts on them
    # when it is back (a repeat of this request does so too).
    report, pending = await dispatch_or_defer(
        lambda: dispatcher.events_accepted(stored), "%d event(s)", len(stored)
    )
    accepted = [
        TrackAccepted(message_id=s.message_id, customer_id=s.customer_id, duplicate=not s.new)
        for s in stored
    ]
    return TrackResult(accepted=accepted, **dispatch_fields(report, pending))


@router.post("/identify", response_model=IdentifyResult)
async def identify(
    body: IdentifyRequest, key: IngestKey, store: StoreDep, dispatcher: DispatcherDep
) -> IdentifyResult:
    """Find, merge or create a customer; set attributes, add tags, record consents and
    link guardians."""
    now = datetime.now(UTC)
    for guardian in body.guardians:  # an unknown guardian id refuses the request first
        if guardian.guardian_id is not None:
            store.get_customer(guardian.guardian_id)
    result = store.identify(body.customer, body.attributes, at=now)
    customer_id = result.customer_id
    source = source_of(key)
    for consent in body.consents:
        change = ConsentChange(
            purpose=consent.purpose,
            channel=consent.channel,
            granted=consent.granted,
            text_version=consent.text_version,
            source=source,
            at=consent.at or now,
        )
        store.record_consent(customer_id, change)
    linked: list[str] = []  # guardians newly linked
    for guardian in body.guardians:
        guardian_id, new = guardianship.link(store, customer_id, guardian, source, now)
        if new:
            linked.append(guardian_id)
    changes = store.tag(customer_id, body.tags, [], source, at=now) if body.tags else []
    report, pending = await dispatch_changes(dispatcher, customer_id, changes, body.context)
    return IdentifyResult(
        customer_id=customer_id,
        created=result.created,
        merges=[MergePublic.model_validate(m.model_dump()) for m in result.merges],
        tags_added=[c.tag for c in changes if c.added],
        guardians_linked=linked,
        at=now,
        **dispatch_fields(report, pending),
    )
