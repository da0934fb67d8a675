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
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.dispatch.dispatcher import TEMPORAL_UNREACHABLE, Dispatcher, DispatchReport
from engine.intake.callbacks import Callback
from engine.models.tagging import ChatSource
from engine.store.records import Identities, NewEvent, StoredEvent, TagChange
from engine.store.service_store import ServiceStore
from engine.workspace.tagging import DOCUMENT, KeywordMatch, matcher_for

__all__ = ["EXCERPT", "ChatLine", "ChatOutcome", "ingest_chats", "tag_wechat_message"]

log = logging.getLogger("carepath.chats")

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
    store = dispatcher.store
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
    report = DispatchReport()
    try:
        report.merge(await dispatcher.events_accepted(stored))
        for outcome, source, added in tagged:
            report.merge(
                await _start_journeys(
                    dispatcher, added, message_id=outcome.stored.message_id, source=source
                )
            )
    except TEMPORAL_UNREACHABLE:
        # The events and tags are stored; the events' dispatch is swept when Temporal
        # is back. Journeys the tags would start are not (as for any tag change).
        log.warning("dispatch of %d chat message(s) deferred", len(stored), exc_info=True)
        return outcomes, report, True
    return outcomes, report, False


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
    try:
        return await _start_journeys(
            dispatcher, added, message_id=event.message_id, source="wechat"
        )
    except TEMPORAL_UNREACHABLE:
        log.warning("journeys of %d keyword tag(s) not started", len(added), exc_info=True)
        return report
