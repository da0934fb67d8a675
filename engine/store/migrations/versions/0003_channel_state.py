"""Channel state: circuit breakers, subscribe-message balances, deliveries per customer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29

``channel_circuits`` holds a channel that must not be called until ``open_until``
(a provider quota or an empty SMS package). ``subscribe_balances`` counts the
one-time subscribe-message consents a customer gave per template (filled by the
consent callbacks and the API, spent by sends, zeroed by a 43101 refusal).
``deliveries.customer_id`` lets the customer-service window count what was sent;
``deliveries.result_at`` is when a send's final result was read back (WeCom tasks).
``access_tokens`` shares each platform account's access token between worker
processes (refreshed once, under the row's lock). ``callback_receipts`` remembers
the platforms' callbacks already acted on (they retry).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "channel_circuits",
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("open_until", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "subscribe_balances",
        sa.Column("customer_id", sa.String(64), sa.ForeignKey("customers.id"), primary_key=True),
        sa.Column("template_id", sa.String(128), primary_key=True),
        sa.Column("balance", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "access_tokens",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("token", sa.Text(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "callback_receipts",
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("customer_id", sa.String(64), nullable=True))
        batch.add_column(sa.Column("result_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_deliveries_customer_id_channel_at", "deliveries", ["customer_id", "channel", "at"]
    )


def downgrade() -> None:
    op.drop_index("ix_deliveries_customer_id_channel_at", table_name="deliveries")
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("result_at")
        batch.drop_column("customer_id")
    op.drop_table("callback_receipts")
    op.drop_table("access_tokens")
    op.drop_table("subscribe_balances")
    op.drop_table("channel_circuits")
