"""WeChat Official Account callbacks, checked and read into a ``Callback``.

WeChat posts XML to the callback URL for what customers do and for deliveries:

    subscribe (EventKey qrscene_X)  event wechat.subscribed {scene}, follows, first touch
    subscribe (no scene)            event wechat.subscribed, follows, first touch
    SCAN (already following)        event wechat.qr_scanned {scene}, a touch (first
                                    touch of a follower who has none)
    unsubscribe                     event wechat.unsubscribed, no longer follows
    CLICK, scancode menu entries    event wechat.menu_clicked {key}
    a message (text, image, ...)    event wechat.message_received {type, content}
    subscribe_msg_popup_event,      subscribe-message balance per template: accept
      subscribe_msg_change_event      adds one, reject (or anything else) sets zero
    TEMPLATESENDJOBFINISH,          delivery receipts for the waiting enrollments
      subscribe_msg_sent_event

The customer's events open the customer-service window (48 hours after a message, a
minute after a follow, scan or menu click). The query is signed with the callback
token; in safe mode (``encrypt_type=aes``) the body is encrypted with the
EncodingAESKey and signed as ``msg_signature``. With a key configured, safe mode is
required: a plaintext body is signed by nothing, so a captured URL could carry any.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.events import (
    BaseEvent,
    ClickEvent,
    ScanCodePushEvent,
    ScanCodeWaitMsgEvent,
    ScanEvent,
    SubscribeEvent,
    SubscribeScanEvent,
    TemplateSendJobFinishEvent,
    UnsubscribeEvent,
    register_event,
)
from wechatpy.fields import BaseField

from activities.channels.wechat.signature import verify_wechat
from engine.errors import CallbackNotConfigured, ForgedCallback
from engine.intake.callbacks import BalanceChange, Callback, Receipt
from engine.settings import WeChatSettings
from engine.store.records import Identities, NewEvent

log = logging.getLogger("carepath.callbacks")

#: Messages a customer writes (each opens the 48-hour customer-service window).
USER_MESSAGES = frozenset({"text", "image", "voice", "video", "shortvideo", "location", "link"})


# wechatpy 1.8.18 reads subscribe-message events as UnknownMessage; these are the
# classes wechatpy 2.0 has for them, registered so parse_message returns them.
class _SubscribeMsgEvent(BaseEvent):  # type: ignore[misc]  # wechatpy has no types
    @property
    def subscribes(self) -> list[dict[str, Any]]:
        """The ``List`` entries (one per template; xmltodict gives a lone one bare)."""
        items = (self.subscribes_info or {}).get("List") or []
        return [dict(i) for i in (items if isinstance(items, list) else [items])]


@register_event("subscribe_msg_popup_event")
class SubscribeMsgPopupEvent(_SubscribeMsgEvent):
    """The customer answered a subscribe-message popup (accept / reject per template)."""

    event = "subscribe_msg_popup_event"
    subscribes_info = BaseField("SubscribeMsgPopupEvent", {})


@register_event("subscribe_msg_change_event")
class SubscribeMsgChangeEvent(_SubscribeMsgEvent):
    """The customer changed a subscription in the service-notice settings."""

    event = "subscribe_msg_change_event"
    subscribes_info = BaseField("SubscribeMsgChangeEvent", {})


@register_event("subscribe_msg_sent_event")
class SubscribeMsgSentEvent(_SubscribeMsgEvent):
    """The delivery result of a subscribe message (``bizsend``)."""

    event = "subscribe_msg_sent_event"
    subscribes_info = BaseField("SubscribeMsgSentEvent", {})


def open_wechat(
    body: bytes,
    settings: WeChatSettings,
    *,
    timestamp: str,
    nonce: str,
    signature: str | None,
    encrypt_type: str | None = None,
    msg_signature: str | None = None,
) -> str:
    """The callback's XML once its signature is checked (and, in safe mode, decrypted).

    ForgedCallback when a signature does not match, or for a plaintext callback while
    an ``aes_key`` is set; CallbackNotConfigured for an encrypted callback while no
    ``aes_key`` is set.
    """
    if (encrypt_type or "raw").lower() != "aes":
        if settings.aes_key:
            # A plaintext body is not covered by the signature (only the query is): with
            # a key configured, only safe mode's signed, encrypted bodies are taken.
            raise ForgedCallback(
                "plaintext WeChat callback refused: an EncodingAESKey is set, so safe mode "
                "(encrypt_type=aes) is required; choose 安全模式 in the Official Account console"
            )
        verify_wechat(settings.token, signature, timestamp, nonce)
        return body.decode("utf-8", errors="replace")
    if not settings.aes_key:
        raise CallbackNotConfigured(
            "WeChat sent an encrypted (safe mode) callback but no EncodingAESKey is set: "
            "set CAREPATH_CHANNELS__WECHAT__AES_KEY"
        )
    crypto = WeChatCrypto(settings.token, settings.aes_key, settings.app_id)
    try:
        return str(crypto.decrypt_message(body, msg_signature or "", timestamp, nonce))
    except Exception as exc:  # InvalidSignatureException, InvalidAppIdException, bad data
        raise ForgedCallback(
            "WeChat safe-mode callback does not decrypt with our token, key and app id"
        ) from exc


#: The channels of the Official Account an opt-out message withdraws marketing from.
WECHAT_CHANNELS = ("wechat_template", "wechat_subscribe", "wechat_text")


def read_wechat(
    xml: str, *, now: datetime, is_opt_out: Callable[[str], bool] = lambda _: False
) -> Callback | None:
    """What the callback asks of carepath; None when nothing (or unreadable: logged)."""
    try:
        message = parse_message(xml)
    except Exception:  # not the platform's XML: a retry would not read better
        log.warning("unreadable WeChat callback (%d characters)", len(xml), exc_info=True)
        return None
    if message is None:
        return None
    openid = str(message.source or "")
    created = int(message.time or 0)
    at = datetime.fromtimestamp(created, UTC) if created else now
    customer = Identities(wechat_openid=openid) if openid else None
    base = f"wechat:{openid}:{created}"

    def event(name: str, key: str, /, **properties: Any) -> Callback:
        return Callback(
            key=key,
            customer=customer,
            event=NewEvent(message_id=key, name=name, properties=properties, at=at),
        )

    if message.type != "event":
        if message.type not in USER_MESSAGES or customer is None:
            return None
        key = f"wechat:msg:{message.id}" if message.id else f"{base}:{message.type}"
        text = {"content": str(message.content or "")} if message.type == "text" else {}
        received = event("wechat.message_received", key, type=message.type, **text)
        if text and is_opt_out(text["content"]):
            return replace(received, opt_out=WECHAT_CHANNELS)
        return received
    if customer is None:
        return None
    if isinstance(message, SubscribeScanEvent):
        scene = str(message.scene_id or "")  # wechatpy removed the qrscene_ prefix
        found = event("wechat.subscribed", f"{base}:subscribe:{scene}", scene=scene)
        first = {"channel": "wechat_qr", "scene": scene}
        return replace(found, follows_wechat=True, first_touch=first, touch="follow")
    if isinstance(message, SubscribeEvent):
        found = event("wechat.subscribed", f"{base}:subscribe")
        first = {"channel": "wechat_follow"}
        return replace(found, follows_wechat=True, first_touch=first, touch="follow")
    if isinstance(message, ScanEvent):
        scene = str(message.scene_id or "")
        found = event("wechat.qr_scanned", f"{base}:scan:{scene}", scene=scene)
        # A touch; the first touch too of a follower who has none yet (followed before
        # carepath was connected).
        first = {"channel": "wechat_qr", "scene": scene}
        return replace(found, follows_wechat=True, first_touch=first, touch="qr_scan")
    if isinstance(message, UnsubscribeEvent):
        return replace(event("wechat.unsubscribed", f"{base}:unsubscribe"), follows_wechat=False)
    if isinstance(message, ClickEvent | ScanCodePushEvent | ScanCodeWaitMsgEvent):
        menu = str(message.key or "")
        return event("wechat.menu_clicked", f"{base}:{message.event}:{menu}", key=menu)
    if isinstance(message, SubscribeMsgPopupEvent | SubscribeMsgChangeEvent):
        balances = tuple(_balance(item) for item in message.subscribes if item.get("TemplateId"))
        return Callback(key=f"{base}:{message.event}", customer=customer, balances=balances)
    if isinstance(message, TemplateSendJobFinishEvent):
        ref, status = str(message.id or ""), str(message.status or "").strip()
        key = f"{base}:templatesendjobfinish:{ref}"
        ok = status == "success"
        receipt = Receipt(ref, "wechat_template", ok, "" if ok else status, key)
        return Callback(key=key, receipts=(receipt,))
    if isinstance(message, SubscribeMsgSentEvent):
        receipts = tuple(_sent(item, base) for item in message.subscribes)
        refs = ",".join(r.provider_ref for r in receipts)
        return Callback(key=f"{base}:subscribe_msg_sent_event:{refs}", receipts=receipts)
    return None


def _balance(item: dict[str, Any]) -> BalanceChange:
    template = str(item["TemplateId"])
    if str(item.get("SubscribeStatusString", "")).strip().lower() == "accept":
        return BalanceChange(template, delta=1)  # one consent, one message
    return BalanceChange(template, set_to=0)  # reject, ban: nothing may be sent


def _sent(item: dict[str, Any], base: str) -> Receipt:
    ref = str(item.get("MsgID", ""))
    code = str(item.get("ErrorCode", "")).strip()
    status = str(item.get("ErrorStatus", "")).strip()
    ok = code == "0"
    detail = "" if ok else f"{code} {status}".strip()
    return Receipt(ref, "wechat_subscribe", ok, detail, f"{base}:subscribe_msg_sent_event:{ref}")
