"""What the service needs from the store beyond the activities' ``ActivityStore`` protocol.

Identity resolution, idempotent ingest, deployed journey versions, enrollment
listings, handoff work queues, API keys and console users. ``engine.store.sql.SqlStore``
implements both protocols on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from engine.contracts.journey import TraceEntry
from engine.models.attribution import CodeKind, NewTouch, QrCodeRecord, SourceRow
from engine.models.changes import ChangeAction, ChangeRecord, NewChange, SubjectKind
from engine.models.events import Cost
from engine.models.journey import Segment
from engine.models.reports.acquisition import AcquisitionReport
from engine.models.reports.acquisition_days import AcquisitionDays
from engine.models.reports.active import ActiveReport
from engine.models.reports.channels import ChannelsReport
from engine.models.reports.clinics import ClinicsReport
from engine.models.reports.doctors import DoctorsReport
from engine.models.reports.funnel import FunnelReport, FunnelRequest
from engine.models.reports.kpis import KpiReport
from engine.models.reports.scope import FirstTouchField, ReportScope
from engine.models.users import ConsoleSession, Role, User
from engine.models.workspace import JourneyBundle
from engine.store.activity_store import ActivityStore
from engine.store.circuits import ConfigCircuit, QuotaWindow
from engine.store.metrics import Cohort, JourneyCounts
from engine.store.opt_outs import OptOut
from engine.store.records import (
    IDENTITY_KINDS,
    ApiKeyRecord,
    AuditEntry,
    ConsentChange,
    CostsWritten,
    CustomerBrief,
    EnrollmentRecord,
    GuardianLink,
    HandoffTask,
    Identities,
    IdentityKind,
    IngestGroup,
    JourneyInfo,
    JourneyVersionInfo,
    MergeRecord,
    NewEvent,
    OutboxItem,
    OutboxKind,
    OutboxState,
    PendingSignal,
    ResolveResult,
    Scope,
    SegmentChange,
    SegmentDeploy,
    StepTally,
    StoredCost,
    StoredEvent,
    TagChange,
    normalise_phone,
)


class ServiceStore(ActivityStore, Protocol):
    """The store as the API, the trigger dispatcher and the CLI use it."""

    # guardians of minors (engine.compliance.guardians); guardians_of is in ActivityStore
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

    # costs from ad platforms (engine.models.events.Cost), per day and dimensions
    def put_costs(self, costs: Sequence[Cost], *, source: str, at: datetime) -> CostsWritten: ...
    def list_costs(
        self,
        start: date | None = None,
        end: date | None = None,
        *,
        clinic_id: str | None = None,
        limit: int = 10000,
    ) -> list[StoredCost]: ...

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
    def customers_named(
        self, prefix: str, *, clinics: Sequence[str] | None = None, limit: int = 20
    ) -> list[tuple[str, str]]: ...
    def customer_briefs(self, customer_ids: Sequence[str]) -> list[CustomerBrief]: ...
    def list_merges(self, customer_id: str | None = None) -> list[MergeRecord]: ...
    def customer_clinics(self, customer_ids: Sequence[str]) -> dict[str, str | None]: ...
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
    def undispatched_events(
        self, before: datetime, limit: int = 200, *, now: datetime | None = None
    ) -> list[StoredEvent]: ...
    def tag(
        self,
        customer_id: str,
        add: list[str],
        remove: list[str],
        source: str,
        *,
        at: datetime,
        context: dict[str, Any] | None = None,
    ) -> list[TagChange]: ...
    def undispatched_tags(
        self, before: datetime, limit: int = 200, *, now: datetime | None = None
    ) -> list[TagChange]: ...
    def mark_tags_dispatched(self, history_ids: list[int], *, at: datetime) -> None: ...
    def remember_tag_context(self, history_ids: list[int], context: dict[str, Any]) -> None: ...
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
        now: datetime | None = None,
    ) -> list[SegmentChange]: ...
    def mark_segment_changes(self, ids: Sequence[int], *, at: datetime) -> None: ...
    def segment_members(self, segment_id: str) -> list[str]: ...
    def customer_segments(self, customer_id: str) -> set[str]: ...

    # the outbox: failed dispatches, pending signals, paused journeys' triggers
    # (engine/store/sql/outbox.py)
    def record_dispatch_failure(
        self, kind: OutboxKind, item_id: int, customer_id: str | None, error: str, *, at: datetime
    ) -> OutboxItem: ...
    def settle_outbox(self) -> int: ...
    def outbox_items(
        self,
        *,
        before: datetime,
        states: Sequence[OutboxState] = ("pending", "retrying", "parked"),
        kind: OutboxKind | None = None,
        limit: int = 100,
    ) -> list[OutboxItem]: ...
    def outbox_item(self, kind: OutboxKind, item_id: int) -> OutboxItem: ...
    def outbox_entry(
        self, kind: OutboxKind, item_id: int
    ) -> StoredEvent | TagChange | SegmentChange | PendingSignal: ...
    def unpark_outbox_item(self, kind: OutboxKind, item_id: int, *, at: datetime) -> None: ...
    def discard_outbox_item(
        self, kind: OutboxKind, item_id: int, *, by: str, at: datetime
    ) -> OutboxItem: ...
    def keep_signal(
        self,
        key: str,
        enrollment_id: str,
        customer_id: str | None,
        name: str,
        payload: dict[str, Any],
        *,
        at: datetime,
    ) -> PendingSignal: ...
    def undispatched_signals(self, before: datetime, limit: int = 200) -> list[PendingSignal]: ...
    def mark_signals_dispatched(self, ids: Sequence[int], *, at: datetime) -> None: ...
    def record_trigger_skips(
        self, skips: Sequence[tuple[str, str, str, str]], *, reason: str, at: datetime
    ) -> None: ...
    def complete_task_signal(
        self, task_id: str, outcome: str, note: str | None, *, at: datetime
    ) -> tuple[HandoffTask, PendingSignal]: ...

    # channel circuits as operators see them (engine/store/sql/circuits.py)
    def config_circuits(self) -> list[ConfigCircuit]: ...
    def quota_windows(self) -> list[QuotaWindow]: ...
    def reset_circuits(
        self, channel: str, template: str | None, *, by: str, at: datetime
    ) -> list[ConfigCircuit]: ...
    def close_changed_circuits(
        self, deployed: Mapping[tuple[str, str], set[str]], *, at: datetime
    ) -> list[ConfigCircuit]: ...

    # journeys
    def deploy(self, bundle: JourneyBundle, *, at: datetime) -> JourneyVersionInfo: ...
    def current_bundle(self, journey_id: str) -> JourneyBundle: ...
    def deployed_bundles(self) -> list[JourneyBundle]: ...
    def deployment(self) -> list[tuple[str, int, bool]]: ...
    def list_journeys(self) -> list[JourneyInfo]: ...
    def set_paused(self, journey_id: str, paused: bool) -> None: ...
    def step_counts(self, journey_id: str) -> dict[str, dict[str, int]]: ...
    def step_tallies(
        self, journey_id: str, running_at: Mapping[str, str]
    ) -> dict[str, StepTally]: ...
    def journey_counts(
        self, cohort: Cohort, now: datetime, running_at: Mapping[str, str]
    ) -> JourneyCounts: ...
    def waiting_steps(self, cohort: Cohort, running_at: Mapping[str, str]) -> list[str]: ...
    def journey_enrollments(
        self,
        journey_id: str,
        *,
        status: str | None = None,
        step: str | None = None,
        variant: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        clinics: Sequence[str] | None = None,
        running_at: Mapping[str, str] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> list[tuple[EnrollmentRecord, str | None]]: ...

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
        self,
        name: str,
        scopes: list[Scope],
        clinics: list[str],
        *,
        at: datetime,
        expires_at: datetime | None = None,
    ) -> tuple[ApiKeyRecord, str]: ...
    def find_api_key(self, secret: str, *, at: datetime | None = None) -> ApiKeyRecord | None: ...
    def list_api_keys(self) -> list[ApiKeyRecord]: ...
    def revoke_api_key(self, name_or_id: str, *, at: datetime) -> ApiKeyRecord: ...
    def ping(self) -> None: ...

    # console users and their sessions (engine/store/sql/users.py); ``by`` names who
    # made a change ("cli", "console:<username>") and is kept on the user's row
    def create_user(
        self,
        username: str,
        password: str,
        role: Role,
        clinics: list[str] | None = None,
        display_name: str | None = None,
        *,
        by: str | None = None,
        at: datetime | None = None,
    ) -> User: ...
    def list_users(self) -> list[User]: ...
    def get_user(self, username: str) -> User: ...
    def disable_user(
        self, username: str, *, by: str | None = None, at: datetime | None = None
    ) -> User: ...
    def set_password(
        self, username: str, password: str, *, by: str | None = None, at: datetime | None = None
    ) -> None: ...
    def check_password(self, username: str, password: str) -> User | None: ...
    def open_session(
        self, user_id: str, ttl: timedelta, *, at: datetime | None = None
    ) -> tuple[str, ConsoleSession]: ...
    def find_session(self, token: str, *, at: datetime | None = None) -> ConsoleSession | None: ...
    def close_session(self, token: str) -> None: ...

    # the change log: who changed what by hand (engine.models.changes)
    def record_change(self, change: NewChange) -> None: ...
    def list_changes(
        self,
        *,
        subject_kind: SubjectKind | None = None,
        subject_id: str | None = None,
        customer_ids: Sequence[str] | None = None,
        actions: Sequence[ChangeAction] | None = None,
        before: int | None = None,
        limit: int = 50,
    ) -> list[ChangeRecord]: ...

    # the clinics named anywhere, for filters (engine/store/sql/clinics.py)
    def known_clinics(self) -> list[str]: ...

    # the latest consent withdrawals across customers (engine/store/sql/opt_outs.py)
    def recent_opt_outs(self, limit: int = 50) -> list[OptOut]: ...

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

    # reports (docs contract "What carepath counts", section 3)
    def active_report(self, scope: ReportScope) -> ActiveReport: ...
    def acquisition_report(
        self, scope: ReportScope, by: Sequence[FirstTouchField], window: timedelta
    ) -> AcquisitionReport: ...
    def acquisition_days(self, scope: ReportScope, window: timedelta) -> AcquisitionDays: ...
    def kpi_report(
        self, scope: ReportScope, by: Sequence[FirstTouchField], window: timedelta
    ) -> KpiReport: ...
    def funnel_report(self, scope: ReportScope, request: FunnelRequest) -> FunnelReport: ...
    def doctors_report(self, scope: ReportScope) -> DoctorsReport: ...
    def clinics_report(self, scope: ReportScope) -> ClinicsReport: ...
    def channels_report(self, scope: ReportScope) -> ChannelsReport: ...


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
