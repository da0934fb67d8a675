"""Who a send is addressed to, and the channel a customer was last active on."""

from __future__ import annotations

from activities import eligibility
from activities.channels.base import Recipient
from engine.models.common import ChannelName
from engine.store.records import Customer

_IDENTITY_FIELDS = (
    "wechat_openid",
    "wechat_unionid",
    "wecom_external_userid",
    "wecom_owner_userid",
)


#: The customer's own actions, by event-name prefix, and the channels they speak for.
ACTIVE_ON: tuple[tuple[str, tuple[ChannelName, ...]], ...] = (
    ("wechat.", ("wechat_text", "wechat_template", "wechat_subscribe")),
    ("wecom.", ("wecom",)),
    ("sms.", ("sms",)),
)


def most_recently_active(customer: Customer, channels: list[ChannelName]) -> str | None:
    for event in reversed(customer.events):
        for prefix, family in ACTIVE_ON:
            if event.name.startswith(prefix):
                return next((c for c in family if c in channels), None)
    return None


def for_guardian(to: Customer, customer: Customer, detail: str) -> str:
    """A detail that names the guardian when the send was addressed to one."""
    return detail if to.id == customer.id else f"to guardian {to.id}: {detail}"


def recipient_of(customer: Customer) -> Recipient:
    ids = {name: customer.identities.get(name) for name in _IDENTITY_FIELDS}
    return Recipient(customer_id=customer.id, phone=eligibility.identity(customer, "phone"), **ids)
