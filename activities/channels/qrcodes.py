"""Creating parameterized codes through wechatpy: Official Account QR codes
(``qrcode/create``) and WeCom contact-me codes (``externalcontact/add_contact_way``).

Blocking (call from a thread). A refused token (40001/40014/42001) is replaced once
and the call made once more, as the channel adapters do; any other refusal, a non-2xx
answer or a network failure raises ``ProviderError`` naming what the platform said.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
from wechatpy.client.api.qrcode import WeChatQRCode
from wechatpy.exceptions import WeChatClientException

from activities.channels.clients import OfficialAccountClient, WeComClient
from engine.errors import ProviderError

__all__ = ["ContactWay", "QrTicket", "create_contact_way", "create_wechat_qrcode"]

#: WeChat's longest temporary QR code: 30 days.
MAX_EXPIRE_SECONDS = 2_592_000
_TOKEN_ERRCODES = frozenset({40001, 40014, 42001})
_HINTS = {
    40013: "check CAREPATH_CHANNELS__WECHAT__APP_ID (or WECOM__CORP_ID)",
    40125: "check CAREPATH_CHANNELS__WECHAT__APP_SECRET",
    48001: "the account lacks this API: parameterized QR codes need a verified service account",
    60011: "the WeCom app lacks the customer-contact permission for these staff members",
}


@dataclass(frozen=True)
class QrTicket:
    """A created WeChat QR code: its ticket, lifetime (None: permanent) and URLs."""

    ticket: str
    expire_seconds: int | None
    url: str  # what the code encodes (http://weixin.qq.com/q/...)
    image_url: str  # the picture: showqrcode?ticket=...


@dataclass(frozen=True)
class ContactWay:
    """A created WeCom contact-me code."""

    config_id: str
    qr_code: str  # the picture's URL


def _call(client: Any, provider: str, what: str, call: Callable[[], Any]) -> dict[str, Any]:
    refreshed = False
    while True:
        try:
            answer = call()
        except WeChatClientException as exc:
            if exc.errcode is None:
                status = getattr(exc.response, "status_code", None)
                raise ProviderError(f"{provider} answered HTTP {status} to {what}") from exc
            code = int(exc.errcode)
            if code in _TOKEN_ERRCODES and not refreshed:
                refreshed = True
                try:
                    client.refresh_token()
                except (WeChatClientException, requests.RequestException) as token_exc:
                    raise ProviderError(
                        f"{provider} refused the access token for {what}: {token_exc}"
                    ) from token_exc
                continue
            hint = f" ({_HINTS[code]})" if code in _HINTS else ""
            raise ProviderError(
                f"{provider} refused {what}: {code} {exc.errmsg}{hint}", errcode=code
            ) from exc
        except requests.RequestException as exc:
            raise ProviderError(f"{provider} could not be reached for {what}: {exc}") from exc
        if not isinstance(answer, dict):
            raise ProviderError(f"{provider} gave an unreadable answer to {what}")
        return answer


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

    answer = _call(client, "WeChat", "qrcode/create", token_then_create)
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


def create_contact_way(
    client: WeComClient,
    state: str,
    staff: list[str],
    *,
    remark: str | None = None,
    skip_verify: bool = True,
) -> ContactWay:
    """A contact-me QR code of one staff member (type 1) or several (type 2)."""

    def token_then_create() -> Any:
        client.access_token  # noqa: B018 - a token failure here raises like the call's
        return client.external_contact.add_contact_way(
            type=1 if len(staff) == 1 else 2,
            scene=2,  # a QR code (1 would be a mini-program button)
            remark=remark,
            skip_verify=skip_verify,
            state=state,
            user=staff,
        )

    answer = _call(client, "WeCom", "add_contact_way", token_then_create)
    config_id = str(answer.get("config_id") or "")
    if not config_id:
        raise ProviderError("WeCom's add_contact_way answer has no config_id")
    return ContactWay(config_id=config_id, qr_code=str(answer.get("qr_code") or ""))
