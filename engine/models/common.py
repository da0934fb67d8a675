"""Pieces every workspace model shares."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

ChannelName = Literal["wechat_template", "wechat_subscribe", "wechat_text", "wecom", "sms", "phone"]
CHANNELS: tuple[ChannelName, ...] = (
    "wechat_template",
    "wechat_subscribe",
    "wechat_text",
    "wecom",
    "sms",
    "phone",
)
Purpose = Literal["service", "marketing"]


class Strict(BaseModel):
    """Base of every workspace model: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
