"""What each channel did in a range (contract section 3, ``/v1/reports/channels``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

#: Why a channel was not tried, as the report lists them (every one, 0 when none):
#: ``quiet_hours`` is a deferral (the channel is tried again later), ``other`` a skip
#: whose stored detail names no known reason.
SKIP_REASON_NAMES = (
    "consent",
    "subscribe_consent",
    "circuit",
    "not_following",
    "cap",
    "guardian",
    "service_window",
    "no_identity",
    "quiet_hours",
    "other",
)


class ChannelRow(BaseModel):
    """One channel, as stored (``wechat_template``, ``sms``, ``phone``, ...): its tries
    made in the range and what came of them, and the customers who withdrew consent."""

    channel: str = Field(
        description="the channel; (none) for consent withdrawals that name no channel"
    )
    attempted: int = Field(
        0, description="tries past the eligibility checks (provider calls, phone tasks)"
    )
    delivered: int = Field(0, description="of them, delivered at once or by a later receipt")
    failed: int = Field(
        0,
        description="of them, refused by the provider or for the customer, errored, failed "
        "by a receipt, or without a receipt in time",
    )
    skipped: dict[str, int] = Field(
        default_factory=lambda: dict.fromkeys(SKIP_REASON_NAMES, 0),
        description="tries not made, by reason: consent, subscribe_consent, circuit, "
        "not_following, cap, guardian, service_window, no_identity, quiet_hours (a "
        "deferral: the channel is tried again later), other",
    )
    fallbacks: int = Field(
        0,
        description="deliveries on this channel after an earlier channel of the same send "
        "step did not deliver",
    )
    receipts: int = Field(0, description="tries settled by a receipt (delivered or failed)")
    latency_p50_seconds: float | None = Field(
        None,
        description="median seconds from a try to the receipt that settled it (nearest "
        "rank); null without receipts",
        examples=[12.5],
    )
    latency_p90_seconds: float | None = Field(
        None,
        description="90th percentile of the same (nearest rank); null without receipts",
        examples=[95.0],
    )
    opt_outs: int = Field(
        0, description="customers who withdrew consent on this channel in the range"
    )


class ChannelsReport(BaseModel):
    """Per channel: tries, outcomes, skips, fallbacks, receipt latency and opt-outs."""

    rows: list[ChannelRow] = Field(description="one per channel with anything in the range")
