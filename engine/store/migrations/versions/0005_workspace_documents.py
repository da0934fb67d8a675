"""Workspace documents: the deployed workspace-wide files (tagging, compliance, holidays).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

``workspace_documents`` holds one row per workspace-wide document that a deploy
stores (for example ``tagging`` from ``tagging.yaml``), as validated JSON with its
checksum, so every API and worker process reads the same deployed version.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "workspace_documents",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column(
            "document", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False
        ),
        sa.Column("checksum", sa.String(64), nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("workspace_documents")
