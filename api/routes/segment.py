"""The Segment HTTP tracking API, so the SDKs clinics' sites already use work unchanged.

``POST /segment/v1/batch``, ``/track``, ``/identify`` and ``/page``, authenticated as
Segment's SDKs do (an ingest key as the HTTP Basic user name, the "write key"), with
gzip bodies. Each call goes through the same service as ``/v1/track`` and
``/v1/identify`` (``engine/intake/segment.py`` maps it), so triggers, goals, segments
and UTM touches work the same, and a repeated ``messageId`` is acted on once: an SDK
that retries a batch it never saw answered stores each message once.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute

from api.changes import accept_events, dispatch_attributes, dispatch_changes
from api.deps import DispatcherDep, StoreDep, WriteKey
from api.errors import problem_responses
from api.schemas.segment import (
    SegmentBatch,
    SegmentIdentify,
    SegmentOther,
    SegmentPage,
    SegmentResult,
    SegmentTrack,
)
from engine.dispatch.dispatcher import Dispatcher
from engine.intake.segment import to_event, to_identify
from engine.settings import Settings
from engine.store.records import Identities, NewEvent
from engine.store.service_store import ServiceStore


def _decompress(raw: bytes, encoding: str, limit: int) -> bytes:
    """The body as sent before ``Content-Encoding``; 400, 413 or 415 when it cannot be."""
    if encoding in ("", "identity"):
        return raw
    if encoding != "gzip":
        raise HTTPException(415, f"Content-Encoding {encoding!r} is not accepted: send gzip")
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        # At most limit + 1 bytes: a small body that inflates to gigabytes stops here.
        body = inflater.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise HTTPException(400, f"the body is not valid gzip ({exc})") from None
    if len(body) > limit:
        raise HTTPException(
            413,
            f"the body decompresses to more than this service accepts ({limit} bytes): "
            "send less per request (for example a smaller batch)",
        )
    if not inflater.eof:
        raise HTTPException(400, "the body is not valid gzip (it ends early)")
    return body


class GzipRequest(Request):
    """A request whose body is read through its ``Content-Encoding`` (gzip or none)."""

    _decoded: bytes

    async def body(self) -> bytes:
        if not hasattr(self, "_decoded"):
            settings = cast(Settings, self.app.state.settings)
            encoding = self.headers.get("content-encoding", "").strip().lower()
            self._decoded = _decompress(await super().body(), encoding, settings.api.max_body_bytes)
        return self._decoded


class GzipRoute(APIRoute):
    """A route that reads gzip bodies, as Segment's SDKs send them with ``gzip`` on."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def read_gzip(request: Request) -> Response:
            return await handler(GzipRequest(request.scope, request.receive))

        return read_gzip


router = APIRouter(
    prefix="/segment",
    tags=["segment"],
    route_class=GzipRoute,
    responses=problem_responses(401, 403, 422),
)
OK = SegmentResult(success=True)
Messages = Sequence[SegmentTrack | SegmentPage | SegmentIdentify | SegmentOther]


@router.post("/v1/batch", response_model=SegmentResult)
async def batch(
    body: SegmentBatch, caller: WriteKey, store: StoreDep, dispatcher: DispatcherDep
) -> SegmentResult:
    """Act on a batch of track, page and identify calls, in order (screen, group and
    alias calls are accepted and not acted on)."""
    await _act(body.batch, body.sent_at, store, dispatcher)
    return OK


@router.post("/v1/track", response_model=SegmentResult)
async def track(
    body: SegmentTrack, caller: WriteKey, store: StoreDep, dispatcher: DispatcherDep
) -> SegmentResult:
    """Store an event (once per messageId) and start what it triggers."""
    await _act([body], None, store, dispatcher)
    return OK


@router.post("/v1/page", response_model=SegmentResult)
async def page(
    body: SegmentPage, caller: WriteKey, store: StoreDep, dispatcher: DispatcherDep
) -> SegmentResult:
    """Store a page view as the event page.viewed (once per messageId)."""
    await _act([body], None, store, dispatcher)
    return OK


@router.post("/v1/identify", response_model=SegmentResult)
async def identify(
    body: SegmentIdentify, caller: WriteKey, store: StoreDep, dispatcher: DispatcherDep
) -> SegmentResult:
    """Find, merge or create the customer of these identities and set their traits."""
    await _act([body], None, store, dispatcher)
    return OK


async def _act(
    messages: Messages, sent_at: datetime | None, store: ServiceStore, dispatcher: Dispatcher
) -> None:
    """Act on the calls in order: runs of events together, as one ``/v1/track`` batch,
    each identify where it stands (so the events after it see its merges)."""
    now = datetime.now(UTC)
    events: list[tuple[Identities, NewEvent]] = []
    for message in messages:
        if isinstance(message, SegmentTrack | SegmentPage):
            call = message.model_dump(by_alias=True)
            events.append(to_event(call, received_at=now, sent_at=sent_at))
        elif isinstance(message, SegmentIdentify):
            await _track(events, store, dispatcher, now)
            events = []
            await _identify(message.model_dump(by_alias=True), store, dispatcher, now)
    await _track(events, store, dispatcher, now)


async def _track(
    items: list[tuple[Identities, NewEvent]],
    store: ServiceStore,
    dispatcher: Dispatcher,
    now: datetime,
) -> None:
    """A run of events, as ``/v1/track`` takes a batch (``api.changes.accept_events``)."""
    if items:
        await accept_events(store, dispatcher, items, now)


async def _identify(
    call: Mapping[str, Any], store: ServiceStore, dispatcher: Dispatcher, now: datetime
) -> None:
    """What ``/v1/identify`` does with identities and attributes alone."""
    identities, attributes = to_identify(call)
    result = await run_in_threadpool(store.identify, identities, attributes, at=now)
    await dispatch_changes(dispatcher, result.customer_id, [], {})
    if attributes:  # a date a running wait follows may have moved
        await dispatch_attributes(dispatcher, result.customer_id, attributes, now)
