"""Tag dispatch: an added tag starts the deployed ``tag_added`` journeys of that tag.

Added tags are marked dispatched in their history once acted on; what is left unmarked
(a tag a journey step added in the worker, one added while Temporal was unreachable or
whose dispatch failed) the sweep does again, one tag at a time, with the context of the
request that added it (kept with the tag), or ``{"tag_source": <who added it>}`` for a
tag no request added.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial
from typing import Any

from engine.dispatch.attempts import Attempts
from engine.dispatch.deployment import Deployment
from engine.dispatch.enroller import Enroller
from engine.dispatch.report import DispatchReport
from engine.expressions.clock import utcnow
from engine.store.records import TagChange


def swept_context(change: TagChange) -> dict[str, Any]:
    """The context a tag's journeys start with when it is dispatched later: its
    request's, else who added it."""
    return dict(change.context) if change.context is not None else {"tag_source": change.source}


class TagDispatch:
    """Enrolls on ``tag_added`` triggers."""

    def __init__(self, deployment: Deployment, enroller: Enroller, attempts: Attempts) -> None:
        self.deployment = deployment
        self.enroller = enroller
        self.attempts = attempts
        self.store = deployment.store

    async def changed(
        self, changes: list[TagChange], context: dict[str, Any] | None = None
    ) -> DispatchReport:
        """Enroll on tag_added triggers; the added tags are marked dispatched once done.
        What is left unmarked the sweep does again, with ``context``: kept with the
        tags here when the dispatch could not finish (if their write did not keep it)."""
        added = [c for c in changes if c.added]
        try:
            return await self._added(
                [(c, context if context is not None else c.context or {}) for c in added]
            )
        except Exception:
            ids = [c.history_id for c in added if c.history_id is not None]
            if context is not None and ids:
                await asyncio.to_thread(self.store.remember_tag_context, ids, context)
            raise

    async def sweep(self, older_than: float) -> int:
        """Enroll on tags added ``older_than`` seconds ago or more that no dispatch
        finished: tags a journey step added in the worker, tags added while Temporal was
        unreachable, tags whose dispatch failed (retried with backoff, then parked).
        Each on its own, with :func:`swept_context`; how many."""
        now = utcnow()
        before = now - timedelta(seconds=older_than)
        changes = await asyncio.to_thread(self.store.undispatched_tags, before, now=now)
        for change in changes:
            await self.attempts.run(
                "tag",
                change.history_id,
                change.customer_id,
                partial(self._added, [(change, swept_context(change))]),
            )
        return len(changes)

    async def _added(self, added: list[tuple[TagChange, dict[str, Any]]]) -> DispatchReport:
        report = DispatchReport()
        index = self.deployment.index()
        for change, context in added:
            for bundle in index.for_tag(change.tag):
                report.merge(
                    await self.enroller.triggered(bundle, change.customer_id, dict(context))
                )
            item = f"tag:{change.history_id or change.customer_id + ':' + change.tag}"
            paused = index.paused_for_tag(change.tag)
            report.merge(
                await self.enroller.paused(
                    paused, change.customer_id, item, f"tag_added {change.tag}"
                )
            )
        done = [c.history_id for c, _ in added if c.history_id is not None]
        if done:
            await asyncio.to_thread(self.store.mark_tags_dispatched, done, at=utcnow())
        return report
