"""Channel schemas: each channel's circuits and quota window, and an operator's reset."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: The channels a provider answers for (a phone step is a handoff: it has no circuit).
ProviderChannel = Literal["wechat_template", "wechat_subscribe", "wechat_text", "wecom", "sms"]
CircuitStateName = Literal["closed", "open"]


class CircuitPublic(BaseModel):
    """A circuit opened by a configuration error: of one template, or of the channel."""

    template: str | None = Field(
        description="the template it stops (a template id, or message:<id> for content "
        "without one); null: the whole channel (credentials, account)"
    )
    state: CircuitStateName = Field(description="open: sends it covers are skipped")
    since: datetime = Field(description="when it opened")
    error: str = Field(description="the provider's answer that opened it")
    closed_at: datetime | None = Field(description="when it closed; null while open")
    closed_by: str | None = Field(
        description="who closed it: api:<key name> (a reset), deploy (its template's "
        "content changed) or settings (the workers run with other channel settings)"
    )


class QuotaWindowPublic(BaseModel):
    """The channel's last quota window: nothing is sent on it before ``until``."""

    state: CircuitStateName = Field(description="open until ``until``, closed after")
    until: datetime = Field(description="when it ends (or ended)")
    since: datetime = Field(description="when it opened")
    error: str = Field(description="the provider's answer that opened it")


class ChannelPublic(BaseModel):
    """One channel: its own circuit, its templates' circuits, its quota window."""

    channel: ProviderChannel = Field(description="the channel")
    state: CircuitStateName = Field(
        description="open when the channel's own circuit is open (every send skipped)"
    )
    since: datetime | None = Field(description="when the channel's own circuit opened")
    error: str | None = Field(description="the answer that opened the channel's own circuit")
    circuits: list[CircuitPublic] = Field(
        description="every circuit of the channel and its templates, open ones first"
    )
    quota: QuotaWindowPublic | None = Field(description="the last quota window, if any")


class ChannelsPage(BaseModel):
    """Every provider channel."""

    channels: list[ChannelPublic] = Field(description="one per provider channel")


class ChannelReset(BaseModel):
    """What to reset: one template's circuit, or (without ``template``) every circuit of
    the channel and its quota window."""

    model_config = ConfigDict(extra="forbid")

    template: str | None = Field(
        None, min_length=1, max_length=255, description="the template whose circuit to close"
    )


class ChannelResetDone(BaseModel):
    """The circuits a reset closed (the next send on them is the probe)."""

    channel: ProviderChannel = Field(description="the channel")
    closed: list[CircuitPublic] = Field(description="circuits closed by this reset")
    quota_reset: bool = Field(description="whether an open quota window was ended too")
