"""The clinics the store knows of: named by QR codes, handoff tasks, cost rows, console
users and API keys, each once, sorted; without reading the customers."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from engine.models.attribution import QrCodeRecord
from engine.models.events import Cost
from engine.store.records import HandoffTask
from engine.store.sql import SqlStore

pytestmark = pytest.mark.db

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def test_every_clinic_named_anywhere_once_and_sorted(sql_store: SqlStore) -> None:
    assert sql_store.known_clinics() == []
    sql_store.create_qrcode(
        QrCodeRecord(id="q1", kind="wechat", scene="s1", clinic="c03", created_at=NOW)
    )
    sql_store.create_qrcode(QrCodeRecord(id="q2", kind="wechat", scene="s2", created_at=NOW))
    sql_store.create_task(
        HandoffTask(
            id="t1",
            enrollment_id="e1",
            customer_id="x",
            journey_id="j",
            step="call",
            queue="desk",
            clinic="c07",
            created_at=NOW,
            due_at=NOW + timedelta(hours=1),
        )
    )
    sql_store.put_costs(
        [
            Cost(date=date(2026, 3, 1), amount=Decimal("10.00"), clinic_id="c01"),
            Cost(date=date(2026, 3, 1), amount=Decimal("5.00"), channel="baidu"),
        ],
        source="test",
        at=NOW,
    )
    sql_store.create_user("desk", "a-long-password-1", "staff", ["c07", "c09"], by="test")
    sql_store.create_api_key("k", ["staff"], ["c11"], at=NOW)

    assert sql_store.known_clinics() == ["c01", "c03", "c07", "c09", "c11"]
