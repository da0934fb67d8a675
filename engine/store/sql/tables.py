"""The tables of the SQL store, as SQLAlchemy 2 declarative models.

``engine/store/migrations/versions`` creates exactly these; the migration test compares
the two. Times are aware UTC (:class:`UTCDateTime`), documents are JSON (JSONB on
PostgreSQL). Customer-owned rows reference ``customers``; enrollments, trace,
deliveries and tasks do not, so the workflow side never waits on profile data.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from engine.store.sql.types import JSONType, UTCDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSONType}


# customers ---------------------------------------------------------------------------------


class CustomerRow(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    follows_wechat: Mapped[bool] = mapped_column(Boolean, default=False)
    timezone: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Not an identity (one staff member owns many contacts) but addressed like one.
    wecom_owner_userid: Mapped[str | None] = mapped_column(String(128))
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime]


class IdentityRow(Base):
    """One way a customer is known; (kind, namespace, value) names at most one customer."""

    __tablename__ = "identities"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    namespace: Mapped[str] = mapped_column(String(128), primary_key=True, default="")
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime]


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        Index("ix_events_customer_id_name_at", "customer_id", "name", "at"),
        # Compiled segment rules scanning a population by event name (migration 0006).
        Index("ix_events_name_customer_id_at", "name", "customer_id", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    name: Mapped[str] = mapped_column(String(255))
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    at: Mapped[datetime]
    received_at: Mapped[datetime | None]
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class TagRow(Base):
    __tablename__ = "tags"
    __table_args__ = (Index("ix_tags_tag_customer_id", "tag", "customer_id"),)

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    source: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]


class TagHistoryRow(Base):
    __tablename__ = "tag_history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    tag: Mapped[str] = mapped_column(String(255))
    added: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(255))
    at: Mapped[datetime]
    # Empty until the tag_added triggers have been told of an added tag (migration 0010).
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)


class ConsentRow(Base):
    """Append-only: the latest record per (purpose, channel) decides."""

    __tablename__ = "consents"
    __table_args__ = (
        Index("ix_consents_customer_id_at", "customer_id", "at"),
        Index(
            "ix_consents_customer_id_purpose_channel_at", "customer_id", "purpose", "channel", "at"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    purpose: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    granted: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(255), default="api")
    text_version: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime]


class MergeRow(Base):
    __tablename__ = "merges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    survivor_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    merged_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime]


# journeys and enrollments ------------------------------------------------------------------


class JourneyRow(Base):
    __tablename__ = "journeys"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    current_version: Mapped[int] = mapped_column(Integer)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)


class JourneyVersionRow(Base):
    """One immutable deployed version; ``bundle`` is the JourneyBundle as JSON."""

    __tablename__ = "journey_versions"

    journey_id: Mapped[str] = mapped_column(ForeignKey("journeys.id"), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    bundle: Mapped[dict[str, Any]]
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]


class EnrollmentRow(Base):
    """One enrollment; ``id`` is the workflow id."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index("ix_enrollments_customer_id_status", "customer_id", "status"),
        Index("ix_enrollments_journey_id_status", "journey_id", "status"),
        Index("ix_enrollments_journey_id_customer_id_key", "journey_id", "customer_id", "key"),
    )

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    journey_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    customer_id: Mapped[str] = mapped_column(String(64))
    key: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16))
    exit_reason: Mapped[str | None] = mapped_column(Text)
    variant: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]


class TraceRow(Base):
    """One trace entry; (enrollment_id, seq) makes a retried append a no-op."""

    __tablename__ = "trace"

    enrollment_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    step: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DeliveryRow(Base):
    """One provider call, written under its idempotency key before the call."""

    __tablename__ = "deliveries"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    enrollment_id: Mapped[str] = mapped_column(String(255))
    step: Mapped[str] = mapped_column(String(128))
    channel: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    provider_ref: Mapped[str | None] = mapped_column(String(255), index=True)
    at: Mapped[datetime]
    customer_id: Mapped[str | None] = mapped_column(String(64))
    result_at: Mapped[datetime | None]


Index(
    "ix_deliveries_customer_id_channel_at",
    DeliveryRow.customer_id,
    DeliveryRow.channel,
    DeliveryRow.at,
)


class CircuitRow(Base):
    """A channel not to be called until ``open_until`` (quota, empty SMS package)."""

    __tablename__ = "channel_circuits"

    channel: Mapped[str] = mapped_column(String(32), primary_key=True)
    open_until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime]


class SubscribeBalanceRow(Base):
    """One-time subscribe-message consents a customer holds for one template."""

    __tablename__ = "subscribe_balances"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    template_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    balance: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime]


class TaskRow(Base):
    __tablename__ = "handoff_tasks"
    __table_args__ = (
        Index("ix_handoff_tasks_queue_status", "queue", "status"),
        Index("ix_handoff_tasks_clinic_status", "clinic", "status"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    enrollment_id: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[str] = mapped_column(String(64))
    journey_id: Mapped[str] = mapped_column(String(128))
    step: Mapped[str] = mapped_column(String(128))
    queue: Mapped[str] = mapped_column(String(128))
    clinic: Mapped[str | None] = mapped_column(String(128))
    script: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    due_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(16))
    escalated_to: Mapped[str | None] = mapped_column(String(128))
    outcome: Mapped[str | None] = mapped_column(String(64))
    claimed_by: Mapped[str | None] = mapped_column(String(128))


class ApiKeyRow(Base):
    """An API key; only the sha256 of its secret is kept."""

    __tablename__ = "api_keys"
    __table_args__ = (UniqueConstraint("secret_hash"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str] = mapped_column(String(64))
    scopes: Mapped[list[str]] = mapped_column(JSONType)
    clinics: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime]


class AccessTokenRow(Base):
    """A platform account's access token, shared by every worker process."""

    __tablename__ = "access_tokens"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    token: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None]
    refreshed_at: Mapped[datetime | None]


class CallbackReceiptRow(Base):
    """A platform callback already acted on (WeChat and Tencent retry them)."""

    __tablename__ = "callback_receipts"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    at: Mapped[datetime]


class SendSlotRow(Base):
    """One send counted against the frequency caps, under its delivery's key; the
    periods are the workspace's calendar day and month when it was reserved."""

    __tablename__ = "frequency_slots"
    __table_args__ = (
        Index("ix_frequency_slots_customer_id_purpose_month", "customer_id", "purpose", "month"),
    )

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    purpose: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    day: Mapped[str] = mapped_column(String(10))
    month: Mapped[str] = mapped_column(String(7))
    at: Mapped[datetime]


class WorkspaceDocumentRow(Base):
    """A deployed workspace-wide document (``tagging``, ``compliance``, ...) as JSON."""

    __tablename__ = "workspace_documents"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[dict[str, Any]]
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]


# attribution -------------------------------------------------------------------------------


class QrCodeRow(Base):
    """A parameterized WeChat QR code or a WeCom contact-me code, with what it attributes:
    a scan's scene (WeChat ``scene_str``) or a contact's ``state`` maps back to it."""

    __tablename__ = "qr_codes"
    __table_args__ = (Index("ix_qr_codes_kind_scene", "kind", "scene"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str | None] = mapped_column(String(255))
    scene: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    activity: Mapped[str | None] = mapped_column(String(128))
    clinic: Mapped[str | None] = mapped_column(String(128))
    doctor: Mapped[str | None] = mapped_column(String(128))
    permanent: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None]
    ticket: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    image_url: Mapped[str | None] = mapped_column(Text)
    config_id: Mapped[str | None] = mapped_column(String(64))
    staff: Mapped[list[str]] = mapped_column(JSONType)
    created_at: Mapped[datetime]


class TouchRow(Base):
    """One attributable touch of a customer (a QR scan, a follow, a contact added, a page
    visit with UTM fields); ``first`` marks the one that became the customer's first touch.
    ``message_id`` is the event's that brought it, so a retried event adds none."""

    __tablename__ = "touches"
    __table_args__ = (
        Index("ix_touches_customer_id_at", "customer_id", "at"),
        Index("ix_touches_first_channel", "first", "channel"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    kind: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(64))
    activity: Mapped[str | None] = mapped_column(String(128))
    clinic: Mapped[str | None] = mapped_column(String(128))
    doctor: Mapped[str | None] = mapped_column(String(128))
    scene: Mapped[str | None] = mapped_column(String(64))
    code_id: Mapped[str | None] = mapped_column(String(32), index=True)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime]


class GuardianLinkRow(Base):
    """A minor linked to a guardian (both customers); kept when unlinked (history)."""

    __tablename__ = "guardian_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    guardian_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    relation: Mapped[str | None] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(255))
    linked_at: Mapped[datetime]
    unlinked_at: Mapped[datetime | None]


# segments ----------------------------------------------------------------------------------


class SegmentRow(Base):
    """A deployed workspace segment; ``rule`` is the rule as JSON."""

    __tablename__ = "segments"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(255))
    rule: Mapped[dict[str, Any]]
    refresh: Mapped[str | None] = mapped_column(String(128))
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]


class SegmentMemberRow(Base):
    """A customer in a segment since ``entered_at``; ``exited_at`` is NULL while a member."""

    __tablename__ = "segment_members"

    segment_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    customer_id: Mapped[str] = mapped_column(
        ForeignKey("customers.id"), primary_key=True, index=True
    )
    entered_at: Mapped[datetime]
    exited_at: Mapped[datetime | None]


class SegmentChangeRow(Base):
    """Outbox of enters and exits: written with the membership, marked once dispatched."""

    __tablename__ = "segment_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    segment_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[str] = mapped_column(String(64), index=True)
    entered: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[datetime]
    dispatched_at: Mapped[datetime | None] = mapped_column(index=True)
