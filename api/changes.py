"""After events were accepted, or a customer's tags, attributes or consents changed,
through the API."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi.concurrency import run_in_threadpool

from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.pending import dispatch_or_defer
from engine.dispatch.report import DispatchReport
from engine.models.attribution import utm_touches
from engine.store.records import Identities, NewEvent, StoredEvent, TagChange
from engine.store.service_store import ServiceStore


async def accept_events(
    store: ServiceStore,
    dispatcher: Dispatcher,
    items: Sequence[tuple[Identities, NewEvent]],
    now: datetime,
) -> tuple[list[StoredEvent], DispatchReport, bool]:
    """What ``/v1/track`` (and the Segment routes) do with a batch: store it in one
    transaction (once per message id), record its UTM touches, then dispatch.

    Touches go in one more transaction, only for events carrying ``utm_source``, before
    dispatch, so the journeys they start see the first touch. (stored, report,
    pending): pending when Temporal could not be reached; the sweep acts on the stored
    events when it can (a repeat of the request does so too).
    """
    stored = await dispatcher.accept(items, at=now)
    visits = utm_touches(stored)
    if visits:
        await run_in_threadpool(store.record_touches, visits)
    report, pending = await dispatch_or_defer(
        lambda: dispatcher.events_accepted(stored), "%d event(s)", len(stored)
    )
    return stored, report, pending


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
