"""What every channel adapter takes and returns.

An adapter turns one rendered message into one provider call through the real SDK
and classifies what came back. It never retries a call whose outcome is unknown:
the caller decides, from the outcome, whether anything may be tried again.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from engine.models.common import CHANNELS, ChannelName

__all__ = [
    "CHANNELS",
    "ChannelName",
    "ChannelRequest",
    "ChannelResult",
    "Effect",
    "Outcome",
    "Recipient",
]


class Outcome(StrEnum):
    """How one channel attempt ended (the trace's ``attempt.outcome``)."""

    DELIVERED = "delivered"  # the provider says the customer has it
    ACCEPTED = "accepted"  # taken by the provider; a receipt follows
    TRANSIENT = "transient"  # try again later with backoff; nothing was sent
    RECIPIENT = "recipient"  # this customer cannot get it on this channel: fall back
    CONFIG = "config"  # our setup is wrong: fall back and alert
    QUOTA = "quota"  # channel exhausted for now: fall back
    UNKNOWN = "unknown"  # may or may not have been sent: never resend blindly
    SKIPPED = "skipped"  # not eligible: not called
    DEFERRED = "deferred"  # not now (quiet hours): try again later


class Effect(StrEnum):
    """What a provider's answer says about the customer or the channel, beyond this
    attempt; the send activity records it (``activities.journey``)."""

    NOT_FOLLOWING = "not_following"  # 40003 / 43004: mark the customer as not following
    SUBSCRIBE_SPENT = "subscribe_spent"  # 43101: no subscribe balance for the template
    SMS_OPT_OUT = "sms_opt_out"  # on the SMS blacklist: marketing consent withdrawn
    CIRCUIT_TODAY = "circuit_today"  # daily quota: stop calling until the next day
    CIRCUIT = "circuit"  # stop calling for ``circuit_seconds``
    # Our configuration is wrong: stop sending into the same error until an operator
    # resets the circuit or a deploy changes what opened it (activities.channel_state).
    TEMPLATE_BROKEN = "template_broken"  # the message's template or its content, on this channel
    CHANNEL_BROKEN = "channel_broken"  # our credentials or account: the whole channel


class Recipient(BaseModel):
    """The identities a channel may address."""

    model_config = ConfigDict(extra="forbid")

    customer_id: str
    phone: str | None = None
    wechat_openid: str | None = None
    wechat_unionid: str | None = None
    wecom_external_userid: str | None = None
    wecom_owner_userid: str | None = Field(None, description="staff member who owns the contact")


class ChannelRequest(BaseModel):
    """One rendered message for one channel."""

    model_config = ConfigDict(extra="forbid")

    channel: ChannelName
    idempotency_key: str = Field(description="enrollment:step:channel:attempt; same key, same send")
    recipient: Recipient
    content: dict[str, Any] = Field(description="the channel's rendered content block")


class ChannelResult(BaseModel):
    """What came of one provider call."""

    outcome: Outcome
    detail: str = Field("", description="provider code and text, e.g. '43004 require subscribe'")
    provider_ref: str | None = Field(None, description="msgid / SerialNo / msgid of the WeCom task")
    retry_after_seconds: float | None = None
    effect: Effect | None = None
    circuit_seconds: float | None = None


class ChannelAdapter(Protocol):
    """One channel: send one request, classify the answer."""

    name: ChannelName

    def send(self, request: ChannelRequest) -> ChannelResult: ...
