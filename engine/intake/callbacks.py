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
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from engine.contracts.journey import ReceiptSignal
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.pending import dispatch_or_defer
from engine.models.attribution import CodeKind, TouchKind, resolve_touch
from engine.models.common import ChannelName
from engine.store.records import ConsentChange, Identities, NewEvent, StoredEvent
from engine.store.service_store import ServiceStore


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt as a platform pushed it, matched to its delivery by the
    provider's reference; ``dedupe_key`` is the same for the same receipt retried."""

    provider_ref: str
    channel: ChannelName
    delivered: bool
    detail: str
    dedupe_key: str


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


async def act(
    store: ServiceStore, dispatcher: Dispatcher, callback: Callback, *, now: datetime
) -> bool:
    """Do what ``callback`` asks unless it was done before; False for a repeat."""
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
