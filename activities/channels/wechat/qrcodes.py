"""Parameterized Official Account QR codes (``qrcode/create``) through wechatpy.

Blocking (call from a thread). A refused token (40001/40014/42001) is replaced once
and the call made once more, as the channel adapters do; any other refusal, a non-2xx
answer or a network failure raises ``ProviderError`` naming what the platform said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wechatpy.client.api.qrcode import WeChatQRCode

from activities.channels.calls import call_or_raise
from activities.channels.wechat.calls import refreshes_token
from activities.channels.wechat.client import OfficialAccountClient
from engine.errors import ProviderError

__all__ = ["QrTicket", "create_wechat_qrcode"]

#: WeChat's longest temporary QR code: 30 days.
MAX_EXPIRE_SECONDS = 2_592_000
#: What to check when the platform refuses a QR code with these errcodes.
_HINTS = {
    40013: "check CAREPATH_CHANNELS__WECHAT__APP_ID (or WECOM__CORP_ID)",
    40125: "check CAREPATH_CHANNELS__WECHAT__APP_SECRET",
    48001: "the account lacks this API: parameterized QR codes need a verified service account",
}


@dataclass(frozen=True)
class QrTicket:
    """A created WeChat QR code: its ticket, lifetime (None: permanent) and URLs."""

    ticket: str
    expire_seconds: int | None
    url: str  # what the code encodes (http://weixin.qq.com/q/...)
    image_url: str  # the picture: showqrcode?ticket=...


def create_wechat_qrcode(
    client: OfficialAccountClient, scene: str, *, expire_seconds: int | None
) -> QrTicket:
    """A ``QR_STR_SCENE`` code lasting ``expire_seconds`` (at most 30 days), or with
    None a permanent ``QR_LIMIT_STR_SCENE`` one (the account may hold 100,000)."""
    data: dict[str, Any] = {"action_info": {"scene": {"scene_str": scene}}}
    if expire_seconds is None:
        data["action_name"] = "QR_LIMIT_STR_SCENE"
    else:
        data["action_name"] = "QR_STR_SCENE"
        data["expire_seconds"] = expire_seconds

    def token_then_create() -> Any:
        client.access_token  # noqa: B018 - a token failure here raises like the call's
        return client.qrcode.create(data)

    answer = call_or_raise(
        client, "WeChat", "qrcode/create", token_then_create, refused=refreshes_token, hints=_HINTS
    )
    ticket = str(answer.get("ticket") or "")
    if not ticket:
        raise ProviderError("WeChat's qrcode/create answer has no ticket")
    seconds = answer.get("expire_seconds")
    return QrTicket(
        ticket=ticket,
        expire_seconds=int(seconds) if seconds is not None else None,
        url=str(answer.get("url") or ""),
        image_url=WeChatQRCode.get_url(ticket),
    )
