"""Segment's own Python SDK, pointed at carepath over real HTTP: track, identify and page
calls in gzip batches, and a batch it retries after a dropped connection stored once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from segment.analytics import Client

from cli.devserver import free_port
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.e2e


class DroppingProxy:
    """A TCP proxy to the API that, on its first connection, forwards the request,
    waits for the API's answer and closes the connection instead of passing it on: the
    SDK sees a network error after carepath acted, and sends the same batch again."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = free_port()
        self.connections = 0
        self.dropped = 0

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        sending = asyncio.create_task(self._pipe(reader, up_writer))
        if self.connections == 1:
            await up_reader.read(65536)  # carepath has answered: the batch is stored
            self.dropped += 1
            writer.transport.abort()
            up_writer.close()
            sending.cancel()
            return
        await self._pipe(up_reader, writer)
        sending.cancel()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[DroppingProxy]:
        server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        async with server:
            yield self


async def customer_events(stack: Stack, **identity: str) -> tuple[str, list[dict[str, Any]]]:
    found = await stack.http.post(
        "/v1/identify", json={"customer": identity}, headers=stack.headers("ingest")
    )
    customer = found.json()["customer_id"]
    events = await stack.http.get(f"/v1/customers/{customer}/events", headers=stack.headers())
    return customer, list(events.json())


async def test_the_sdk_sends_gzip_batches_and_a_retried_batch_counts_once(stack: Stack) -> None:
    port = int(stack.base_url.rsplit(":", 1)[1])
    errors: list[Any] = []
    async with DroppingProxy(port).running() as proxy:
        sdk = Client(
            write_key=stack.keys["ingest"],
            host=f"http://127.0.0.1:{proxy.port}/segment",
            gzip=True,
            max_retries=3,
            upload_size=2,
            on_error=lambda error, batch: errors.append(error),
        )
        sdk.identify(
            "M-sdk-1",
            {"phone": "13700137011", "name": "小周", "clinic_id": "sz-01"},
            anonymous_id="anon-sdk-1",
        )
        sdk.track("M-sdk-1", "content.viewed", {"content_id": "article-7"})
        sdk.page(
            "M-sdk-1",
            name="mall",
            properties={"path": "/mall"},
            context={"campaign": {"source": "wechat", "medium": "article", "name": "summer"}},
        )
        sdk.track(anonymous_id="anon-sdk-2", event="form.submitted", properties={"form_id": "f1"})
        # The SDK is synchronous: its flush waits in a thread while this loop serves it.
        await asyncio.to_thread(sdk.flush)
        await asyncio.to_thread(sdk.join)

    assert errors == []
    assert proxy.dropped == 1 and proxy.connections >= 2  # the first batch went twice
    customer, events = await customer_events(stack, phone="13700137011")
    assert customer == (await customer_events(stack, anonymous_id="anon-sdk-1"))[0]
    assert sorted(e["name"] for e in events) == ["content.viewed", "page.viewed"]
    assert len({e["message_id"] for e in events}) == 2
    page = next(e for e in events if e["name"] == "page.viewed")
    assert page["properties"]["page"] == "mall"
    assert page["properties"]["utm_source"] == "wechat"
    profile = (await stack.http.get(f"/v1/customers/{customer}", headers=stack.headers())).json()
    assert profile["attributes"]["name"] == "小周"
    _, visitor_events = await customer_events(stack, anonymous_id="anon-sdk-2")
    assert [e["name"] for e in visitor_events] == ["form.submitted"]
