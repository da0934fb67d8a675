"""Tencent Cloud SMS status reports (短信下发状态回调), read into receipts.

Tencent posts a JSON array of status reports keyed by ``sid`` (the SerialNo that
``SendSms`` returned); each becomes a ``Receipt`` matched to its delivery.
"""

from __future__ import annotations

import json
from typing import Any

from engine.errors import CarepathError
from engine.intake.callbacks import Receipt


def sms_receipts(body: bytes) -> list[Receipt]:
    """Receipts in one Tencent Cloud SMS status callback (a JSON array)."""
    try:
        reports: Any = json.loads(body)
    except ValueError as exc:
        raise CarepathError("SMS status callback is not JSON") from exc
    if isinstance(reports, dict):
        reports = [reports]
    out = []
    for report in reports if isinstance(reports, list) else []:
        sid = str(report.get("sid", ""))
        status = str(report.get("report_status", "")).upper()
        ok = status == "SUCCESS"
        detail = "" if ok else f"{report.get('errmsg', '')} {report.get('description', '')}".strip()
        # Tencent retries a report it thinks was not taken: one per message and status.
        key = f"sms:{sid}:{status}"
        out.append(Receipt(sid, "sms", ok, detail or ("" if ok else "FAIL"), key))
    return out
