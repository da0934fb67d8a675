"""``SqlStore``: the ``ActivityStore`` and ``ServiceStore`` protocols on SQLite or PostgreSQL.

Each concern lives in its own part (customers, events, identity, journeys,
enrollments, deliveries and tasks, API keys, console users, ...); this class only puts them together
over one engine. Every method is one transaction. Idempotency comes from unique keys,
not from read-then-write checks: message ids, trace (enrollment, seq), delivery keys,
task ids and identities are inserted with ``ON CONFLICT DO NOTHING`` or retried on
IntegrityError, so retried activities and concurrent requests cannot duplicate rows.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from engine.store.sql.audit import AuditPart
from engine.store.sql.callbacks import CallbacksPart
from engine.store.sql.caps import CapsPart
from engine.store.sql.changes import ChangesPart
from engine.store.sql.channels import ChannelStatePart
from engine.store.sql.clinics import ClinicsPart
from engine.store.sql.costs import CostsPart
from engine.store.sql.customers import CustomersPart
from engine.store.sql.db import Sessions
from engine.store.sql.documents import DocumentsPart
from engine.store.sql.enrollments import EnrollmentsPart
from engine.store.sql.events import EventsPart
from engine.store.sql.guardians import GuardiansPart
from engine.store.sql.identity import IdentityPart
from engine.store.sql.ingest import IngestPart
from engine.store.sql.journey_metrics import JourneyMetricsPart
from engine.store.sql.journeys import JourneysPart
from engine.store.sql.keys import ApiKeysPart
from engine.store.sql.names import NamesPart
from engine.store.sql.opt_outs import OptOutsPart
from engine.store.sql.outbox import OutboxPart
from engine.store.sql.reports.part import ReportsPart
from engine.store.sql.segments import SegmentsPart
from engine.store.sql.tasks import DeliveriesPart, TasksPart
from engine.store.sql.tokens import TokensPart
from engine.store.sql.touches import TouchesPart
from engine.store.sql.users import UsersPart


class SqlStore(
    CustomersPart,
    EventsPart,
    IdentityPart,
    IngestPart,
    JourneysPart,
    EnrollmentsPart,
    DeliveriesPart,
    TasksPart,
    ApiKeysPart,
    ChannelStatePart,
    CapsPart,
    TokensPart,
    CallbacksPart,
    AuditPart,
    TouchesPart,
    DocumentsPart,
    GuardiansPart,
    SegmentsPart,
    OutboxPart,
    CostsPart,
    JourneyMetricsPart,
    ReportsPart,
    UsersPart,
    ChangesPart,
    NamesPart,
    OptOutsPart,
    ClinicsPart,
):
    """The persistent store; the schema must be migrated first (``migrate.upgrade``)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._db = Sessions(url)
        self._bundles = {}

    def close(self) -> None:
        """Close the pooled connections."""
        self._db.dispose()

    def ping(self) -> None:
        """Raise when the database cannot be reached (readiness)."""
        self._db.ping()


if TYPE_CHECKING:
    from engine.store.service_store import ServiceStore

    def _implements_the_protocols(store: SqlStore) -> ServiceStore:
        return store  # mypy checks every method of ActivityStore and ServiceStore here
