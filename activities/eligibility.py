"""Eligibility of one channel for one customer and message, checked before any call.

Each check returns a recorded reason: ``skip`` (pass over this channel) or ``defer``
(marketing inside quiet hours: try again when the window ends, never drop).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.clock import in_local_window
from engine.models.common import ChannelName
from engine.models.journey import QuietHours
from engine.models.message import Message
from engine.store import Customer
from rules.durations import parse_time_of_day
from rules.evaluate import evaluate
from rules.models import ConsentRule

DEFAULT_QUIET_HOURS = QuietHours(start="21:00", end="08:00")

_IDENTITY: dict[ChannelName, tuple[str, ...]] = {
    "wechat_template": ("wechat_openid",),
    "wechat_subscribe": ("wechat_openid",),
    "wechat_text": ("wechat_openid",),
    "wecom": ("wecom_external_userid",),
    "sms": ("phone",),
    "phone": ("phone",),
}


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "skipped" | "deferred"
    reason: str
    retry_at: datetime | None = None


def identity(customer: Customer, name: str) -> str | None:
    """An identity of the customer; phone may also sit among the attributes."""
    value = customer.identities.get(name)
    if value is None and name == "phone":
        raw = customer.attributes.get("phone")
        value = str(raw) if raw else None
    return value


def check(
    channel: ChannelName,
    message: Message,
    customer: Customer,
    now: datetime,
    timezone: str,
    quiet_hours: QuietHours | None,
) -> Verdict | None:
    """None when the channel may be tried now, else why not."""
    for needed in _IDENTITY[channel]:
        if not identity(customer, needed):
            return Verdict("skipped", f"no {needed}")
    if channel.startswith("wechat_") and not customer.follows_wechat:
        return Verdict("skipped", "does not follow the Official Account")
    if message.purpose == "marketing":
        rule = ConsentRule.model_validate({"consent": {"purpose": "marketing", "channel": channel}})
        if not evaluate(rule, customer.view(), now=now):
            return Verdict("skipped", f"no marketing consent for {channel}")
        window = quiet_hours or DEFAULT_QUIET_HOURS
        ends = in_local_window(
            now, timezone, parse_time_of_day(window.start), parse_time_of_day(window.end)
        )
        if ends is not None and channel != "phone":
            local = ends.astimezone(now.tzinfo)
            return Verdict("deferred", f"quiet hours until {window.end}", retry_at=local)
    return None
