"""Rows grouped by first-touch fields, and the arithmetic every such report shares:
money in yuan from integer fen, ratios rounded to four decimals, null when the
denominator is 0."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from pydantic import BaseModel, Field

from engine.models.reports.scope import FirstTouchField

#: A group: the values of the fields grouped by, in the order asked for.
GroupKey = tuple[str, ...]

_CENT = Decimal("0.01")


def _absent(value: str | None) -> bool:
    """A field the report was not grouped by: left out of the row."""
    return value is None


def _group_field(what: str) -> Any:
    return Field(
        None,
        description=f"{what} of the first touch (present when grouped by it; "
        '"(none)" for customers without one)',
        exclude_if=_absent,
    )


class FirstTouchGroup(BaseModel):
    """The first-touch fields a row is grouped by; only the fields asked for (``by``)
    appear in a row."""

    channel: str | None = _group_field("the channel")
    activity: str | None = _group_field("the activity (campaign event, e.g. a screening)")
    doctor: str | None = _group_field("the doctor")
    staff: str | None = _group_field("the staff member")
    clinic: str | None = _group_field("the clinic")
    qrcode: str | None = _group_field("the QR or contact-me code")
    utm_source: str | None = _group_field("utm_source")
    utm_medium: str | None = _group_field("utm_medium")
    utm_campaign: str | None = _group_field("utm_campaign")
    utm_term: str | None = _group_field("utm_term")
    utm_content: str | None = _group_field("utm_content")
    content_id: str | None = _group_field("the content")


def group_fields(by: Sequence[FirstTouchField], key: GroupKey) -> dict[str, str]:
    """The row fields of a group: each field grouped by with its value."""
    return dict(zip(by, key, strict=True))


def yuan(fen: int) -> Decimal:
    """An amount in integer fen as yuan with two decimals."""
    return (Decimal(fen) / 100).quantize(_CENT)


def yuan_per(fen: int | None, count: int) -> Decimal | None:
    """``fen / count`` in yuan, rounded half up to two decimals; null when ``count`` is 0
    or there is no amount."""
    if fen is None or count == 0:
        return None
    return (Decimal(fen) / count / 100).quantize(_CENT, rounding=ROUND_HALF_UP)


def ratio(part: int, whole: int | None) -> float | None:
    """``part / whole`` to four decimals; null when ``whole`` is 0 or unknown."""
    if not whole:
        return None
    return round(part / whole, 4)
