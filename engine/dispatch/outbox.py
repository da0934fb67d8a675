"""What an operator does with the outbox: retry one item now, or discard it.

Listing is a read of the store (``outbox_items``); discarding marks the item done
without dispatching it and records who did (``discard_outbox_item``). A retry makes
the item due again and dispatches it at once, through the same code as the sweep.
"""

from __future__ import annotations

import asyncio
import logging

from engine.dispatch.attempts import Attempts
from engine.dispatch.events import EventDispatch
from engine.dispatch.pending import unreachable
from engine.dispatch.report import DispatchReport
from engine.dispatch.segments import SegmentDispatch
from engine.dispatch.signals import Signals
from engine.dispatch.tags import TagDispatch, swept_context
from engine.expressions.clock import utcnow
from engine.store.records import (
    OutboxKind,
    PendingSignal,
    SegmentChange,
    StoredEvent,
    TagChange,
)

log = logging.getLogger("carepath.dispatch")


class OutboxDispatch:
    """Retries one outbox item on an operator's word."""

    def __init__(
        self,
        events: EventDispatch,
        tags: TagDispatch,
        segments: SegmentDispatch,
        signals: Signals,
        attempts: Attempts,
    ) -> None:
        self.events = events
        self.tags = tags
        self.segments = segments
        self.signals = signals
        self.attempts = attempts
        self.store = events.store

    async def retry(self, kind: OutboxKind, item_id: int) -> tuple[DispatchReport, bool]:
        """Unpark the item and dispatch it now: (report, pending). Pending when Temporal
        could not be reached (the sweep sends it when it is back); Conflict naming the
        error when it failed again (it stays parked), or when it was dispatched already;
        NotFound for no such item."""
        entry = await asyncio.to_thread(self.store.outbox_entry, kind, item_id)
        await asyncio.to_thread(self.store.unpark_outbox_item, kind, item_id, at=utcnow())

        async def dispatch() -> DispatchReport:
            if isinstance(entry, StoredEvent):
                return await self.events.accepted([entry])
            if isinstance(entry, TagChange):
                return await self.tags.changed([entry], swept_context(entry))
            if isinstance(entry, SegmentChange):
                return await self.segments.changed([entry])
            assert isinstance(entry, PendingSignal)
            return await self.signals.deliver(entry)

        try:
            report = await self.attempts.run(
                kind, item_id, entry.customer_id, dispatch, raise_failure=True
            )
        except Exception as exc:
            if not unreachable(exc):
                raise  # failed again (Conflict naming the error), recorded on the item
            log.warning("retry of %s %s deferred: Temporal unreachable", kind, item_id)
            return DispatchReport(), True
        return report, False
