"""Costs from ad platforms: one row per day and dimensions, replaced when sent again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.sql.tables.base import Base

#: A dimension's column width; engine.models.events.DIMENSION_MAX is what is accepted.
DIMENSION_COLUMN = 100


class CostRow(Base):
    """A day's spend on the dimensions it names ("" for an unnamed dimension, so the
    unique key treats two rows that leave it out as the same row on both databases)."""

    __tablename__ = "costs"
    __table_args__ = (
        UniqueConstraint(
            "date",
            "utm_source",
            "utm_medium",
            "utm_campaign",
            "utm_term",
            "utm_content",
            "channel",
            "activity",
            "clinic_id",
            # Named here: the convention's name would pass PostgreSQL's 63 characters.
            name="uq_costs_date_dimensions",
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    date: Mapped[dt.date] = mapped_column(Date)
    utm_source: Mapped[str] = mapped_column(String(DIMENSION_COLUMN))
    utm_medium: Mapped[str] = mapped_column(String(DIMENSION_COLUMN))
    utm_campaign: Mapped[str] = mapped_column(String(DIMENSION_COLUMN))
    utm_term: Mapped[str] = mapped_column(String(DIMENSION_COLUMN))
    utm_content: Mapped[str] = mapped_column(String(DIMENSION_COLUMN))
    channel: Mapped[str] = mapped_column(String(DIMENSION_COLUMN))
    activity: Mapped[str] = mapped_column(String(DIMENSION_COLUMN))
    clinic_id: Mapped[str] = mapped_column(String(DIMENSION_COLUMN))
    # Integer fen (0.01 yuan): exact on both databases, summed without rounding.
    amount_fen: Mapped[int] = mapped_column(BigInteger)
    impressions: Mapped[int | None] = mapped_column(BigInteger)
    clicks: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime]
    updated_by: Mapped[str] = mapped_column(String(255))
