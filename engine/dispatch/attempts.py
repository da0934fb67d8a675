"""One outbox item at a time: a failure is the item's, never the sweep's.

The sweeps hand each item (an event, an added tag, a segment enter or exit, a pending
signal) to :meth:`Attempts.run` on its own. When Temporal cannot be reached the round
stops (nothing is the item's fault, and nothing is counted); any other failure is
recorded on the item (attempts, the error, the next attempt after a backoff; parked
after ``MAX_ATTEMPTS``, see ``engine.store.sql.retries``) and the sweep goes on with
the next item, so one bad row never holds up the rest.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from engine.dispatch.pending import unreachable
from engine.dispatch.report import DispatchReport
from engine.errors import Conflict
from engine.expressions.clock import utcnow
from engine.store.records import OutboxKind
from engine.store.service_store import ServiceStore

log = logging.getLogger("carepath.dispatch")


class Attempts:
    """Runs one item's dispatch and keeps the account of its failures."""

    def __init__(self, store: ServiceStore) -> None:
        self.store = store

    async def run(
        self,
        kind: OutboxKind,
        item_id: int | None,
        customer_id: str | None,
        dispatch: Callable[[], Awaitable[DispatchReport]],
        *,
        raise_failure: bool = False,
    ) -> DispatchReport:
        """Dispatch one item; its report, or an empty report marked ``pending`` when it
        failed (recorded, retried later; with ``raise_failure``, Conflict naming the
        error). Temporal unreachable: raised, nothing recorded."""
        try:
            return await dispatch()
        except Exception as exc:
            if unreachable(exc) or item_id is None:
                raise
            error = f"{type(exc).__name__}: {exc}"
            item = await asyncio.to_thread(
                self.store.record_dispatch_failure, kind, item_id, customer_id, error, at=utcnow()
            )
            log.warning(
                "dispatch of %s %s failed (attempt %d, %s): %s",
                kind,
                item_id,
                item.attempts,
                item.state,
                error,
                exc_info=True,
            )
            if raise_failure:  # an operator's retry: they hear of it at once
                where = (
                    "parked" if item.state == "parked" else f"next try at {item.next_attempt_at}"
                )
                raise Conflict(
                    f"dispatch of {kind} {item_id} failed again ({where}): {error}"
                ) from exc
            return DispatchReport(pending=True)
