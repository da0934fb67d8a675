"""The outbox: work accepted but not yet handed to Temporal, and what failed.

Everything the API accepts is stored before it is dispatched; what could not be
dispatched (Temporal away, or the item's own failure: a journey key that does not
render, ...) waits here. The sweep retries failures with backoff and parks an item
after repeated failures; an operator lists them, retries one at once, or discards it.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response, status
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, DispatcherDep, StoreDep
from api.errors import problem_responses
from api.schemas.common import dispatch_fields
from api.schemas.outbox import (
    OutboxItemPublic,
    OutboxKindName,
    OutboxPage,
    OutboxRetried,
    OutboxStateName,
)
from engine.dispatch.sweeps import SWEEP_AFTER
from engine.expressions.clock import utcnow
from engine.store.records import OutboxItem
from engine.store.service_store import ServiceStore

router = APIRouter(prefix="/outbox", tags=["outbox"])

Kind = Annotated[OutboxKindName, Path(description="event, tag, segment or signal")]
DEFAULT_STATES: tuple[OutboxStateName, ...] = ("pending", "retrying", "parked")
ItemId = Annotated[int, Path(ge=1, le=2**63 - 1, description="the item's id within its kind")]


@router.get("", response_model=OutboxPage)
async def list_outbox(
    caller: Admin,
    store: StoreDep,
    state: Annotated[
        list[OutboxStateName] | None,
        Query(description="only these states (default: pending, retrying and parked)"),
    ] = None,
    kind: Annotated[OutboxKindName | None, Query(description="only this kind")] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="at most this many")] = 100,
    min_age: Annotated[
        float,
        Query(
            ge=0,
            le=86400,
            description="pending items accepted at least this many seconds ago (default: "
            "the sweep's delay; younger ones are normally still being dispatched)",
        ),
    ] = SWEEP_AFTER,
) -> OutboxPage:
    """Items not dispatched yet (pending, retrying after a failure, parked), oldest
    first; discarded ones when asked for."""
    states: list[OutboxStateName] = list(dict.fromkeys(state or DEFAULT_STATES))
    before = utcnow() - timedelta(seconds=min_age)

    def read() -> list[OutboxItem]:
        store.settle_outbox()  # failures of items dispatched since are not news
        return store.outbox_items(before=before, states=states, kind=kind, limit=limit)

    items = [_public(i) for i in await run_in_threadpool(read)]
    return OutboxPage(items=items, counts=dict(Counter(i.state for i in items)))


@router.post(
    "/{kind}/{item_id}/retry",
    response_model=OutboxRetried,
    responses={
        202: {
            "model": OutboxRetried,
            "description": "Temporal unreachable: the item is due and the sweep sends it "
            "once it is back (dispatch_pending)",
        },
        **problem_responses(404, 409),
    },
)
async def retry(
    kind: Kind, item_id: ItemId, caller: Admin, dispatcher: DispatcherDep, response: Response
) -> OutboxRetried:
    """Unpark an item and dispatch it now; 409 names the error when it fails again (it
    stays parked) or when it was dispatched already."""
    report, pending = await dispatcher.retry_outbox(kind, item_id)
    if pending:
        response.status_code = status.HTTP_202_ACCEPTED
    return OutboxRetried(
        kind=kind, id=item_id, dispatched=not pending, **dispatch_fields(report, pending)
    )


@router.post(
    "/{kind}/{item_id}/discard",
    response_model=OutboxItemPublic,
    responses=problem_responses(404, 409),
)
async def discard(kind: Kind, item_id: ItemId, caller: Admin, store: StoreDep) -> OutboxItemPublic:
    """Mark an item done without dispatching it; who and when are kept with it (list
    them with state=discarded). 409 when it was dispatched already."""
    item = await run_in_threadpool(_discard, store, kind, item_id, caller.source)
    return _public(item)


def _discard(store: ServiceStore, kind: OutboxKindName, item_id: int, by: str) -> OutboxItem:
    return store.discard_outbox_item(kind, item_id, by=by, at=utcnow())


def _public(item: OutboxItem) -> OutboxItemPublic:
    return OutboxItemPublic.model_validate(item.model_dump())
