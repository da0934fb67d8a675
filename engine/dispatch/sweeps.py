"""The sweep: dispatch what was stored but never dispatched.

A change is committed before it is dispatched, so a crash after commit, or Temporal
being unreachable (``engine.dispatch.pending``), leaves events, added tags, segment
enters and exits and kept signals (handoff outcomes, cancels) unmarked in their
outboxes. The sweep acts on those older than ``SWEEP_AFTER`` seconds (younger ones may
still be in their request's hands), one item at a time (``engine.dispatch.attempts``):
an item whose dispatch fails is retried with backoff and parked after a few tries,
and never holds up the others. Doing a change twice is safe, since enrolling and
signalling are idempotent. The background workflow (``workflows.background``) runs it
every few seconds.
"""

from __future__ import annotations

import asyncio

from engine.dispatch.events import EventDispatch
from engine.dispatch.segments import SegmentDispatch
from engine.dispatch.signals import Signals
from engine.dispatch.tags import TagDispatch

SWEEP_AFTER = 10.0  # seconds: an event still undispatched this long after arrival is retried


class Sweeper:
    """Sweeps the event, tag, segment and signal outboxes, in that order."""

    def __init__(
        self,
        events: EventDispatch,
        tags: TagDispatch,
        segments: SegmentDispatch,
        signals: Signals,
    ) -> None:
        self.events = events
        self.tags = tags
        self.segments = segments
        self.signals = signals

    async def sweep(self, older_than: float = SWEEP_AFTER) -> int:
        """Dispatch events, tags, segment changes and kept signals whose dispatch never
        completed; how many were found."""
        # Failures of items dispatched since (by a request, a retry) are forgotten.
        await asyncio.to_thread(self.events.store.settle_outbox)
        events = await self.events.sweep(older_than)
        tags = await self.tags.sweep(older_than)
        segments = await self.segments.sweep(older_than)
        return events + tags + segments + await self.signals.sweep(older_than)
