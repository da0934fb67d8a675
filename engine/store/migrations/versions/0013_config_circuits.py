"""Circuits opened by configuration errors, per template of a channel or per channel.

Revision ID: 0013
Revises: 0012
Create Date: 2027-01-10

``config_circuits`` holds a template of a channel (or, with an empty ``template``, the
whole channel) that must not be sent to after the provider said our configuration is
wrong: an invalid or unapproved template or signature, bad credentials, a suspended
account. Unlike the quota windows of ``channel_circuits`` it has no end time: it stays
open until an operator resets it or a deploy changes what opened it (``digest``).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "config_circuits",
        sa.Column("channel", sa.String(32), primary_key=True),
        sa.Column("template", sa.String(255), primary_key=True),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(255), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("config_circuits")
