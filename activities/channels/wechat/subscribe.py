"""WeChat Official Account subscribe messages (``message/subscribe/bizsend``).

Eligibility (a consent balance for the template) is checked by the engine before
sending; the platform still answers 43101 when no balance is left.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from activities.channels.base import ChannelName, ChannelRequest, ChannelResult
from activities.channels.wechat.calls import call_wechat, openid_and_content
from activities.channels.wechat.client import OfficialAccountClient


class SubscribeContent(BaseModel):
    """The rendered ``wechat_subscribe`` block."""

    model_config = ConfigDict(extra="forbid")

    template_id: str = Field(min_length=1)
    page: str | None = None
    data: dict[str, str]


class WeChatSubscribeAdapter:
    """Sends one subscribe message; ``subscribe_msg_sent_event`` settles it."""

    name: ChannelName = "wechat_subscribe"

    def __init__(self, client: OfficialAccountClient) -> None:
        self._client = client

    def send(self, request: ChannelRequest) -> ChannelResult:
        prepared = openid_and_content(request, SubscribeContent)
        if isinstance(prepared, ChannelResult):
            return prepared
        openid, content = prepared
        data = {key: {"value": value} for key, value in content.data.items()}
        return call_wechat(
            self._client,
            self.name,
            lambda: self._client.message.send_subscribe_message(
                openid, content.template_id, data, page=content.page
            ),
        )
