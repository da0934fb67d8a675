"""Attribution: parameterized QR codes and contact-me codes, and every touch.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

``qr_codes`` holds the WeChat QR codes (``scene_str``) and WeCom contact-me codes
(``state``) carepath created, with the channel, activity, clinic and doctor each one
attributes, so a scan's scene or a contact's state maps back to them. ``touches``
holds every attributable touch of a customer (QR scan, follow, contact added, page
visit with UTM fields); ``first`` marks the one that became the customer's first touch
(``customers.source``). First touches set before this revision are copied into
``touches`` so the source report counts them too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def _time() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "qr_codes",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("name", sa.String(255), nullable=True),
        sa.Column("scene", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("activity", sa.String(128), nullable=True),
        sa.Column("clinic", sa.String(128), nullable=True),
        sa.Column("doctor", sa.String(128), nullable=True),
        sa.Column("permanent", sa.Boolean(), nullable=False),
        sa.Column("expires_at", _time(), nullable=True),
        sa.Column("ticket", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("config_id", sa.String(64), nullable=True),
        sa.Column("staff", _json(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
    )
    op.create_index("ix_qr_codes_kind_scene", "qr_codes", ["kind", "scene"])
    op.create_table(
        "touches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("message_id", sa.String(255), nullable=True),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("activity", sa.String(128), nullable=True),
        sa.Column("clinic", sa.String(128), nullable=True),
        sa.Column("doctor", sa.String(128), nullable=True),
        sa.Column("scene", sa.String(64), nullable=True),
        sa.Column("code_id", sa.String(32), nullable=True),
        sa.Column("fields", _json(), nullable=False),
        sa.Column("first", sa.Boolean(), nullable=False),
        sa.Column("at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_touches"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_touches_customer_id_customers"
        ),
        sa.UniqueConstraint("message_id", name="uq_touches_message_id"),
    )
    op.create_index("ix_touches_customer_id_at", "touches", ["customer_id", "at"])
    op.create_index("ix_touches_first_channel", "touches", ["first", "channel"])
    op.create_index("ix_touches_code_id", "touches", ["code_id"])
    _copy_first_touches()


def _copy_first_touches() -> None:
    """A touch row (``first``) for each customer whose first touch is already set."""
    customers = sa.table(
        "customers",
        sa.column("id", sa.String()),
        sa.column("source", _json()),
        sa.column("merged_into", sa.String()),
        sa.column("created_at", _time()),
    )
    touches = sa.table(
        "touches",
        *(sa.column(c, sa.String()) for c in ("customer_id", "kind", "channel", "scene")),
        *(sa.column(c, sa.String()) for c in ("activity", "clinic", "doctor")),
        sa.column("fields", _json()),
        sa.column("first", sa.Boolean()),
        sa.column("at", _time()),
    )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(customers.c.id, customers.c.source, customers.c.created_at).where(
            customers.c.merged_into.is_(None)
        )
    )
    copied = []
    for customer_id, source, created_at in rows:
        if not source:
            continue
        fields = {k: v for k, v in source.items() if k != "at"}
        at = _when(source.get("at")) or created_at or datetime.now(UTC)
        copied.append(
            {
                "customer_id": customer_id,
                "kind": "imported",
                "channel": _text(fields.get("channel"), 64),
                "activity": _text(fields.get("activity"), 128),
                "clinic": _text(fields.get("clinic"), 128),
                "doctor": _text(fields.get("doctor"), 128),
                "scene": _text(fields.get("scene") or fields.get("state"), 64),
                "fields": fields,
                "first": True,
                "at": at,
            }
        )
    if copied:
        bind.execute(touches.insert(), copied)


def _text(value: Any, length: int) -> str | None:
    return None if value is None else str(value)[:length]


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def downgrade() -> None:
    op.drop_index("ix_touches_code_id", table_name="touches")
    op.drop_index("ix_touches_first_channel", table_name="touches")
    op.drop_index("ix_touches_customer_id_at", table_name="touches")
    op.drop_table("touches")
    op.drop_index("ix_qr_codes_kind_scene", table_name="qr_codes")
    op.drop_table("qr_codes")
