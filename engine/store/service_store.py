"""What the service needs from the store beyond the activities' ``Store`` protocol.

Identity resolution, idempotent ingest, deployed journey versions, enrollment
listings, handoff work queues and API keys. ``engine.store.sql.SqlStore``
implements both protocols on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

from engine.contracts.journey import TraceEntry
from engine.models.attribution import CodeKind, NewTouch, QrCodeRecord, SourceRow
from engine.models.journey import Segment
from engine.models.workspace import JourneyBundle
from engine.store.activity_store import EnrollmentRecord, HandoffTask, Store

IdentityKind = Literal[
    "customer_id",
    "phone",
    "wechat_openid",
    "wechat_unionid",
    "wecom_external_userid",
    "his_patient_id",
]
IDENTITY_KINDS: tuple[IdentityKind, ...] = (
    "customer_id",
    "phone",
    "wechat_openid",
    "wechat_unionid",
    "wecom_external_userid",
    "his_patient_id",
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

    @field_validator("phone")
    @classmethod
    def _e164(cls, value: str | None) -> str | None:
        return None if value is None else normalise_phone(value)

    def keys(self) -> list[tuple[IdentityKind, str, str]]:
        """(kind, namespace, value) of every identity given; openids are per app."""
        out: list[tuple[IdentityKind, str, str]] = []
        for kind in IDENTITY_KINDS:
            value = getattr(self, kind)
            if value:
                namespace = (self.wechat_app_id or "") if kind == "wechat_openid" else ""
                out.append((kind, namespace, value))
        return out


def normalise_phone(value: str) -> str:
    """E.164: mainland numbers without a country code get +86; separators are dropped."""
    digits = "".join(ch for ch in value if ch.isdigit() or ch == "+")
    if digits.startswith("+"):
        rest = digits[1:]
    elif digits.startswith("0086"):
        rest = digits[2:]
    elif len(digits) == 11 and digits.startswith("1"):
        rest = "86" + digits
    else:
        rest = digits
    if not rest.isdigit() or not 8 <= len(rest) <= 15:
        raise ValueError(
            f"{value!r} is not a phone number: write e.g. 13800000000 or +8613800000000"
        )
    return "+" + rest


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
    id: str
    name: str
    scopes: list[Scope]
    clinics: list[str] = Field(default_factory=list, description="staff keys: their clinics")
    created_at: datetime


class AuditEntry(BaseModel):
    """One line of a customer's audit trail."""

    at: datetime = Field(description="when it happened")
    kind: str = Field(
        description="send, skip, defer, receipt, handoff, exit, goal, consent, "
        "consent_withdrawn or merge"
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


class ServiceStore(Store, Protocol):
    """The store as the API, the trigger dispatcher and the CLI use it."""

    # guardians of minors (engine.compliance.guardians); guardians_of is in Store
    def link_guardian(
        self,
        customer_id: str,
        guardian_id: str,
        *,
        relation: str | None = None,
        source: str = "api",
        at: datetime,
    ) -> bool: ...
    def unlink_guardian(self, customer_id: str, guardian_id: str, *, at: datetime) -> bool: ...
    def guardian_links(self, customer_id: str) -> list[GuardianLink]: ...

    # deployed workspace-wide documents (tagging, compliance, holidays)
    def put_document(self, name: str, document: dict[str, Any], *, at: datetime) -> bool: ...
    def get_document(self, name: str) -> dict[str, Any] | None: ...

    # customers and identities
    def resolve(
        self, identities: Identities, *, create: bool = True, at: datetime
    ) -> ResolveResult: ...
    def identify(
        self, identities: Identities, attributes: dict[str, Any], *, at: datetime
    ) -> ResolveResult: ...
    def list_identities(self, customer_id: str) -> list[tuple[str, str, str]]: ...
    def list_merges(self, customer_id: str | None = None) -> list[MergeRecord]: ...
    def audit_trail(self, customer_id: str, limit: int = 1000) -> list[AuditEntry]: ...
    def record_events(self, customer_id: str, events: list[NewEvent]) -> list[StoredEvent]: ...
    def ingest(
        self,
        items: Sequence[tuple[Identities, NewEvent]],
        *,
        at: datetime,
        triggers: Callable[[NewEvent], bool],
    ) -> list[StoredEvent]: ...
    def ingest_groups(
        self, groups: Sequence[IngestGroup], *, triggers: Callable[[NewEvent], bool]
    ) -> list[list[StoredEvent]]: ...
    def shared_failure(self, exc: Exception) -> bool: ...
    def list_events(self, customer_id: str, limit: int = 100) -> list[StoredEvent]: ...
    def mark_dispatched(self, message_ids: list[str], *, at: datetime) -> None: ...
    def undispatched_events(self, before: datetime, limit: int = 200) -> list[StoredEvent]: ...
    def tag(
        self, customer_id: str, add: list[str], remove: list[str], source: str, *, at: datetime
    ) -> list[TagChange]: ...
    def undispatched_tags(self, before: datetime, limit: int = 200) -> list[TagChange]: ...
    def mark_tags_dispatched(self, history_ids: list[int], *, at: datetime) -> None: ...
    def record_consent(self, customer_id: str, change: ConsentChange) -> None: ...

    # segments (engine/store/sql/segments.py)
    def deploy_segments(
        self, segments: Mapping[str, Segment], *, at: datetime
    ) -> SegmentDeploy: ...
    def deployed_segments(self) -> dict[str, Segment]: ...
    def refresh_segment(self, segment_id: str, *, now: datetime) -> int: ...
    def pending_segment_changes(
        self,
        *,
        customer_ids: Sequence[str] | None = None,
        segment_id: str | None = None,
        before: datetime | None = None,
        limit: int = 500,
    ) -> list[SegmentChange]: ...
    def mark_segment_changes(self, ids: Sequence[int], *, at: datetime) -> None: ...
    def segment_members(self, segment_id: str) -> list[str]: ...
    def customer_segments(self, customer_id: str) -> set[str]: ...

    # journeys
    def deploy(self, bundle: JourneyBundle, *, at: datetime) -> JourneyVersionInfo: ...
    def current_bundle(self, journey_id: str) -> JourneyBundle: ...
    def deployed_bundles(self) -> list[JourneyBundle]: ...
    def deployment(self) -> list[tuple[str, int, bool]]: ...
    def list_journeys(self) -> list[JourneyInfo]: ...
    def set_paused(self, journey_id: str, paused: bool) -> None: ...
    def step_counts(self, journey_id: str) -> dict[str, dict[str, int]]: ...

    # enrollments
    def list_enrollments(
        self,
        *,
        customer_id: str | None = None,
        journey_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[EnrollmentRecord]: ...

    # handoff tasks
    def list_open_tasks(
        self, queue: str | None = None, clinics: list[str] | None = None
    ) -> list[HandoffTask]: ...
    def claim_task(self, task_id: str, who: str) -> HandoffTask: ...

    # API keys (stored hashed)
    def create_api_key(
        self, name: str, scopes: list[Scope], clinics: list[str], *, at: datetime
    ) -> tuple[ApiKeyRecord, str]: ...
    def find_api_key(self, secret: str) -> ApiKeyRecord | None: ...

    # platform callbacks (acted on once) and the first touch they bring
    def first_time(self, key: str, at: datetime) -> bool: ...
    def forget_callback(self, key: str) -> None: ...
    def set_source_once(
        self, customer_id: str, source: dict[str, Any], *, at: datetime
    ) -> bool: ...

    # attribution: codes, touches, the source report (engine/store/sql/touches.py)
    def record_touch(self, customer_id: str, touch: NewTouch) -> bool | None: ...
    def record_touches(self, touches: Sequence[tuple[str, NewTouch]]) -> int: ...
    def list_touches(self, customer_id: str, limit: int = 100) -> list[NewTouch]: ...
    def create_qrcode(self, code: QrCodeRecord) -> QrCodeRecord: ...
    def find_qrcode(self, kind: CodeKind, scene: str) -> QrCodeRecord | None: ...
    def list_qrcodes(
        self, kind: CodeKind | None = None, limit: int = 100
    ) -> list[tuple[QrCodeRecord, dict[str, int]]]: ...
    def source_report(
        self, by: Sequence[str], *, since: datetime | None = None
    ) -> list[SourceRow]: ...


__all__ = [
    "ApiKeyRecord",
    "ConsentChange",
    "GuardianLink",
    "IDENTITY_KINDS",
    "Identities",
    "IdentityKind",
    "JourneyInfo",
    "JourneyVersionInfo",
    "MergeRecord",
    "NewEvent",
    "ResolveResult",
    "Scope",
    "SegmentChange",
    "SegmentDeploy",
    "ServiceStore",
    "StoredEvent",
    "TagChange",
    "TraceEntry",
    "normalise_phone",
]
