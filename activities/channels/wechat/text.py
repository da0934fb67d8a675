"""WeChat customer-service text messages (only inside the 48-hour window).

The platform has no duplicate guard for these: the adapter never retries a call
whose outcome is unknown, and the caller must not either.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from activities.channels.base import ChannelName, ChannelRequest, ChannelResult, Outcome
from activities.channels.wechat.calls import call_wechat, openid_and_content
from activities.channels.wechat.client import OfficialAccountClient


class TextContent(BaseModel):
    """The rendered ``wechat_text`` block: a text or a picture."""

    model_config = ConfigDict(extra="forbid")

    text: str | None = Field(None, min_length=1)
    image_media_id: str | None = Field(None, min_length=1)


class WeChatTextAdapter:
    """Sends ``message/custom/send``; errcode 0 means the customer has it."""

    name: ChannelName = "wechat_text"

    def __init__(self, client: OfficialAccountClient) -> None:
        self._client = client

    def send(self, request: ChannelRequest) -> ChannelResult:
        prepared = openid_and_content(request, TextContent)
        if isinstance(prepared, ChannelResult):
            return prepared
        openid, content = prepared
        if content.image_media_id:
            media_id = content.image_media_id
            return call_wechat(
                self._client,
                self.name,
                lambda: self._client.message.send_image(openid, media_id),
            )
        if not content.text:
            return ChannelResult(outcome=Outcome.CONFIG, detail="wechat_text has no text")
        text = content.text
        return call_wechat(
            self._client, self.name, lambda: self._client.message.send_text(openid, text)
        )
