"""Deployed journeys and workspace documents, enrollments, their trace and the handoff
tasks they create. Enrollments, trace and tasks do not reference ``customers``, so
the workflow side never waits on profile data; recording an enrollment reads its
customer's clinic once (``engine.store.sql.clinic_tallies``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base


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


class WorkspaceDocumentRow(Base):
    """A deployed workspace-wide document (``tagging``, ``compliance``, ...) as JSON."""

    __tablename__ = "workspace_documents"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    document: Mapped[dict[str, Any]]
    checksum: Mapped[str] = mapped_column(String(64))
    deployed_at: Mapped[datetime]


class EnrollmentRow(Base):
    """One enrollment; ``id`` is the workflow id."""

    __tablename__ = "enrollments"
    __table_args__ = (
        Index("ix_enrollments_customer_id_status", "customer_id", "status"),
        Index("ix_enrollments_journey_id_customer_id_key", "journey_id", "customer_id", "key"),
        # A journey's figures count statuses per version and entry time from it (0019).
        Index(
            "ix_enrollments_journey_cohort",
            "journey_id",
            "status",
            "exit_reason",
            "version",
            "started_at",
        ),
        Index("ix_enrollments_journey_id_version", "journey_id", "version"),
        # A clinic's figures of a journey count its statuses from it, and find the
        # enrollments of part of a day without reading the clinic's customers (0020).
        Index(
            "ix_enrollments_clinic_journey",
            "clinic",
            "journey_id",
            "status",
            "exit_reason",
            "version",
            "started_at",
        ),
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
    #: The clinic its figures are kept under in ``journey_clinic_tallies``: its customer's
    #: ``clinic_id`` as text (``customer_clinic()``), ``""`` for none (0020).
    clinic: Mapped[str] = mapped_column(String(64), default="", server_default="")


class TraceRow(Base):
    """One trace entry; (enrollment_id, seq) makes a retried append a no-op."""

    __tablename__ = "trace"

    enrollment_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime]
    step: Mapped[str | None] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)


class TallyRow(Base):
    """How many trace facts of one kind the enrollments that entered on one day have, kept
    as the trace is written (``engine.store.sql.tallies``) so that a journey's metrics sum
    a few thousand rows instead of reading every enrollment's trace.

    ``measure``: ``reached`` (enrollments with an entry at the step), ``attempt`` and
    ``receipt`` (per channel, outcome and skip reason), ``fallback``, and ``arm`` (first
    draws of a split step per variant, in ``channel``, and the enrollment's status, in
    ``outcome``). ``last_at``: an ``arm`` row's latest entry time.
    """

    __tablename__ = "journey_tallies"

    journey_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[datetime] = mapped_column(primary_key=True)  # the UTC day's first instant
    step: Mapped[str] = mapped_column(String(128), primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime | None]


class ClinicTallyRow(Base):
    """``journey_tallies`` per clinic: the same figures of the enrollments whose customer
    is of ``clinic`` (``EnrollmentRow.clinic``), kept as the trace is written and moved
    when a customer's clinic changes (``engine.store.sql.clinic_tallies``), so that a
    clinic's staff read a journey's figures as an admin does (0020)."""

    __tablename__ = "journey_clinic_tallies"

    journey_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    clinic: Mapped[str] = mapped_column(String(64), primary_key=True)
    day: Mapped[datetime] = mapped_column(primary_key=True)  # the UTC day's first instant
    step: Mapped[str] = mapped_column(String(128), primary_key=True)
    measure: Mapped[str] = mapped_column(String(16), primary_key=True)
    channel: Mapped[str] = mapped_column(String(64), primary_key=True)
    outcome: Mapped[str] = mapped_column(String(64), primary_key=True)
    reason: Mapped[str] = mapped_column(String(64), primary_key=True)
    n: Mapped[int] = mapped_column(Integer)
    last_at: Mapped[datetime | None]


class TaskRow(Base):
    __tablename__ = "handoff_tasks"
    __table_args__ = (
        Index("ix_handoff_tasks_queue_status", "queue", "status"),
        Index("ix_handoff_tasks_clinic_status", "clinic", "status"),
        Index("ix_handoff_tasks_journey_id_step", "journey_id", "step"),
        Index("ix_handoff_tasks_enrollment_id", "enrollment_id"),
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
