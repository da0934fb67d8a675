"""WeChat Official Account template messages (service notices only)."""

from __future__ import annotations

import hashlib

from pydantic import BaseModel, ConfigDict, Field

from activities.channels.base import ChannelName, ChannelRequest, ChannelResult
from activities.channels.wechat.calls import call_wechat, openid_and_content
from activities.channels.wechat.client import OfficialAccountClient


def short_hash(key: str) -> str:
    """A 32-character id derived from an idempotency key (WeChat caps ids at 64 bytes)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


class MiniProgram(BaseModel):
    model_config = ConfigDict(extra="forbid")

    appid: str
    pagepath: str | None = None


class TemplateContent(BaseModel):
    """The rendered ``wechat_template`` block."""

    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1)
    url: str | None = None
    miniprogram: MiniProgram | None = None
    data: dict[str, str]


class WeChatTemplateAdapter:
    """Sends ``message/template/send``; the platform's receipt event settles it."""

    name: ChannelName = "wechat_template"

    def __init__(self, client: OfficialAccountClient) -> None:
        self._client = client

    def send(self, request: ChannelRequest) -> ChannelResult:
        prepared = openid_and_content(request, TemplateContent)
        if isinstance(prepared, ChannelResult):
            return prepared
        openid, content = prepared
        body = {
            "touser": openid,
            "template_id": content.template_id,
            "data": {key: {"value": value} for key, value in content.data.items()},
            # The platform keeps one message per openid + client_msg_id for 10 minutes:
            # a retried activity (same idempotency key) cannot send twice.
            "client_msg_id": short_hash(request.idempotency_key),
        }
        if content.url:
            body["url"] = content.url
        if content.miniprogram:
            body["miniprogram"] = content.miniprogram.model_dump(exclude_none=True)
        # wechatpy's send_template has no client_msg_id: post the body ourselves.
        return call_wechat(
            self._client,
            self.name,
            lambda: self._client.post("message/template/send", data=body),
        )
