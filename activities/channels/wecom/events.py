"""WeCom external-contact callbacks, checked, decrypted and read into a ``Callback``.

WeCom always encrypts callbacks with the app's EncodingAESKey and signs them as
``msg_signature`` with its Token (both set in the admin console, and here as
``channels.wecom.token`` / ``aes_key``). Of ``change_external_contact``:

    add_external_contact    event wecom.contact_added {staff, state}; the staff member
                            owns the contact; first touch: the contact-me code's state
    del_follow_user         event wecom.contact_removed {staff, by: customer}
    del_external_contact    event wecom.contact_removed {staff, by: staff}

Other changes (edits, half-added contacts, failed transfers) are answered and left.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from wechatpy.enterprise import WeChatCrypto, parse_message
from wechatpy.enterprise.events import register_event
from wechatpy.events import BaseEvent
from wechatpy.fields import StringField

from engine.errors import CallbackNotConfigured, ForgedCallback
from engine.intake.callbacks import Callback
from engine.settings import WeComSettings
from engine.store.records import Identities, NewEvent

log = logging.getLogger("carepath.callbacks")


# wechatpy 1.8.18 does not know the external-contact events (UnknownMessage).
@register_event("change_external_contact")
class ChangeExternalContactEvent(BaseEvent):  # type: ignore[misc]  # wechatpy has no types
    """A customer (external contact) added or removed a staff member, or was removed."""

    event = "change_external_contact"
    change_type = StringField("ChangeType")
    user_id = StringField("UserID")
    external_user_id = StringField("ExternalUserID")
    state = StringField("State")
    welcome_code = StringField("WelcomeCode")


def _crypto(settings: WeComSettings) -> Any:
    if not settings.token or not settings.aes_key:
        raise CallbackNotConfigured(
            "WeCom callbacks need the app's Token and EncodingAESKey: set "
            "CAREPATH_CHANNELS__WECOM__TOKEN and CAREPATH_CHANNELS__WECOM__AES_KEY"
        )
    return WeChatCrypto(settings.token, settings.aes_key, settings.corp_id)


def verify_wecom_url(
    settings: WeComSettings, *, msg_signature: str, timestamp: str, nonce: str, echostr: str
) -> str:
    """The decrypted ``echostr`` of WeCom's URL check (ForgedCallback when forged)."""
    crypto = _crypto(settings)
    try:
        return str(crypto.check_signature(msg_signature, timestamp, nonce, echostr))
    except Exception as exc:  # InvalidSignatureException, InvalidCorpIdException
        raise ForgedCallback("WeCom URL check does not match our token, key and corp id") from exc


def open_wecom(
    body: bytes, settings: WeComSettings, *, msg_signature: str, timestamp: str, nonce: str
) -> str:
    """The callback's XML, decrypted once its signature is checked."""
    crypto = _crypto(settings)
    try:
        return str(crypto.decrypt_message(body, msg_signature, timestamp, nonce))
    except Exception as exc:  # InvalidSignatureException, InvalidCorpIdException, bad data
        raise ForgedCallback(
            "WeCom callback does not decrypt with our token, key and corp id"
        ) from exc


def read_wecom(xml: str, *, now: datetime) -> Callback | None:
    """What the callback asks of carepath; None when nothing (or unreadable: logged)."""
    try:
        message = parse_message(xml)
    except Exception:  # not the platform's XML: a retry would not read better
        log.warning("unreadable WeCom callback (%d characters)", len(xml), exc_info=True)
        return None
    if not isinstance(message, ChangeExternalContactEvent):
        return None
    change = str(message.change_type or "")
    external = str(message.external_user_id or "")
    staff = str(message.user_id or "")
    if not external or change not in (
        "add_external_contact",
        "del_follow_user",
        "del_external_contact",
    ):
        return None
    created = int(message.time or 0)
    at = datetime.fromtimestamp(created, UTC) if created else now
    # No message id: the same change of the same pair at the same second is a retry.
    key = f"wecom:{change}:{external}:{staff}:{created}"

    def event(name: str, **properties: Any) -> NewEvent:
        return NewEvent(message_id=key, name=name, properties=properties, at=at)

    if change == "add_external_contact":
        state = str(message.state or "")
        touch: dict[str, Any] = (
            {"channel": "wecom_contact_way", "state": state, "staff": staff}
            if state
            else {"channel": "wecom_contact", "staff": staff}
        )
        return Callback(
            key=key,
            # The staff member who was added owns the contact (the wecom channel sends
            # as them); the last one added wins.
            customer=Identities(wecom_external_userid=external, wecom_owner_userid=staff or None),
            event=event("wecom.contact_added", staff=staff, **({"state": state} if state else {})),
            first_touch=touch,
            touch="contact_add",
        )
    by = "customer" if change == "del_follow_user" else "staff"
    return Callback(
        key=key,
        customer=Identities(wecom_external_userid=external),
        event=event("wecom.contact_removed", staff=staff, by=by),
    )
