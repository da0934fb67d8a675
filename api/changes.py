"""After a customer's tags, attributes or consents changed through the API."""

from __future__ import annotations

from datetime import datetime
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


async def dispatch_attributes(
    dispatcher: Dispatcher, customer_id: str, values: dict[str, Any], at: datetime
) -> tuple[DispatchReport, bool]:
    """Re-plan the customer's running waits on these attributes (``until_attribute``).

    (report, pending): pending when Temporal could not be reached; the attributes are
    stored, and a wait that reads them later reads the new values.
    """
    return await dispatch_or_defer(
        lambda: dispatcher.signals.attributes_changed(customer_id, values, at),
        "the attribute changes of %s",
        customer_id,
    )
