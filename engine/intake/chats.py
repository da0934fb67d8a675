"""Customers' messages as events, and the tags their keywords add.

Three kinds of message are read: WeChat messages a customer sends the Official
Account (``/callbacks/wechat``), WeCom chat records and call transcripts that other
systems post (``POST /v1/chats``). Each is stored as an event once per message id
(``wechat.message_received``, ``chat.message``, ``call.transcript``, the last two with
a short excerpt only); a new one's customer-side text is matched against the deployed
``tagging`` document, and each tag it adds is set with the source
``auto:keyword:<rule>:<matched text>`` (the tag history keeps it) and starts the
``tag_added`` journeys with ``{tag_source, rule, matched, message_id, channel}`` as the
context. Staff lines are stored but never matched; a repeated message id tags nothing.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.pending import dispatch_or_defer
from engine.dispatch.report import DispatchReport
from engine.intake.callbacks import Callback
from engine.models.tagging import ChatSource
from engine.store.records import Identities, NewEvent, StoredEvent, TagChange
from engine.store.service_store import ServiceStore
from engine.workspace.tagging import DOCUMENT, KeywordMatch, matcher_for

__all__ = ["EXCERPT", "ChatLine", "ChatOutcome", "ingest_chats", "tag_wechat_message"]

#: Characters of a message kept in its event (the full text is not stored).
EXCERPT = 100


@dataclass(frozen=True)
class ChatLine:
    """One message to store: its event, and the customer's words to match (may be empty)."""

    source: ChatSource
    customer: Identities
    event: NewEvent
    customer_text: str


@dataclass
class ChatOutcome:
    """What became of one message."""

    stored: StoredEvent
    matches: list[KeywordMatch] = field(default_factory=list)
    added: list[KeywordMatch] = field(default_factory=list)


def excerpt(text: str) -> str:
    """The start of a text, as an event keeps it."""
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1] + "…"


def matches_of(store: ServiceStore, text: str, source: ChatSource) -> list[KeywordMatch]:
    """The tags ``text`` adds under the deployed tagging rules."""
    if not text.strip():
        return []
    return matcher_for(store.get_document(DOCUMENT)).match(text, source)


def _tag(
    store: ServiceStore, customer_id: str, matches: Sequence[KeywordMatch], at: datetime
) -> list[tuple[KeywordMatch, TagChange]]:
    out: list[tuple[KeywordMatch, TagChange]] = []
    for match in matches:
        for change in store.tag(customer_id, [match.tag], [], match.source, at=at):
            out.append((match, change))  # only tags the customer did not have
    return out


async def _start_journeys(
    dispatcher: Dispatcher,
    added: Sequence[tuple[KeywordMatch, TagChange]],
    *,
    message_id: str,
    source: ChatSource,
) -> DispatchReport:
    report = DispatchReport()
    for match, change in added:
        context: dict[str, Any] = {
            "tag_source": "keyword",
            "rule": match.rule,
            "matched": match.matched,
            "message_id": message_id,
            "channel": source,
        }
        report.merge(await dispatcher.tags_changed([change], context))
    return report


async def ingest_chats(
    dispatcher: Dispatcher, lines: Sequence[ChatLine], *, now: datetime
) -> tuple[list[ChatOutcome], DispatchReport, bool]:
    """Store the messages (one transaction), tag from the new ones, start what the
    events and tags trigger. (outcomes, report, dispatch_pending)."""
    store = dispatcher.store  # the store the dispatcher accepts the messages into
    found = await asyncio.to_thread(
        lambda: [matches_of(store, ln.customer_text, ln.source) for ln in lines]
    )
    items = []
    for line, matches in zip(lines, found, strict=True):
        event = line.event
        if matches:  # the event says which keywords it had
            keywords = [{"tag": m.tag, "rule": m.rule, "matched": m.matched} for m in matches]
            event = event.model_copy(
                update={"properties": {**event.properties, "keywords": keywords}}
            )
        items.append((line.customer, event))
    stored = await dispatcher.accept(items, at=now)
    outcomes = [ChatOutcome(s, m) for s, m in zip(stored, found, strict=True)]
    tagged: list[tuple[ChatOutcome, ChatSource, list[tuple[KeywordMatch, TagChange]]]] = []
    for outcome, line in zip(outcomes, lines, strict=True):
        if outcome.stored.new and outcome.matches:
            added = await asyncio.to_thread(
                _tag, store, outcome.stored.customer_id, outcome.matches, now
            )
            outcome.added = [m for m, _ in added]
            tagged.append((outcome, line.source, added))
    report = DispatchReport()  # kept as far as it got when Temporal became unreachable

    async def dispatch() -> DispatchReport:
        report.merge(await dispatcher.events_accepted(stored))
        for outcome, source, added in tagged:
            report.merge(
                await _start_journeys(
                    dispatcher, added, message_id=outcome.stored.message_id, source=source
                )
            )
        return report

    # Temporal unreachable: the events and tags are stored and stay undispatched; the
    # dispatcher's sweeps start their journeys when it is back (a swept tag's context
    # is only ``{"tag_source": <the tag's source>}``, as for any tag change).
    _, pending = await dispatch_or_defer(dispatch, "%d chat message(s)", len(stored))
    return outcomes, report, pending


async def tag_wechat_message(
    store: ServiceStore, dispatcher: Dispatcher, callback: Callback, *, now: datetime
) -> DispatchReport:
    """After a WeChat callback was acted on: the tags a customer's text message adds.

    Opt-out replies (``退订``) are not matched: they withdraw consent and nothing else.
    """
    event, customer = callback.event, callback.customer
    report = DispatchReport()
    if (
        event is None
        or customer is None
        or callback.opt_out
        or event.name != "wechat.message_received"
        or event.properties.get("type") != "text"
    ):
        return report
    matches = await asyncio.to_thread(
        matches_of, store, str(event.properties.get("content") or ""), "wechat"
    )
    if not matches:
        return report

    def tag() -> list[tuple[KeywordMatch, TagChange]]:
        customer_id = store.resolve(customer, create=False, at=now).customer_id
        return _tag(store, customer_id, matches, now)

    added = await asyncio.to_thread(tag)
    # Temporal unreachable: the tags are stored undispatched, and the sweep starts them.
    started, _ = await dispatch_or_defer(
        lambda: _start_journeys(dispatcher, added, message_id=event.message_id, source="wechat"),
        "the journeys of %d keyword tag(s)",
        len(added),
    )
    return started
