"""Acting on platform callbacks, once each.

``activities.channels.wechat.events`` and ``activities.channels.wecom.events`` read a
callback into a ``Callback``: the customer it concerns, the event to store, the profile changes
(following the Official Account, first touch), subscribe-message balances and
delivery receipts. ``act`` does all of it once per callback key; ``deliver`` hands
receipts to the enrollments waiting for them.

Once: the platforms retry a callback they think was not taken, sometimes while the
first is still being handled. The key is remembered first (``first_time``), so a
repeat does nothing. When acting fails half-way the key is forgotten again and the
error goes back to the platform, whose retry then acts. Every step is idempotent
(resolving, follows, first touch, the event under its message id, a repeated receipt)
except the balance change, which comes last; should a popup's second template fail
after its first was counted, the retry counts the first again, and an over-counted
balance costs one refused send at most (43101 sets it to zero), where a lost consent
would skip sends the customer asked for.

Trust: the routes check a callback's origin (signature, token, source) before any of
this; here ``claim_nonce`` makes a signed WeChat or WeCom URL usable once, an SMS
receipt acts only on a delivery sent to the number it names (a SerialNo alone is not
proof), and a callback marked ``known_only`` (an SMS reply) creates no customer.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.contracts.journey import ReceiptSignal
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.pending import dispatch_or_defer
from engine.errors import ForgedCallback, NotFound
from engine.models.attribution import CodeKind, TouchKind, resolve_touch
from engine.models.common import ChannelName
from engine.store.records import (
    ConsentChange,
    DeliveryRecord,
    Identities,
    NewEvent,
    StoredEvent,
)
from engine.store.service_store import ServiceStore

log = logging.getLogger("carepath.callbacks")


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt as a platform pushed it, matched to its delivery by the
    provider's reference; ``dedupe_key`` is the same for the same receipt retried."""

    provider_ref: str
    channel: ChannelName
    delivered: bool
    detail: str
    dedupe_key: str
    # SMS: the number the report is about; acted on only when the delivery went there.
    phone: str | None = None


@dataclass(frozen=True)
class BalanceChange:
    """A subscribe-message consent answered: ``delta`` added, or the balance ``set_to``."""

    template_id: str
    delta: int = 0
    set_to: int | None = None


@dataclass(frozen=True)
class Callback:
    """What one platform callback asks of carepath."""

    key: str  # the same callback, retried, has the same key
    customer: Identities | None = None  # None: it only carries receipts
    event: NewEvent | None = None
    follows_wechat: bool | None = None
    first_touch: dict[str, Any] | None = None
    touch: TouchKind | None = None  # with first_touch: a touch to keep (engine.models.attribution)
    balances: tuple[BalanceChange, ...] = ()
    receipts: tuple[Receipt, ...] = ()
    opt_out: tuple[str, ...] = ()  # channels whose marketing consent the reply withdraws
    # Act only for a customer carepath knows (an SMS reply: anyone can text the number,
    # and a number is no proof of a patient); otherwise acknowledged and dropped.
    known_only: bool = False


async def claim_nonce(
    store: ServiceStore, provider: str, timestamp: str, nonce: str, body: bytes, *, now: datetime
) -> None:
    """Raise ForgedCallback when this signed URL (``timestamp`` and ``nonce``) was used
    before with another body.

    The same URL with the same body is the platform's retry (which ``act`` takes once);
    with another body it is a captured URL replayed, which in WeChat's plaintext mode
    the signature cannot tell. Both keys are remembered in the callback table, so every
    API process agrees; the timestamp window bounds how long a nonce needs keeping.
    """
    used = f"nonce:{provider}:{timestamp}:{nonce}"
    this = f"{used}:{hashlib.sha256(body).hexdigest()}"
    if await asyncio.to_thread(store.first_time, used, now):
        await asyncio.to_thread(store.first_time, this, now)
        return
    if await asyncio.to_thread(store.first_time, this, now):
        # Not remembered: a second replay of this body must be refused too.
        await asyncio.to_thread(store.forget_callback, this)
        raise ForgedCallback(f"{provider} callback nonce was already used with another body")


async def act(
    store: ServiceStore, dispatcher: Dispatcher, callback: Callback, *, now: datetime
) -> bool:
    """Do what ``callback`` asks unless it was done before; False for a repeat (or a
    ``known_only`` callback of nobody carepath knows)."""
    if callback.known_only and not await asyncio.to_thread(_known, store, callback, now):
        log.info("%s of no known customer (%s): dropped", _what(callback), _who(callback))
        return False
    if not await asyncio.to_thread(store.first_time, callback.key, now):
        return False
    try:
        stored = await asyncio.to_thread(_record, store, dispatcher, callback, now)
        if stored:
            await _dispatch(dispatcher, stored)
        await deliver(store, dispatcher, callback.receipts, once=False)
        if callback.balances and callback.customer is not None:
            await asyncio.to_thread(_change_balances, store, callback, now)
    except Exception:
        await asyncio.to_thread(store.forget_callback, callback.key)
        raise
    return True


async def deliver(
    store: ServiceStore, dispatcher: Dispatcher, receipts: Sequence[Receipt], *, once: bool
) -> int:
    """Signal each receipt to the enrollment whose delivery it names; how many were.

    ``once``: remember each receipt's ``dedupe_key`` and skip those seen before (for
    callbacks that carry several receipts, retried as a whole).
    """
    delivered = 0
    for receipt in receipts:
        delivery = await asyncio.to_thread(
            store.find_delivery, receipt.provider_ref, receipt.channel
        )
        if delivery is None:
            continue  # not ours (or sent outside journeys)
        if receipt.phone is not None and not await asyncio.to_thread(
            _sent_to, store, delivery, receipt.phone
        ):
            log.warning(
                "%s receipt for %s names another number (%s): ignored",
                receipt.channel,
                receipt.provider_ref,
                _masked(receipt.phone),
            )
            continue
        if once and not await asyncio.to_thread(
            store.first_time, receipt.dedupe_key, datetime.now(UTC)
        ):
            continue
        signal = ReceiptSignal(
            provider_ref=receipt.provider_ref,
            channel=receipt.channel,
            delivered=receipt.delivered,
            detail=receipt.detail,
        )
        try:
            if await dispatcher.receipt(delivery.enrollment_id, signal):
                delivered += 1
        except Exception:
            if once:
                await asyncio.to_thread(store.forget_callback, receipt.dedupe_key)
            raise
    return delivered


def _sent_to(store: ServiceStore, delivery: DeliveryRecord, phone: str) -> bool:
    """Whether ``phone`` is the delivery's customer's, or a guardian's (a minor's
    messages go to a guardian): the number a receipt names must be where it went."""
    if delivery.customer_id is None:
        return False
    try:
        holder = store.resolve(Identities(phone=phone), create=False, at=datetime.now(UTC))
        owner = store.get_customer(delivery.customer_id).id  # the survivor of a merge
    except (NotFound, ValueError):  # nobody has the number; not a phone number
        return False
    return holder.customer_id == owner or holder.customer_id in store.guardians_of(owner)


def _known(store: ServiceStore, callback: Callback, now: datetime) -> bool:
    if callback.customer is None:
        return True
    try:
        store.resolve(callback.customer, create=False, at=now)
    except NotFound:
        return False
    return True


def _what(callback: Callback) -> str:
    return callback.event.name if callback.event is not None else "callback"


def _who(callback: Callback) -> str:
    phone = callback.customer.phone if callback.customer is not None else None
    return _masked(phone) if phone else "no phone"


def _masked(phone: str) -> str:
    """A number as logs may keep it (patients' numbers stay out of log files)."""
    return f"…{phone[-4:]}" if len(phone) > 4 else "…"


def _record(
    store: ServiceStore, dispatcher: Dispatcher, callback: Callback, now: datetime
) -> list[StoredEvent]:
    """The customer's side, in a thread: the event stored, follows and first touch set."""
    if callback.customer is None:
        return []
    if callback.event is not None:
        stored = dispatcher.ingest([(callback.customer, callback.event)], at=now)
        customer_id = stored[0].customer_id
    else:
        stored = []
        customer_id = store.resolve(callback.customer, at=now).customer_id
    # Before the event is dispatched: a journey it starts sees the customer as is.
    if callback.follows_wechat is not None:
        store.set_follows_wechat(customer_id, callback.follows_wechat)
    at = callback.event.at if callback.event is not None else now
    if callback.first_touch is not None and callback.touch is not None:
        # Every touch is kept, with what its code attributes; the first one a customer
        # has is their first touch, set once.
        code_kind: CodeKind = "wecom_contact_me" if callback.touch == "contact_add" else "wechat"
        touch = resolve_touch(
            store, callback.touch, code_kind, callback.first_touch, at=at, message_id=callback.key
        )
        store.record_touch(customer_id, touch)
    elif callback.first_touch is not None:
        store.set_source_once(customer_id, callback.first_touch, at=at)
    for channel in callback.opt_out:
        # An opt-out reply: appended to the consent ledger, so the next marketing send
        # on this channel (of any journey) is skipped; service messages still go. It
        # counts from when carepath heard of it (a reply's own clock may lag a grant).
        change = ConsentChange(
            purpose="marketing", channel=channel, granted=False, source="opt-out reply", at=now
        )
        store.record_consent(customer_id, change)
    return stored


async def _dispatch(dispatcher: Dispatcher, stored: list[StoredEvent]) -> None:
    # The event is stored: when Temporal is unreachable, the sweep acts on it later.
    await dispatch_or_defer(lambda: dispatcher.events_accepted(stored), "a callback's event")


def _change_balances(store: ServiceStore, callback: Callback, now: datetime) -> None:
    assert callback.customer is not None
    customer_id = store.resolve(callback.customer, at=now).customer_id
    for change in callback.balances:
        store.change_subscribe_balance(
            customer_id, change.template_id, delta=change.delta, set_to=change.set_to, at=now
        )
