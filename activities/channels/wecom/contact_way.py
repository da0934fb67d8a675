"""WeCom contact-me codes (``externalcontact/add_contact_way``) through wechatpy.

Blocking (call from a thread). A refused token (40001/40014/42001: WeCom answers in the
WeChat errcode scheme) is replaced once and the call made once more, as the channel
adapters do; any other refusal, a non-2xx answer or a network failure raises
``ProviderError`` naming what the platform said.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from activities.channels.calls import call_or_raise
from activities.channels.wechat.calls import refreshes_token
from activities.channels.wecom.client import WeComClient
from engine.errors import ProviderError

__all__ = ["ContactWay", "create_contact_way"]

#: What to check when WeCom refuses a contact-me code with these errcodes.
_HINTS = {
    40013: "check CAREPATH_CHANNELS__WECHAT__APP_ID (or WECOM__CORP_ID)",
    60011: "the WeCom app lacks the customer-contact permission for these staff members",
}


@dataclass(frozen=True)
class ContactWay:
    """A created WeCom contact-me code."""

    config_id: str
    qr_code: str  # the picture's URL


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

    answer = call_or_raise(
        client, "WeCom", "add_contact_way", token_then_create, refused=refreshes_token, hints=_HINTS
    )
    config_id = str(answer.get("config_id") or "")
    if not config_id:
        raise ProviderError("WeCom's add_contact_way answer has no config_id")
    return ContactWay(config_id=config_id, qr_code=str(answer.get("qr_code") or ""))
