"""Segment's tracking calls as carepath's own: who, what, when, and where from.

Other systems speak the Segment HTTP tracking API (``api/routes/segment.py``); each
call, already checked against the schema, becomes what ``/v1/track`` or
``/v1/identify`` would have received, so the same service stores it:

- ``userId`` is the identity ``user_id``, ``anonymousId`` the identity
  ``anonymous_id``; an identify's ``traits.phone``, ``traits.wechat_openid`` (within
  ``traits.wechat_app_id``) and ``traits.wechat_unionid`` are further identities, its
  other traits profile attributes;
- ``messageId`` is the event's ``message_id`` (a repeat is stored and acted on once);
- ``timestamp`` is the event time; without it ``originalTimestamp``, corrected for the
  sender's clock by ``sentAt`` (time = received - (sentAt - originalTimestamp)), else
  when it was received;
- ``context.campaign`` becomes the ``utm_*`` properties a UTM touch is read from;
- ``page`` is the event ``page.viewed`` with its properties, its ``name`` as ``page``.

Pure functions over the call as the JSON said it (camelCase keys): no store, no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.store.records import Identities, NewEvent

__all__ = [
    "CAMPAIGN_FIELDS",
    "IDENTITY_TRAITS",
    "PAGE_EVENT",
    "event_time",
    "identities_of",
    "message_id_of",
    "to_event",
    "to_identify",
]

#: The event a ``page`` call becomes.
PAGE_EVENT = "page.viewed"
#: Traits that name the customer rather than describe them.
IDENTITY_TRAITS: tuple[str, ...] = ("phone", "wechat_openid", "wechat_unionid", "wechat_app_id")
#: ``context.campaign`` field -> the event property a UTM touch reads.
CAMPAIGN_FIELDS: dict[str, str] = {
    "source": "utm_source",
    "medium": "utm_medium",
    "name": "utm_campaign",
    "term": "utm_term",
    "content": "utm_content",
}
#: Prefix of the message ids made for calls that carry none.
DERIVED_PREFIX = "segment:"


def _present(value: Any) -> bool:
    return value is not None and value != ""


def identities_of(message: Mapping[str, Any], *, with_traits: bool = False) -> Identities:
    """The identities a call names: userId, anonymousId, and (identify) identity traits."""
    found: dict[str, Any] = {}
    if _present(message.get("userId")):
        found["user_id"] = message["userId"]
    if _present(message.get("anonymousId")):
        found["anonymous_id"] = message["anonymousId"]
    traits = message.get("traits") or {}
    if with_traits:
        for name in IDENTITY_TRAITS:
            if _present(traits.get(name)):
                found[name] = str(traits[name])
    return Identities.model_validate(found)


def profile_of(message: Mapping[str, Any]) -> dict[str, Any]:
    """An identify's traits that are not identities: the profile attributes to set."""
    traits = message.get("traits") or {}
    return {k: v for k, v in traits.items() if k not in IDENTITY_TRAITS}


def event_time(
    message: Mapping[str, Any], *, received_at: datetime, sent_at: datetime | None
) -> datetime:
    """When the call's event happened (see the module docstring)."""
    timestamp: datetime | None = message.get("timestamp")
    if timestamp is not None:
        return timestamp
    original: datetime | None = message.get("originalTimestamp")
    if original is None:
        return received_at
    # The sender's clock may be wrong; the gap between its sentAt and its event is not.
    sent: datetime | None = message.get("sentAt") or sent_at
    if sent is None:
        return original
    try:
        return received_at - (sent - original)
    except OverflowError:  # a gap of millennia: no clock to correct, keep what it said
        return original


def message_id_of(message: Mapping[str, Any]) -> str:
    """The call's ``messageId``; without one, a digest of the call, so that a retry of
    the same call is still acted on once."""
    given = message.get("messageId")
    if _present(given):
        return str(given)
    canonical = json.dumps(message, sort_keys=True, default=str, ensure_ascii=False)
    return DERIVED_PREFIX + hashlib.sha256(canonical.encode()).hexdigest()


def _campaign_properties(message: Mapping[str, Any]) -> dict[str, Any]:
    campaign = (message.get("context") or {}).get("campaign") or {}
    return {
        prop: campaign[field]
        for field, prop in CAMPAIGN_FIELDS.items()
        if _present(campaign.get(field))
    }


def to_event(
    message: Mapping[str, Any], *, received_at: datetime, sent_at: datetime | None
) -> tuple[Identities, NewEvent]:
    """A ``track`` or ``page`` call as the event ``/v1/track`` would store."""
    properties = dict(message.get("properties") or {})
    if message.get("type") == "page":
        name = PAGE_EVENT
        for field, prop in (("name", "page"), ("category", "category")):
            if _present(message.get(field)):
                properties.setdefault(prop, message[field])
    else:
        name = str(message["event"])
    # The event's own utm_* properties win: the sender read them on purpose.
    for prop, value in _campaign_properties(message).items():
        properties.setdefault(prop, value)
    event = NewEvent(
        message_id=message_id_of(message),
        name=name,
        properties=properties,
        at=event_time(message, received_at=received_at, sent_at=sent_at),
    )
    return identities_of(message), event


def to_identify(message: Mapping[str, Any]) -> tuple[Identities, dict[str, Any]]:
    """An ``identify`` call as ``/v1/identify`` would take it: (identities, attributes)."""
    return identities_of(message, with_traits=True), profile_of(message)
