"""Tag dispatch: an added tag starts the deployed ``tag_added`` journeys of that tag.

Added tags are marked dispatched in their history once acted on; what is left unmarked
(a tag a journey step added in the worker, one added while Temporal was unreachable)
the sweep does again, with ``{"tag_source": <who added it>}`` as the context.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from engine.dispatch.deployment import Deployment
from engine.dispatch.enroller import Enroller
from engine.dispatch.report import DispatchReport
from engine.expressions.clock import utcnow
from engine.store.records import TagChange


class TagDispatch:
    """Enrolls on ``tag_added`` triggers."""

    def __init__(self, deployment: Deployment, enroller: Enroller) -> None:
        self.deployment = deployment
        self.enroller = enroller
        self.store = deployment.store

    async def changed(
        self, changes: list[TagChange], context: dict[str, Any] | None = None
    ) -> DispatchReport:
        """Enroll on tag_added triggers; the added tags are marked dispatched once done
        (what is left unmarked, the sweep does again)."""
        return await self._added([(c, context or {}) for c in changes if c.added])

    async def sweep(self, older_than: float) -> int:
        """Enroll on tags added ``older_than`` seconds ago or more that no dispatch
        finished: tags a journey step added in the worker, tags added while Temporal was
        unreachable. Their context is ``{"tag_source": <who added it>}``; how many."""
        before = utcnow() - timedelta(seconds=older_than)
        changes = await asyncio.to_thread(self.store.undispatched_tags, before)
        await self._added([(c, {"tag_source": c.source}) for c in changes])
        return len(changes)

    async def _added(self, added: list[tuple[TagChange, dict[str, Any]]]) -> DispatchReport:
        report = DispatchReport()
        index = self.deployment.index()
        for change, context in added:
            for bundle in index.for_tag(change.tag):
                report.merge(
                    await self.enroller.triggered(bundle, change.customer_id, dict(context))
                )
        done = [c.history_id for c, _ in added if c.history_id is not None]
        if done:
            await asyncio.to_thread(self.store.mark_tags_dispatched, done, at=utcnow())
        return report
