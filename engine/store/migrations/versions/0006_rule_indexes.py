"""Indexes for compiled rule queries, and ``carepath_instant`` on PostgreSQL.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

``rules.sql`` compiles segment rules to SQL. Probes for one customer use the existing
``events (customer_id, name, at)`` and ``tags`` primary key; population counts scan by
event name and by tag, and consent rules look up one purpose of one customer.

``carepath_instant(text)`` reads ISO date/time text as :func:`rules.match.as_instant`
does (naive means UTC; anything else, such as 2024-02-30 or 24:00, is NULL). It is
immutable: its answer does not depend on the session's time zone. SQLite gets the same
function from ``rules.sql.sqlite`` on each connection.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INSTANT_FUNCTION = r"""
CREATE OR REPLACE FUNCTION carepath_instant(value text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    m text[];
    local_time timestamp;
    offset_minutes integer := 0;
BEGIN
    m := regexp_match(
        value,
        '^([0-9]{4})-([0-9]{2})-([0-9]{2})'
        '(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(\.[0-9]{1,6})?)?'
        '(Z|([+-])([0-9]{2}):([0-9]{2}))?)?$'
    );
    IF m IS NULL OR m[1]::integer < 1 OR coalesce(m[4]::integer, 0) > 23
            OR coalesce(m[5]::integer, 0) > 59 OR coalesce(m[6]::integer, 0) > 59 THEN
        RETURN NULL;
    END IF;
    IF m[9] IS NOT NULL THEN
        offset_minutes := m[10]::integer * 60 + m[11]::integer;
        IF offset_minutes >= 1440 THEN
            RETURN NULL;
        END IF;
        IF m[9] = '-' THEN
            offset_minutes := -offset_minutes;
        END IF;
    END IF;
    -- An impossible date (2024-02-30) is refused here rather than caught as an error:
    -- an exception block would need a subtransaction, which parallel plans refuse.
    -- (Nested: SQL does not promise to evaluate OR from left to right.)
    IF m[2]::integer NOT BETWEEN 1 AND 12 OR m[3]::integer < 1 THEN
        RETURN NULL;
    END IF;
    IF m[3]::integer > extract(
            day FROM make_date(m[1]::integer, m[2]::integer, 1) + interval '1 month - 1 day') THEN
        RETURN NULL;
    END IF;
    local_time := make_timestamp(
        m[1]::integer, m[2]::integer, m[3]::integer,
        coalesce(m[4]::integer, 0), coalesce(m[5]::integer, 0),
        (coalesce(m[6], '0') || coalesce(m[7], ''))::double precision
    );
    RETURN (local_time - make_interval(mins => offset_minutes)) AT TIME ZONE 'UTC';
END
$$
"""

INDEXES = (
    ("ix_events_name_customer_id_at", "events", ["name", "customer_id", "at"]),
    ("ix_tags_tag_customer_id", "tags", ["tag", "customer_id"]),
    (
        "ix_consents_customer_id_purpose_channel_at",
        "consents",
        ["customer_id", "purpose", "channel", "at"],
    ),
)


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(INSTANT_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS carepath_instant(text)")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
