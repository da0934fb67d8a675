"""Temporal unreachable: the change is stored, and dispatched later.

Every accepted change is committed before it is dispatched, and what is dispatched is
marked so in the outbox (events, tags, segment enters and exits). So when Temporal
cannot be reached the request still succeeds: it answers ``dispatch_pending`` and the
sweep (``engine.dispatch.sweeps``) acts on what stayed unmarked once Temporal is back.
:func:`dispatch_or_defer` is that one decision, made the same way everywhere.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from temporalio.service import RPCError

from engine.dispatch.report import DispatchReport

log = logging.getLogger("carepath.dispatch")

# What a call to Temporal raises when the frontend cannot be reached (RPCError
# UNAVAILABLE once connected; RuntimeError from a lazy client's first connect).
TEMPORAL_UNREACHABLE = (RPCError, RuntimeError, OSError, asyncio.TimeoutError)


async def dispatch_or_defer(
    dispatch: Callable[[], Awaitable[DispatchReport]], what: str, *args: object
) -> tuple[DispatchReport, bool]:
    """Run ``dispatch``; (its report, False), or (an empty report, True) when Temporal
    could not be reached, logged once as "dispatch of <what> deferred".

    A caller that wants what was done before Temporal failed lets ``dispatch`` fill a
    report of its own and keeps that one.
    """
    try:
        return await dispatch(), False
    except TEMPORAL_UNREACHABLE:
        log.warning("dispatch of " + what + " deferred", *args, exc_info=True)
        return DispatchReport(), True
