"""API key lifecycle: expiry, revocation and when a key was last used.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01

``expires_at`` and ``revoked_at`` make the store refuse a key from then on;
``last_used_at`` is written at most once a minute per key, so an operator can see which
keys are still in use before revoking one. Keys created before this revision never
expire and are not revoked.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = ("expires_at", "last_used_at", "revoked_at")


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name in COLUMNS:
            batch.add_column(sa.Column(name, sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        for name in reversed(COLUMNS):
            batch.drop_column(name)
