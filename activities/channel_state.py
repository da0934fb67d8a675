"""Channel state around a send: read before it (eligibility), recorded after it.

Before: an open circuit, the customer's subscribe-message balance for the template,
and (for customer-service messages) what was sent since a window opened. After: what
the provider's answer says beyond the attempt (``Effect``): the customer does not
follow (40003/43004), has no subscribe consent left (43101), is on the SMS blacklist
(a marketing-consent withdrawal); the channel's quota is used up (circuit open until
the next day, the next minute, or an hour for an empty SMS package). A quota circuit
closes by itself when its time passes: the next send is the probe, and a refusal opens
it again. A configuration error (``Effect.TEMPLATE_BROKEN``, ``Effect.CHANNEL_BROKEN``)
opens a circuit of the message's template or of the whole channel
(``engine.store.circuits``) that stays open until an operator resets it, a deploy
changes the template's content, or (for the channel's) the workers run with other
channel settings; its opening is logged at ERROR and recorded as the event
``carepath.channel_alert``. A subscribe balance that was never recorded is unknown,
not zero: the send is tried and the platform's 43101 sets it to zero.

Frequency caps (``reserve``) are counted per customer over every journey: a send takes
a slot in the store before the provider call, keyed by its idempotency key, and a
definite refusal gives it back (``release``), since nothing reached the customer.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, time, timedelta
from functools import partial
from zoneinfo import ZoneInfo

from activities.channels.base import ChannelResult, Effect, Outcome
from activities.eligibility import ChannelState
from engine.models.common import ChannelName
from engine.models.compliance import FrequencyCap
from engine.models.message import Message
from engine.settings import get_settings
from engine.store import ActivityStore
from engine.store.circuits import ConfigCircuit, content_digest, settings_digest, template_key
from engine.store.records import CapCheck, SendSlot

log = logging.getLogger(__name__)

#: Answers that prove the message never reached the customer: its slot is given back.
_REFUSED = {Outcome.RECIPIENT.value, Outcome.CONFIG.value, Outcome.QUOTA.value}


def read(
    store: ActivityStore, channel: ChannelName, message: Message, customer_id: str, now: datetime
) -> ChannelState:
    """What eligibility needs to know about this channel for this customer."""
    balance = None
    template = _subscribe_template(message) if channel == "wechat_subscribe" else None
    if template is not None:
        balance = store.subscribe_balance(customer_id, template)
    sent_since = (
        partial(store.count_deliveries, customer_id, channel) if channel == "wechat_text" else None
    )
    return ChannelState(
        circuit=store.circuit(channel, now),
        blocked=_blocked(store, channel, message, now),
        subscribe_balance=balance,
        sent_since=sent_since,
    )


def _blocked(
    store: ActivityStore, channel: ChannelName, message: Message, now: datetime
) -> ConfigCircuit | None:
    """The configuration circuit that stops this send; a channel circuit opened under
    other channel settings (new credentials rolled out) is closed first."""
    template = template_key(message, channel)
    found = store.config_circuit(channel, template)
    if found is not None and not found.template and found.digest != _settings(channel):
        store.close_config_circuit(channel, "", by="settings", at=now)
        found = store.config_circuit(channel, template)
    return found


def record(
    store: ActivityStore,
    channel: ChannelName,
    message: Message,
    customer_id: str,
    result: ChannelResult,
    now: datetime,
    timezone: str,
    state: ChannelState,
) -> None:
    """Keep what the answer says beyond this attempt (``state``: what ``read`` found
    before it; a balance it found unknown is not spent)."""
    template = _subscribe_template(message) if channel == "wechat_subscribe" else None
    sent = result.outcome in (Outcome.ACCEPTED, Outcome.DELIVERED)
    if template is not None and sent and state.subscribe_balance is not None:
        store.change_subscribe_balance(customer_id, template, delta=-1, at=now)
    match result.effect:
        case Effect.NOT_FOLLOWING:
            store.set_follows_wechat(customer_id, False)
        case Effect.SUBSCRIBE_SPENT if template is not None:
            store.change_subscribe_balance(customer_id, template, set_to=0, at=now)
        case Effect.SMS_OPT_OUT:
            store.withdraw_consent(customer_id, "marketing", "sms", "sms blacklist", now)
        case Effect.CIRCUIT_TODAY:
            store.open_circuit(channel, next_local_midnight(now, timezone), result.detail, now)
        case Effect.CIRCUIT:
            until = now + timedelta(seconds=result.circuit_seconds or 60)
            store.open_circuit(channel, until, result.detail, now)
        case Effect.TEMPLATE_BROKEN | Effect.CHANNEL_BROKEN:
            _open(store, channel, message, result, now)
        case _:
            pass


def _open(
    store: ActivityStore,
    channel: ChannelName,
    message: Message,
    result: ChannelResult,
    now: datetime,
) -> None:
    """Open the circuit a configuration error calls for; the first opening alerts."""
    whole = result.effect == Effect.CHANNEL_BROKEN
    circuit = ConfigCircuit(
        channel=channel,
        template="" if whole else template_key(message, channel),
        error=result.detail,
        opened_at=now,
        digest=_settings(channel) if whole else content_digest(message, channel),
    )
    if store.open_config_circuit(circuit):
        # Racing workers open it once (the store decides): one log line, one alert.
        what = "channel" if whole else f"template {circuit.template}"
        log.error(
            "circuit opened: %s %s stopped after %r; sends there fall back until an "
            "operator resets it (POST /v1/channels/%s/reset) or a deploy changes it",
            channel,
            what,
            result.detail,
            channel,
        )


def _settings(channel: ChannelName) -> str:
    """The digest of the settings the channel's adapter runs with."""
    channels = get_settings().channels
    section = {"wecom": channels.wecom, "sms": channels.sms}.get(channel, channels.wechat)
    return settings_digest(section)


def reserve(
    store: ActivityStore,
    caps: Sequence[FrequencyCap],
    timezone: str,
    *,
    key: str,
    channel: ChannelName,
    message: Message,
    customer_id: str,
    now: datetime,
) -> str | None:
    """Take the send's slot under the caps that cover it: None, or why not (the cap)."""
    checks = [
        CapCheck(
            channel=cap.channel,
            per=cap.per,
            limit=cap.limit,
            reason=f"frequency cap: {cap.describe()}",
        )
        for cap in caps
        if cap.purpose == message.purpose and cap.channel in (None, channel)
    ]
    if not checks:
        return None  # nothing counts this send: no slot to keep
    local = now.astimezone(ZoneInfo(timezone))
    slot = SendSlot(
        key=key,
        customer_id=customer_id,
        purpose=message.purpose,
        channel=channel,
        day=local.date().isoformat(),
        month=local.strftime("%Y-%m"),
        at=now,
    )
    return store.reserve_send(slot, checks)


def release(store: ActivityStore, key: str, outcome: str | None) -> None:
    """Give the slot back when the provider refused the send outright."""
    if outcome in _REFUSED:
        store.release_send(key)


def next_local_midnight(now: datetime, timezone: str) -> datetime:
    """The start of the next day where the account's quota is counted."""
    local = now.astimezone(ZoneInfo(timezone))
    tomorrow = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo)
    return tomorrow.astimezone(now.tzinfo)


def _subscribe_template(message: Message) -> str | None:
    content = message.wechat_subscribe
    return None if content is None else content.template_id
