"""Small builders for rule tests (tests/rules only; the shared ones live in tests/factories.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rules.view import ConsentRecord, CustomerView, EventRecord

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def ago(**delta: float) -> datetime:
    """A time before NOW, e.g. ago(days=3)."""
    return NOW - timedelta(**delta)


def event(name: str, at: datetime, **properties: Any) -> EventRecord:
    return EventRecord(name=name, at=at, properties=properties)


def consent(
    purpose: str, channel: str | None, at: datetime, *, granted: bool = True
) -> ConsentRecord:
    return ConsentRecord(purpose=purpose, channel=channel, granted=granted, at=at)


def view(**fields: Any) -> CustomerView:
    return CustomerView.model_validate(fields)
