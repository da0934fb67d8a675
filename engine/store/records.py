"""The records the store keeps and hands out, shared by both store protocols.

``activity_store.ActivityStore`` is what activities and the enroller need;
``service_store.ServiceStore`` is what the API, the dispatcher and the CLI need;
``sql.SqlStore`` implements both and ``memory.MemoryStore`` the first.

A little over 400 lines on purpose: each record is a short pydantic model, and one
module is where every shape the store hands out is found by name.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import phonenumbers
from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.contracts.journey import EnrollmentStatusName
from engine.models.events import Cost
from rules.view import ConsentRecord, CustomerView, EventRecord


class Customer(BaseModel):
    """A customer profile with identities, tags, consents and events."""

    id: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    identities: dict[str, str] = Field(default_factory=dict)
    tags: dict[str, str] = Field(default_factory=dict, description="tag -> who/what set it")
    follows_wechat: bool = False
    consents: list[ConsentRecord] = Field(default_factory=list)
    events: list[EventRecord] = Field(default_factory=list)
    source: dict[str, Any] = Field(default_factory=dict, description="first-touch attribution")
    timezone: str | None = None

    def view(self) -> CustomerView:
        return CustomerView(
            attributes=self.attributes,
            tags=set(self.tags),
            events=self.events,
            source=self.source,
            consents=self.consents,
        )

    def template_scope(self) -> dict[str, Any]:
        """What templates see as ``customer``: attributes, plus id and tags."""
        return {**self.attributes, "id": self.id, "tags": sorted(self.tags)}


class EnrollmentRecord(BaseModel):
    id: str
    journey_id: str
    version: int
    customer_id: str
    key: str | None = None
    status: EnrollmentStatusName = "running"
    exit_reason: str | None = None
    variant: str | None = None
    started_at: datetime
    ended_at: datetime | None = None


class DeliveryRecord(BaseModel):
    """One provider call, stored under its idempotency key before the call is made."""

    key: str
    enrollment_id: str
    step: str
    channel: str
    status: Literal["calling", "done"] = "calling"
    outcome: str | None = None
    detail: str = ""
    provider_ref: str | None = None
    at: datetime
    customer_id: str | None = None


class SendSlot(BaseModel):
    """One send counted against the frequency caps, under its delivery's key."""

    key: str
    customer_id: str
    purpose: str
    channel: str
    day: str = Field(description="calendar day in the workspace timezone: 2026-03-02")
    month: str = Field(description="calendar month in the workspace timezone: 2026-03")
    at: datetime


class CapCheck(BaseModel):
    """One cap a slot must fit: sends of the slot's purpose on ``channel`` (None: any
    channel) in the slot's day or month stay below ``limit``; ``reason`` names it."""

    channel: str | None
    per: Literal["day", "month"]
    limit: int
    reason: str


class StepTally(BaseModel):
    """What the store knows of one step: enrollments that reached it, sends there by
    outcome, handoff tasks there by state."""

    reached: int = Field(0, description="distinct enrollments that entered the step")
    sends: dict[str, int] = Field(default_factory=dict, description="outcome -> calls")
    handoffs: dict[str, int] = Field(default_factory=dict, description="state -> tasks")


class HandoffTask(BaseModel):
    id: str
    enrollment_id: str
    customer_id: str
    journey_id: str
    step: str
    queue: str
    clinic: str | None = None
    script: str | None = None
    created_at: datetime
    due_at: datetime | None = None
    status: Literal["open", "claimed", "escalated", "done"] = "open"
    escalated_to: str | None = None
    outcome: str | None = None
    claimed_by: str | None = None


IdentityKind = Literal[
    "customer_id",
    "phone",
    "wechat_openid",
    "wechat_unionid",
    "wecom_external_userid",
    "his_patient_id",
    "user_id",
    "anonymous_id",
]
IDENTITY_KINDS: tuple[IdentityKind, ...] = (
    "customer_id",
    "phone",
    "wechat_openid",
    "wechat_unionid",
    "wecom_external_userid",
    "his_patient_id",
    "user_id",
    "anonymous_id",
)
Scope = Literal["admin", "ingest", "staff"]


class Identities(BaseModel):
    """The ways a customer may be known; at least one is needed to find or create one."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str | None = Field(None, description="carepath's own customer id")
    phone: str | None = Field(None, description="mobile number; normalised to E.164")
    wechat_openid: str | None = Field(None, description="openid within wechat_app_id")
    wechat_app_id: str | None = Field(None, description="app of the openid (default: ours)")
    wechat_unionid: str | None = None
    wecom_external_userid: str | None = None
    wecom_owner_userid: str | None = Field(None, description="staff member owning the contact")
    his_patient_id: str | None = Field(None, description="hospital information system id")
    user_id: str | None = Field(None, description="the clinic's member or HIS id (userId)")
    anonymous_id: str | None = Field(None, description="a device or browser id (anonymousId)")

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return None if value is None else normalise_phone(value)

    @field_validator("customer_id")
    @classmethod
    def _safe_id(cls, value: str | None) -> str | None:
        return None if value is None else check_customer_id(value)

    def keys(self) -> list[tuple[IdentityKind, str, str]]:
        """(kind, namespace, value) of every identity given; openids are per app."""
        out: list[tuple[IdentityKind, str, str]] = []
        for kind in IDENTITY_KINDS:
            value = getattr(self, kind)
            if value:
                namespace = (self.wechat_app_id or "") if kind == "wechat_openid" else ""
                out.append((kind, namespace, value))
        return out


#: Where a number written without a country code is taken to be (mainland China).
DEFAULT_PHONE_REGION = "CN"
#: A customer id a client chooses: it is used in URLs, file names of exports and logs,
#: so only characters that mean nothing there (no ``/``, no spaces, no ``..``). 64 is
#: the width of the ``customers.id`` column.
CUSTOMER_ID_MAX = 64
_CUSTOMER_ID = re.compile(r"[A-Za-z0-9_.:-]+")


def normalise_phone(value: str, region: str = DEFAULT_PHONE_REGION) -> str:
    """E.164 (``+8613800000000``), or ValueError naming what is wrong.

    NFKC first, so full-width digits and separators (``１３８－００００``) are the digits
    and dashes they look like, and one person does not become two customers. Numbers
    without a country code are read in ``region``. An extension or letters are refused
    rather than dropped: ``137-0000-0001 ext 99`` is not a number a message can reach.
    """
    text = unicodedata.normalize("NFKC", value).strip()
    example = "write e.g. 13800000000 or +8613800000000"
    refused = f"{value!r} is not a phone number: {example}"
    if any(ch.isalpha() for ch in text):
        raise ValueError(f"{value!r} is not a phone number: no letters or extensions; {example}")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(refused) from exc
    # Extensions are refused, not dropped (a trailing "#99" parses as one); an invalid
    # number has the wrong length or a prefix no operator uses.
    if number.extension or not phonenumbers.is_valid_number(number):
        raise ValueError(refused)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_customer_id(value: str) -> str:
    """``value`` when it is a safe customer id, else ValueError saying what is allowed."""
    if (
        len(value) > CUSTOMER_ID_MAX
        or not _CUSTOMER_ID.fullmatch(value)
        or ".." in value
        or value.startswith(".")
    ):
        raise ValueError(
            f"{value[:80]!r} is not a customer id: use 1 to {CUSTOMER_ID_MAX} letters, "
            "digits and _ - . : (no '..', not starting with '.')"
        )
    return value


class NewEvent(BaseModel):
    """One event to store; ``message_id`` makes ingest idempotent."""

    message_id: str
    name: str
    properties: dict[str, Any] = Field(default_factory=dict)
    at: datetime


class SegmentChange(BaseModel):
    """A customer entered (or left) a deployed segment; ``id`` is its outbox row."""

    id: int
    segment_id: str
    customer_id: str
    entered: bool
    at: datetime


class SegmentDeploy(BaseModel):
    """What deploying a workspace's segments changed."""

    added: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)
    unchanged: list[str] = Field(default_factory=list)


class StoredEvent(BaseModel):
    customer_id: str
    message_id: str
    name: str
    properties: dict[str, Any]
    at: datetime
    new: bool = Field(description="False when the message_id was seen before")
    dispatched: bool = Field(False, description="triggers and enrollments have been told")
    running: list[str] | None = Field(
        None, description="the customer's running enrollments when stored (None: not read)"
    )
    segments: list[SegmentChange] = Field(
        default_factory=list, description="segments the customer entered or left by it"
    )
    id: int | None = Field(None, description="its events row (the outbox item id)")


@dataclass(frozen=True)
class IngestGroup:
    """The events of one ``/v1/track`` request and when it was received: requests that
    arrive together are stored together (``ingest_groups``)."""

    items: Sequence[tuple[Identities, NewEvent]]
    at: datetime


class MergeRecord(BaseModel):
    survivor_id: str
    merged_id: str
    reason: str
    at: datetime


class ResolveResult(BaseModel):
    customer_id: str
    created: bool = False
    merges: list[MergeRecord] = Field(default_factory=list)


class TagChange(BaseModel):
    customer_id: str
    tag: str
    added: bool
    source: str
    history_id: int | None = Field(
        None, description="its tag_history row: marked once the tag_added triggers heard of it"
    )
    context: dict[str, Any] | None = Field(
        None, description="the context of the request that added it (None: not given)"
    )


class ConsentChange(BaseModel):
    purpose: str
    channel: str | None = None
    granted: bool
    source: str = "api"
    text_version: str | None = None
    at: datetime


class JourneyVersionInfo(BaseModel):
    journey_id: str
    version: int
    deployed_at: datetime
    checksum: str


class JourneyInfo(BaseModel):
    journey_id: str
    name: str | None
    current_version: int
    paused: bool
    versions: list[JourneyVersionInfo] = Field(default_factory=list)


class ApiKeyRecord(BaseModel):
    """An API key as the store hands it out (never its secret)."""

    id: str = Field(description="the key's id, k-<hex>")
    name: str = Field(description="who uses it, e.g. crm")
    scopes: list[Scope] = Field(description="what it may do")
    clinics: list[str] = Field(default_factory=list, description="staff keys: their clinics")
    created_at: datetime = Field(description="when it was created")
    expires_at: datetime | None = Field(None, description="refused from then on (None: never)")
    last_used_at: datetime | None = Field(
        None, description="when it last authenticated a request (to the minute)"
    )
    revoked_at: datetime | None = Field(None, description="when it was revoked (refused since)")

    def usable(self, at: datetime) -> bool:
        """Neither revoked nor expired at ``at``."""
        return self.revoked_at is None and (self.expires_at is None or at < self.expires_at)


class CustomerBrief(BaseModel):
    """What a list of customers shows of one: its name, clinic and first phone."""

    id: str
    name: str | None = None
    clinic: str | None = None
    phone: str | None = None


class AuditEntry(BaseModel):
    """One line of a customer's audit trail."""

    at: datetime = Field(description="when it happened")
    kind: str = Field(
        description="send, skip, defer, receipt, handoff, exit, goal, consent, "
        "consent_withdrawn, merge, trigger_skipped (a paused journey's trigger), or a "
        "change made by hand: customer.tagged, customer.untagged, customer.consent, "
        "customer.enrolled, enrollment.cancelled, task.claimed, task.completed, "
        "phone.revealed"
    )
    actor: str | None = Field(
        None, description="who made a change by hand: console:<user>, key:<key id>, cli"
    )
    enrollment_id: str | None = Field(None, description="the enrollment it belongs to")
    journey_id: str | None = Field(None, description="that enrollment's journey")
    step: str | None = Field(None, description="the journey step")
    channel: str | None = Field(None, description="the channel (null on a consent: all)")
    outcome: str | None = Field(None, description="the attempt's outcome, or the consent's purpose")
    detail: str = Field("", description="the provider's answer, the skip's reason, the source")


class GuardianLink(BaseModel):
    """One guardian of a customer (a minor): a customer of their own."""

    guardian_id: str = Field(description="the guardian's customer id")
    relation: str | None = Field(None, description="e.g. mother, father, grandparent")
    source: str = Field(description="who linked them (api:<key name>)")
    linked_at: datetime
    unlinked_at: datetime | None = Field(None, description="set when the link was ended")


OutboxKind = Literal["event", "tag", "segment", "signal"]
OutboxState = Literal["pending", "retrying", "parked", "discarded"]


class OutboxItem(BaseModel):
    """One item of the outbox not dispatched yet (or discarded), with its attempts."""

    kind: OutboxKind = Field(description="event, tag (added), segment (enter/exit) or signal")
    id: int = Field(description="its row in its outbox (with kind, what retry and discard take)")
    customer_id: str | None = Field(None, description="whose it is")
    what: str = Field(description="the event's name and message id, the tag, the segment, ...")
    created_at: datetime = Field(description="when it was accepted")
    state: OutboxState = Field(
        description="pending (never tried or waiting for Temporal), retrying (failed, "
        "tried again at next_attempt_at), parked (gave up: retry or discard), discarded"
    )
    attempts: int = Field(0, description="failed dispatches so far")
    last_error: str = Field("", description="what the last failed dispatch said")
    next_attempt_at: datetime | None = Field(None, description="when the sweep tries again")
    parked_at: datetime | None = Field(None, description="when it was parked")
    discarded_at: datetime | None = Field(None, description="when an operator discarded it")
    discarded_by: str | None = Field(None, description="who discarded it")


class PendingSignal(BaseModel):
    """A signal accepted for an enrollment and kept until Temporal took it."""

    id: int = Field(description="its pending_signals row")
    enrollment_id: str = Field(description="the enrollment (workflow id) it is for")
    customer_id: str | None = Field(None, description="the enrollment's customer")
    name: str = Field(description="handoff_outcome or cancel")
    payload: dict[str, Any] = Field(default_factory=dict, description="the signal's argument")
    created_at: datetime = Field(description="when it was accepted")


class StoredCost(Cost):
    """A cost row as stored: the row, and when and by whom it was last written."""

    updated_at: datetime = Field(description="when the row was last written")
    updated_by: str = Field(description="who wrote it: api:<key name> or cli:<file>")


@dataclass(frozen=True)
class CostsWritten:
    """What writing cost rows did: rows new to the store, and rows that replaced one."""

    created: int
    replaced: int
