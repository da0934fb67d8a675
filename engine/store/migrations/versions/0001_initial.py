"""Initial schema: customers and identities, journeys, enrollments, deliveries, tasks, keys.

Revision ID: 0001
Revises:
Create Date: 2026-03-01

Written out by hand (plain SQLAlchemy types, no imports from the application), so it
keeps creating the same schema when the models move on. ``tests/engine/store`` checks
that it matches ``engine.store.sql.tables``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time() -> sa.DateTime:
    # Stored in UTC; SQLite keeps naive text, PostgreSQL timestamptz.
    return sa.DateTime(timezone=True)


def _id(name: str, length: int) -> sa.Column[str]:
    return sa.Column(name, sa.String(length), nullable=False)


def _serial() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), autoincrement=True, nullable=False)


def _customer_fk(table: str, column: str = "customer_id") -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["customers.id"], name=f"fk_{table}_{column}_customers"
    )


def upgrade() -> None:
    # customers and what hangs off them ---------------------------------------------------
    op.create_table(
        "customers",
        _id("id", 64),
        sa.Column("attributes", _json(), nullable=False),
        sa.Column("follows_wechat", sa.Boolean(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("source", _json(), nullable=False),
        sa.Column("wecom_owner_userid", sa.String(128), nullable=True),
        sa.Column("merged_into", sa.String(64), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        _customer_fk("customers", "merged_into"),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
    )
    op.create_index("ix_customers_merged_into", "customers", ["merged_into"])

    op.create_table(
        "identities",
        _id("kind", 32),
        _id("namespace", 128),
        _id("value", 255),
        _id("customer_id", 64),
        sa.Column("created_at", _time(), nullable=False),
        _customer_fk("identities"),
        sa.PrimaryKeyConstraint("kind", "namespace", "value", name="pk_identities"),
    )
    op.create_index("ix_identities_customer_id", "identities", ["customer_id"])

    op.create_table(
        "events",
        _serial(),
        _id("message_id", 255),
        _id("customer_id", 64),
        _id("name", 255),
        sa.Column("properties", _json(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        _customer_fk("events"),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sa.UniqueConstraint("message_id", name="uq_events_message_id"),
    )
    op.create_index("ix_events_customer_id_name_at", "events", ["customer_id", "name", "at"])

    op.create_table(
        "tags",
        _id("customer_id", 64),
        _id("tag", 255),
        _id("source", 255),
        sa.Column("at", _time(), nullable=False),
        _customer_fk("tags"),
        sa.PrimaryKeyConstraint("customer_id", "tag", name="pk_tags"),
    )

    op.create_table(
        "tag_history",
        _serial(),
        _id("customer_id", 64),
        _id("tag", 255),
        sa.Column("added", sa.Boolean(), nullable=False),
        _id("source", 255),
        sa.Column("at", _time(), nullable=False),
        _customer_fk("tag_history"),
        sa.PrimaryKeyConstraint("id", name="pk_tag_history"),
    )
    op.create_index("ix_tag_history_customer_id", "tag_history", ["customer_id"])

    op.create_table(
        "consents",
        _serial(),
        _id("customer_id", 64),
        _id("purpose", 64),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("granted", sa.Boolean(), nullable=False),
        _id("source", 255),
        sa.Column("text_version", sa.String(64), nullable=True),
        sa.Column("at", _time(), nullable=False),
        _customer_fk("consents"),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
    )
    op.create_index("ix_consents_customer_id_at", "consents", ["customer_id", "at"])

    op.create_table(
        "merges",
        _serial(),
        _id("survivor_id", 64),
        _id("merged_id", 64),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        _customer_fk("merges", "survivor_id"),
        _customer_fk("merges", "merged_id"),
        sa.PrimaryKeyConstraint("id", name="pk_merges"),
    )
    op.create_index("ix_merges_survivor_id", "merges", ["survivor_id"])
    op.create_index("ix_merges_merged_id", "merges", ["merged_id"])

    # journeys and enrollments ------------------------------------------------------------
    op.create_table(
        "journeys",
        _id("id", 128),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("paused", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_journeys"),
    )

    op.create_table(
        "journey_versions",
        _id("journey_id", 128),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("bundle", _json(), nullable=False),
        _id("checksum", 64),
        sa.Column("deployed_at", _time(), nullable=False),
        sa.ForeignKeyConstraint(
            ["journey_id"], ["journeys.id"], name="fk_journey_versions_journey_id_journeys"
        ),
        sa.PrimaryKeyConstraint("journey_id", "version", name="pk_journey_versions"),
    )

    op.create_table(
        "enrollments",
        _id("id", 255),
        _id("journey_id", 128),
        sa.Column("version", sa.Integer(), nullable=False),
        _id("customer_id", 64),
        sa.Column("key", sa.String(255), nullable=True),
        _id("status", 16),
        sa.Column("exit_reason", sa.Text(), nullable=True),
        sa.Column("variant", sa.String(64), nullable=True),
        sa.Column("started_at", _time(), nullable=False),
        sa.Column("ended_at", _time(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_enrollments"),
    )
    op.create_index("ix_enrollments_customer_id_status", "enrollments", ["customer_id", "status"])
    op.create_index("ix_enrollments_journey_id_status", "enrollments", ["journey_id", "status"])
    op.create_index(
        "ix_enrollments_journey_id_customer_id_key",
        "enrollments",
        ["journey_id", "customer_id", "key"],
    )

    op.create_table(
        "trace",
        _id("enrollment_id", 255),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.Column("step", sa.String(128), nullable=True),
        _id("kind", 32),
        sa.Column("payload", _json(), nullable=False),
        sa.PrimaryKeyConstraint("enrollment_id", "seq", name="pk_trace"),
    )

    # deliveries, handoff tasks, API keys -------------------------------------------------
    op.create_table(
        "deliveries",
        _id("key", 255),
        _id("enrollment_id", 255),
        _id("step", 128),
        _id("channel", 32),
        _id("status", 16),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("provider_ref", sa.String(255), nullable=True),
        sa.Column("at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_deliveries"),
    )
    op.create_index("ix_deliveries_provider_ref", "deliveries", ["provider_ref"])

    op.create_table(
        "handoff_tasks",
        _id("id", 64),
        _id("enrollment_id", 255),
        _id("customer_id", 64),
        _id("journey_id", 128),
        _id("step", 128),
        _id("queue", 128),
        sa.Column("clinic", sa.String(128), nullable=True),
        sa.Column("script", sa.Text(), nullable=True),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("due_at", _time(), nullable=True),
        _id("status", 16),
        sa.Column("escalated_to", sa.String(128), nullable=True),
        sa.Column("outcome", sa.String(64), nullable=True),
        sa.Column("claimed_by", sa.String(128), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_handoff_tasks"),
    )
    op.create_index("ix_handoff_tasks_queue_status", "handoff_tasks", ["queue", "status"])
    op.create_index("ix_handoff_tasks_clinic_status", "handoff_tasks", ["clinic", "status"])

    op.create_table(
        "api_keys",
        _id("id", 32),
        _id("name", 255),
        _id("secret_hash", 64),
        sa.Column("scopes", _json(), nullable=False),
        sa.Column("clinics", _json(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("secret_hash", name="uq_api_keys_secret_hash"),
    )


def downgrade() -> None:
    # Dropping a table drops its indexes; children before the tables they reference.
    for table in (
        "api_keys",
        "handoff_tasks",
        "deliveries",
        "trace",
        "enrollments",
        "journey_versions",
        "journeys",
        "merges",
        "consents",
        "tag_history",
        "tags",
        "events",
        "identities",
        "customers",
    ):
        op.drop_table(table)
