"""The sweep: dispatch what was stored but never dispatched.

A change is committed before it is dispatched, so a crash after commit, or Temporal
being unreachable (``engine.dispatch.pending``), leaves events, added tags and segment
enters and exits unmarked in their outboxes. The sweep acts on those older than
``SWEEP_AFTER`` seconds (younger ones may still be in their request's hands); doing a
change twice is safe, since enrolling and signalling are idempotent. The background
workflow (``workflows.background``) runs it every few seconds.
"""

from __future__ import annotations

from engine.dispatch.events import EventDispatch
from engine.dispatch.segments import SegmentDispatch
from engine.dispatch.tags import TagDispatch

SWEEP_AFTER = 10.0  # seconds: an event still undispatched this long after arrival is retried


class Sweeper:
    """Sweeps the event, tag and segment outboxes, in that order."""

    def __init__(self, events: EventDispatch, tags: TagDispatch, segments: SegmentDispatch) -> None:
        self.events = events
        self.tags = tags
        self.segments = segments

    async def sweep(self, older_than: float = SWEEP_AFTER) -> int:
        """Dispatch events, tags and segment changes whose dispatch never completed;
        how many were found."""
        events = await self.events.sweep(older_than)
        tags = await self.tags.sweep(older_than)
        return events + tags + await self.segments.sweep(older_than)
