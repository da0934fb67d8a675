"""After a customer's tags, attributes or consents changed through the API."""

from __future__ import annotations

from typing import Any

from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.pending import dispatch_or_defer
from engine.dispatch.report import DispatchReport
from engine.store.records import TagChange


async def dispatch_changes(
    dispatcher: Dispatcher, customer_id: str, changes: list[TagChange], context: dict[str, Any]
) -> tuple[DispatchReport, bool]:
    """Enroll on the added tags, then act on the segments the customer entered or left.

    (report, pending): pending when Temporal could not be reached; the changes are
    stored, and the dispatcher's sweep acts on them when it can.
    """

    async def dispatch() -> DispatchReport:
        report = await dispatcher.tags_changed(changes, context)
        report.merge(await dispatcher.customers_changed([customer_id]))
        return report

    return await dispatch_or_defer(dispatch, "the changes of %s", customer_id)
