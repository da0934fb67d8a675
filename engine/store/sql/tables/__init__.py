"""The tables of the SQL store, as SQLAlchemy 2 declarative models, one module per area.

``engine/store/migrations/versions`` creates exactly these; the migration test compares
the two. Times are aware UTC (:class:`~engine.store.sql.types.UTCDateTime`), documents
are JSON (JSONB on PostgreSQL). Customer-owned rows reference ``customers``;
enrollments, trace, deliveries and tasks do not, so the workflow side never waits on
profile data.

Importing this package registers every table on :data:`Base.metadata` (what Alembic and
``create_all`` read), which is why it names them all; callers import rows from here.

- ``customers``: customers, identities, events, tags, consents, merges, guardian links
- ``journeys``: journeys and their versions, workspace documents, enrollments, trace,
  their tallies (whole and per clinic), handoff tasks
- ``channels``: deliveries, circuits, subscribe balances, frequency slots, callbacks
- ``credentials``: API keys, platform access tokens
- ``segments``: segments, members, the enter/exit outbox
- ``attribution``: QR and contact-me codes, touches
- ``costs``: spend from ad platforms per day and dimensions
- ``outbox``: failed dispatches, pending signals, triggers a paused journey let pass
- ``users``: console users (password hashes) and their signed-in sessions
- ``changes``: the change log, who changed what by hand (console, API, command line)
"""

from __future__ import annotations

from engine.store.sql.tables.attribution import QrCodeRow, TouchRow
from engine.store.sql.tables.base import NAMING, Base
from engine.store.sql.tables.changes import ChangeRow
from engine.store.sql.tables.channels import (
    CallbackReceiptRow,
    CircuitRow,
    ConfigCircuitRow,
    DeliveryRow,
    SendSlotRow,
    SubscribeBalanceRow,
)
from engine.store.sql.tables.costs import CostRow
from engine.store.sql.tables.credentials import AccessTokenRow, ApiKeyRow
from engine.store.sql.tables.customers import (
    ConsentRow,
    CustomerRow,
    EventRow,
    GuardianLinkRow,
    IdentityRow,
    MergeRow,
    TagHistoryRow,
    TagRow,
)
from engine.store.sql.tables.journeys import (
    ClinicTallyRow,
    EnrollmentRow,
    JourneyRow,
    JourneyVersionRow,
    TallyRow,
    TaskRow,
    TraceRow,
    WorkspaceDocumentRow,
)
from engine.store.sql.tables.outbox import OutboxFailureRow, PendingSignalRow, TriggerSkipRow
from engine.store.sql.tables.segments import SegmentChangeRow, SegmentMemberRow, SegmentRow
from engine.store.sql.tables.users import ConsoleSessionRow, UserRow

__all__ = [
    "NAMING",
    "AccessTokenRow",
    "ApiKeyRow",
    "Base",
    "CallbackReceiptRow",
    "ChangeRow",
    "CircuitRow",
    "ClinicTallyRow",
    "ConfigCircuitRow",
    "ConsentRow",
    "ConsoleSessionRow",
    "CostRow",
    "CustomerRow",
    "DeliveryRow",
    "EnrollmentRow",
    "EventRow",
    "GuardianLinkRow",
    "IdentityRow",
    "JourneyRow",
    "JourneyVersionRow",
    "MergeRow",
    "OutboxFailureRow",
    "PendingSignalRow",
    "QrCodeRow",
    "SegmentChangeRow",
    "SegmentMemberRow",
    "SegmentRow",
    "SendSlotRow",
    "SubscribeBalanceRow",
    "TagHistoryRow",
    "TagRow",
    "TallyRow",
    "TaskRow",
    "TouchRow",
    "TraceRow",
    "TriggerSkipRow",
    "UserRow",
    "WorkspaceDocumentRow",
]
