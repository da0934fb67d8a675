"""Delivery receipts as the platforms push them, read into one shape.

WeChat posts XML events (``TEMPLATESENDJOBFINISH`` for template messages,
``subscribe_msg_sent_event`` for subscribe messages, read in ``engine.wechat_events``)
signed with the callback token; Tencent Cloud SMS posts a JSON array of status reports
keyed by ``sid`` (the SerialNo SendSms returned). Each becomes a ``Receipt`` matched to
its delivery by the provider's reference.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from wechatpy.utils import check_signature

from engine.errors import CarepathError
from engine.models.common import ChannelName


class ForgedCallback(CarepathError):
    """Raised when a callback's signature does not match the configured token."""


class CallbackNotConfigured(CarepathError):
    """Raised when a callback cannot be read with the settings given (an encrypted
    WeChat callback without ``aes_key``, a WeCom callback without ``token`` and
    ``aes_key``); the message names the settings to set."""


@dataclass(frozen=True)
class Receipt:
    provider_ref: str
    channel: ChannelName
    delivered: bool
    detail: str
    dedupe_key: str


def verify_wechat(token: str, signature: str | None, timestamp: str, nonce: str) -> None:
    """Raise ForgedCallback unless the query's signature was made with our token."""
    try:
        check_signature(token, signature or "", timestamp, nonce)
    except Exception as exc:  # wechatpy raises InvalidSignatureException
        raise ForgedCallback("WeChat callback signature does not match the token") from exc


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
