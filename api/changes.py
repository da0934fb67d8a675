"""After a customer's tags, attributes or consents changed through the API."""

from __future__ import annotations

import logging
from typing import Any

from engine.dispatch.dispatcher import TEMPORAL_UNREACHABLE, Dispatcher, DispatchReport
from engine.store.records import TagChange

log = logging.getLogger("carepath.api")


async def dispatch_changes(
    dispatcher: Dispatcher, customer_id: str, changes: list[TagChange], context: dict[str, Any]
) -> tuple[DispatchReport, bool]:
    """Enroll on the added tags, then act on the segments the customer entered or left.

    (report, pending): pending when Temporal could not be reached; the changes are
    stored, and the dispatcher's sweep acts on them when it can.
    """
    try:
        report = await dispatcher.tags_changed(changes, context)
        report.merge(await dispatcher.customers_changed([customer_id]))
    except TEMPORAL_UNREACHABLE:
        log.warning("dispatch of the changes of %s deferred", customer_id, exc_info=True)
        return DispatchReport(), True
    return report, False
