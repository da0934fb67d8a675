"""Ingest: events and identities from other systems (CRM, HIS, mini-program, WeChat)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response, status
from fastapi.concurrency import run_in_threadpool

from api import guardianship
from api.changes import accept_events, dispatch_attributes, dispatch_changes
from api.deps import DispatcherDep, Ingest, StoreDep
from api.errors import problem_responses
from api.schemas.common import dispatch_fields, pending_response
from api.schemas.customers import MergePublic
from api.schemas.ingest import (
    IdentifyRequest,
    IdentifyResult,
    TrackAccepted,
    TrackBatch,
    TrackBody,
    TrackResult,
)
from engine.store.records import ConsentChange, NewEvent, ResolveResult, TagChange
from engine.store.service_store import ServiceStore

router = APIRouter(tags=["ingest"])


@router.post("/track", status_code=status.HTTP_202_ACCEPTED, response_model=TrackResult)
async def track(
    body: TrackBody, caller: Ingest, store: StoreDep, dispatcher: DispatcherDep
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
    stored, report, pending = await accept_events(store, dispatcher, items, now)
    accepted = [
        TrackAccepted(message_id=s.message_id, customer_id=s.customer_id, duplicate=not s.new)
        for s in stored
    ]
    return TrackResult(accepted=accepted, **dispatch_fields(report, pending))


# 404: a guardian_id that names no customer.
@router.post(
    "/identify",
    response_model=IdentifyResult,
    responses={**problem_responses(404), **pending_response(IdentifyResult)},
)
async def identify(
    body: IdentifyRequest,
    caller: Ingest,
    store: StoreDep,
    dispatcher: DispatcherDep,
    response: Response,
) -> IdentifyResult:
    """Find, merge or create a customer; set attributes, add tags, record consents and
    link guardians (202 when the changes are stored but their journeys wait for
    Temporal)."""
    now = datetime.now(UTC)
    # The store is synchronous: its work (a query or more per guardian, consent and
    # tag) runs in a thread, so the event loop, shared with the worker under
    # `carepath up`, keeps serving other requests meanwhile.
    result, linked, changes = await run_in_threadpool(
        _store_identity, store, body, caller.source, now
    )
    customer_id = result.customer_id
    report, pending = await dispatch_changes(dispatcher, customer_id, changes, body.context)
    if body.attributes:  # a date a running wait follows may have moved
        moved, moved_pending = await dispatch_attributes(
            dispatcher, customer_id, body.attributes, now
        )
        report.merge(moved)
        pending = pending or moved_pending
    if pending or report.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return IdentifyResult(
        customer_id=customer_id,
        created=result.created,
        merges=[MergePublic.model_validate(m.model_dump()) for m in result.merges],
        tags_added=[c.tag for c in changes if c.added],
        guardians_linked=linked,
        at=now,
        **dispatch_fields(report, pending),
    )


def _store_identity(
    store: ServiceStore, body: IdentifyRequest, source: str, now: datetime
) -> tuple[ResolveResult, list[str], list[TagChange]]:
    """The store's part of identify: (the customer found or created, guardians newly
    linked, tag changes)."""
    for guardian in body.guardians:  # an unknown guardian id refuses the request first
        if guardian.guardian_id is not None:
            store.get_customer(guardian.guardian_id)
    result = store.identify(body.customer, body.attributes, at=now)
    customer_id = result.customer_id
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
    changes = (
        store.tag(customer_id, body.tags, [], source, at=now, context=body.context)
        if body.tags
        else []
    )
    return result, linked, changes
