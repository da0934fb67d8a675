"""Customers: profiles, identities, tags, consents, guardians, audit trails, events,
enrollments and touches (merges have their own router: ``api/routes/merges.py``)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from api import guardianship
from api.changes import dispatch_changes
from api.deps import Admin, DispatcherDep, Staff, StoreDep
from api.errors import problem_responses
from api.schemas.common import dispatch_fields, pending_response
from api.schemas.customers import (
    ConsentCreate,
    ConsentPublic,
    CustomerPublic,
    EventPublic,
    GuardianCreate,
    GuardianPublic,
    IdentityPublic,
    SubscribeBalancePublic,
    SubscribeConsentCreate,
    TagChangePublic,
    TagPublic,
    TagUpdate,
    TagUpdateResult,
    TouchPublic,
)
from api.schemas.enrollments import EnrollmentPublic
from engine.compliance.guardians import is_minor
from engine.dispatch.pending import dispatch_or_defer
from engine.dispatch.report import DispatchReport
from engine.errors import NotFound
from engine.store.records import AuditEntry, ConsentChange
from engine.store.service_store import ServiceStore

router = APIRouter(prefix="/customers", tags=["customers"])

Limit = Annotated[int, Query(ge=1, le=1000, description="at most this many, newest first")]


@router.get("/{customer_id}", response_model=CustomerPublic, responses=problem_responses(404))
def get_customer(customer_id: str, caller: Staff, store: StoreDep) -> CustomerPublic:
    """A customer's profile: attributes, tags, identities, consents, source and merges."""
    return _profile(store, caller.customer(customer_id))


@router.get(
    "/{customer_id}/identities",
    response_model=list[IdentityPublic],
    responses=problem_responses(404),
)
def list_identities(customer_id: str, caller: Staff, store: StoreDep) -> list[IdentityPublic]:
    """Every identity the customer is known by."""
    return _identities(store, caller.customer(customer_id))


@router.post(
    "/{customer_id}/tags",
    response_model=TagUpdateResult,
    responses={**problem_responses(404), **pending_response(TagUpdateResult)},
)
async def change_tags(
    customer_id: str,
    body: TagUpdate,
    caller: Admin,
    store: StoreDep,
    dispatcher: DispatcherDep,
    response: Response,
) -> TagUpdateResult:
    """Add and remove tags; added tags start the journeys they trigger (202 when they
    are stored but their journeys wait for Temporal)."""
    changes = await run_in_threadpool(
        store.tag,
        customer_id,
        body.add,
        body.remove,
        caller.source,
        at=datetime.now(UTC),
        context=body.context,
    )
    report, pending = DispatchReport(), False
    if changes:  # journeys the added tags start, segments the tags made them enter or leave
        report, pending = await dispatch_changes(
            dispatcher, changes[0].customer_id, changes, body.context
        )
    if pending or report.pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return TagUpdateResult(
        changes=[TagChangePublic(tag=c.tag, added=c.added, source=c.source) for c in changes],
        **dispatch_fields(report, pending),
    )


@router.post(
    "/{customer_id}/consents",
    response_model=list[ConsentPublic],
    responses=problem_responses(404),
)
async def record_consent(
    customer_id: str,
    body: ConsentCreate,
    caller: Admin,
    store: StoreDep,
    dispatcher: DispatcherDep,
) -> list[ConsentPublic]:
    """Record a consent given or withdrawn; answer with all of the customer's consents."""
    change = ConsentChange(
        purpose=body.purpose,
        channel=body.channel,
        granted=body.granted,
        text_version=body.text_version,
        source=caller.source,
        at=body.at or datetime.now(UTC),
    )
    await run_in_threadpool(store.record_consent, customer_id, change)
    profile = await run_in_threadpool(_profile, store, customer_id)
    # Segments that read consent: their enters and exits were stored with the change; if
    # Temporal cannot be reached now, the sweep dispatches them (never a 5xx after a write).
    await dispatch_or_defer(
        lambda: dispatcher.customers_changed([profile.id]), "consent of %s", profile.id
    )
    return profile.consents


@router.post(
    "/{customer_id}/refuse-automated-marketing",
    response_model=list[ConsentPublic],
    responses=problem_responses(404),
)
def refuse_automated_marketing(
    customer_id: str, caller: Staff, store: StoreDep
) -> list[ConsentPublic]:
    """Record the customer's refusal of automated marketing (PIPL art. 24): marketing
    consent withdrawn on every channel, so no journey sends them marketing until a new
    consent is recorded. Service messages still go. Staff keys may record it for
    customers of their clinics (a refusal is often given at the front desk)."""
    caller.customer(customer_id)
    change = ConsentChange(
        purpose="marketing",
        channel=None,
        granted=False,
        source=f"PIPL refusal ({caller.source})",
        at=datetime.now(UTC),
    )
    store.record_consent(customer_id, change)
    return _profile(store, customer_id).consents


@router.get(
    "/{customer_id}/audit",
    response_model=list[AuditEntry],
    responses={
        **problem_responses(404),
        200: {"content": {"text/csv": {}}, "description": "the trail (JSON, or CSV)"},
    },
)
def audit_trail(
    customer_id: str,
    caller: Admin,
    store: StoreDep,
    format: Annotated[
        Literal["json", "csv"], Query(description="json (default) or csv for an export")
    ] = "json",
) -> Any:
    """The customer's audit trail: every send, skip, receipt, handoff, consent, merge
    and change made by hand (with who made it), oldest first (the most recent 1,000)."""
    entries = store.audit_trail(customer_id)
    if format == "json":
        return entries
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(AuditEntry.model_fields))
    writer.writeheader()
    for entry in entries:
        writer.writerow(entry.model_dump(mode="json"))
    headers = {"Content-Disposition": f'attachment; filename="audit-{customer_id}.csv"'}
    return Response(out.getvalue(), media_type="text/csv", headers=headers)


@router.get(
    "/{customer_id}/guardians",
    response_model=list[GuardianPublic],
    responses=problem_responses(404),
)
def list_guardians(customer_id: str, caller: Staff, store: StoreDep) -> list[GuardianPublic]:
    """The customer's guardian links, current and ended, in link order."""
    caller.customer(customer_id)
    return [
        GuardianPublic.model_validate(g.model_dump()) for g in store.guardian_links(customer_id)
    ]


@router.post(
    "/{customer_id}/guardians",
    response_model=list[GuardianPublic],
    responses=problem_responses(404, 409),
)
def link_guardian(
    customer_id: str, body: GuardianCreate, caller: Admin, store: StoreDep
) -> list[GuardianPublic]:
    """Link a guardian to a minor: the minor's messages go to a guardian with consent
    (never to the child's own contact); answer with every link."""
    now = datetime.now(UTC)
    child = store.get_customer(customer_id).id
    guardianship.link(store, child, body, caller.source, now)
    return list_guardians(child, caller, store)


@router.delete(
    "/{customer_id}/guardians/{guardian_id}",
    response_model=list[GuardianPublic],
    responses=problem_responses(404),
)
def unlink_guardian(
    customer_id: str, guardian_id: str, caller: Admin, store: StoreDep
) -> list[GuardianPublic]:
    """End a guardian link (kept in the history); answer with every link."""
    if not store.unlink_guardian(customer_id, guardian_id, at=datetime.now(UTC)):
        raise NotFound(f"{guardian_id!r} is not a current guardian of {customer_id!r}")
    return list_guardians(customer_id, caller, store)


@router.post(
    "/{customer_id}/subscribe-consents",
    response_model=SubscribeBalancePublic,
    responses=problem_responses(404),
)
def add_subscribe_consents(
    customer_id: str, body: SubscribeConsentCreate, caller: Admin, store: StoreDep
) -> SubscribeBalancePublic:
    """Add (or set) subscribe-message consents for a template; the new balance."""
    balance = store.change_subscribe_balance(
        customer_id,
        body.template_id,
        delta=0 if body.replace else body.count,
        set_to=body.count if body.replace else None,
        at=datetime.now(UTC),
    )
    return SubscribeBalancePublic(template_id=body.template_id, balance=balance)


@router.get(
    "/{customer_id}/events",
    response_model=list[EventPublic],
    responses=problem_responses(404),
)
def list_events(
    customer_id: str, caller: Staff, store: StoreDep, limit: Limit = 100
) -> list[EventPublic]:
    """The customer's stored events."""
    caller.customer(customer_id)
    return [
        EventPublic(message_id=e.message_id, name=e.name, properties=e.properties, at=e.at)
        for e in store.list_events(customer_id, limit=limit)
    ]


@router.get(
    "/{customer_id}/enrollments",
    response_model=list[EnrollmentPublic],
    responses=problem_responses(404),
)
def list_enrollments(
    customer_id: str, caller: Staff, store: StoreDep, limit: Limit = 100
) -> list[EnrollmentPublic]:
    """The customer's enrollments (without traces; read one enrollment for its trace)."""
    caller.customer(customer_id)
    records = store.list_enrollments(customer_id=customer_id, limit=limit)
    return [EnrollmentPublic.model_validate(r.model_dump()) for r in records]


@router.get(
    "/{customer_id}/touches",
    response_model=list[TouchPublic],
    responses=problem_responses(404),
)
def list_touches(
    customer_id: str, caller: Staff, store: StoreDep, limit: Limit = 100
) -> list[TouchPublic]:
    """Every touch of a customer, newest first (the first touch is in the profile's source)."""
    caller.customer(customer_id)
    return [
        TouchPublic(kind=t.kind, fields=t.fields, qrcode=t.code_id, at=t.at)
        for t in store.list_touches(customer_id, limit)
    ]


def _identities(store: ServiceStore, customer_id: str) -> list[IdentityPublic]:
    return [
        IdentityPublic(kind=kind, namespace=namespace, value=value)
        for kind, namespace, value in store.list_identities(customer_id)
    ]


def _profile(store: ServiceStore, customer_id: str) -> CustomerPublic:
    customer = store.get_customer(customer_id)
    merges = store.list_merges(customer.id)
    return CustomerPublic(
        id=customer.id,
        attributes=customer.attributes,
        tags=[TagPublic(tag=t, source=s) for t, s in sorted(customer.tags.items())],
        identities=_identities(store, customer.id),
        consents=[ConsentPublic.model_validate(c.model_dump()) for c in customer.consents],
        source=customer.source,
        follows_wechat=customer.follows_wechat,
        timezone=customer.timezone,
        merged_ids=[m.merged_id for m in merges if m.survivor_id == customer.id],
        minor=is_minor(customer, datetime.now(UTC)),
        guardians=store.guardians_of(customer.id),
    )
