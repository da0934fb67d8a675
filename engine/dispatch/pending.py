"""Temporal unreachable: the change is stored, and dispatched later.

Every accepted change is committed before it is dispatched, and what is dispatched is
marked so in its outbox (events, tags, segment enters and exits, pending signals). So
when Temporal cannot be reached the request still succeeds: it answers
``dispatch_pending`` and the sweep (``engine.dispatch.sweeps``) acts on what stayed
unmarked once Temporal is back. :func:`dispatch_or_defer` is that one decision, made
the same way everywhere; :func:`unreachable` tells Temporal's absence from an item's
own failure (which the sweep retries with backoff, then parks).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from temporalio.service import RPCError, RPCStatusCode

from engine.dispatch.report import DispatchReport

log = logging.getLogger("carepath.dispatch")

# What a call to Temporal raises when the frontend cannot be reached (RPCError
# UNAVAILABLE once connected; RuntimeError from a lazy client's first connect).
TEMPORAL_UNREACHABLE = (RPCError, RuntimeError, OSError, asyncio.TimeoutError)

#: RPC statuses that say nothing about the item: the server is away, busy or slow.
_AWAY = (
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
)


def unreachable(exc: BaseException) -> bool:
    """True when ``exc`` says Temporal could not be reached (try again later, the item
    is not to blame); False for a failure of the item itself."""
    if isinstance(exc, RPCError):
        return exc.status in _AWAY
    if isinstance(exc, RuntimeError):
        return "client connect" in str(exc)  # a lazy client's first connect
    return isinstance(exc, OSError | asyncio.TimeoutError)


async def dispatch_or_defer(
    dispatch: Callable[[], Awaitable[DispatchReport]], what: str, *args: object
) -> tuple[DispatchReport, bool]:
    """Run ``dispatch``; (its report, pending). Pending when Temporal could not be
    reached (logged once as "dispatch of <what> deferred"), when an item's dispatch
    failed (the sweep retries it with backoff), or when the dispatch itself failed
    after the change was committed: a request that wrote never answers 500 for it.

    A caller that wants what was done before a failure lets ``dispatch`` fill a report
    of its own and keeps that one.
    """
    try:
        report = await dispatch()
    except Exception as exc:
        if unreachable(exc):
            log.warning("dispatch of " + what + " deferred", *args, exc_info=True)
        else:  # stored and unmarked: the sweep does it again, and parks it if it keeps failing
            log.exception("dispatch of " + what + " failed; the sweep retries it", *args)
        return DispatchReport(), True
    return report, report.pending
