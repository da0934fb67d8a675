"""Pieces every workspace model shares."""

from __future__ import annotations

from typing import Any, Literal

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


def kind_by_key(keys: tuple[str, ...], value: Any) -> str | None:
    """The one key of ``keys`` a mapping (YAML) or model (Python) carries, else None.

    Used as the discriminator of unions told apart by which key is present: steps by
    their kind, triggers by what starts them.
    """
    if isinstance(value, dict):
        found = [k for k in keys if k in value]
        return found[0] if len(found) == 1 else None
    if isinstance(value, BaseModel):
        for key in keys:
            if key in type(value).model_fields:
                return key
    return None


class Strict(BaseModel):
    """Base of every workspace model: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
