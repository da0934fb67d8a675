"""Health that tells the truth: /healthz while the process serves, /readyz only when the
database, Temporal and a worker are there, with 503 naming the check that failed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from activities.channels.registry import build_adapters
from api.app import create_app
from cli.devserver import DevServer, free_port
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from engine.store.sql import SqlStore
from tests.api.helpers import Api
from tests.engine.store.conftest import sql_store
from worker import build_worker

__all__ = ["sql_store"]

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
async def dev_client() -> AsyncIterator[Client]:
    """The real Temporal dev server (the time-skipping test server cannot describe a
    task queue), in memory, for this module."""
    async with DevServer(None, port=free_port(), ui_port=None) as client:
        yield client


def app_client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://carepath.test"
    )


async def test_healthz_and_readyz_need_no_key_and_say_ready(
    dev_client: Client, sql_store: SqlStore
) -> None:
    queue = f"ready-{uuid.uuid4().hex[:8]}"
    app = create_app(sql_store, Dispatcher(dev_client, sql_store, queue), Settings())
    worker = build_worker(dev_client, sql_store, build_adapters(Settings().channels), queue)
    async with worker, app_client(app) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        response = await http.get("/readyz")
        for _ in range(50):  # the worker's first poll reaches the server shortly
            if response.status_code == 200:
                break
            await asyncio.sleep(0.1)
            response = await http.get("/readyz")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "ready"
    assert [(c["name"], c["ok"]) for c in body["checks"]] == [
        ("database", True),
        ("temporal", True),
        ("worker", True),
    ]


async def test_readyz_is_503_naming_the_checks_that_failed_when_temporal_is_unreachable(
    api: Api,
) -> None:
    # A client of a port nobody listens on: what the API sees when Temporal died.
    gone = await Client.connect(
        f"127.0.0.1:{free_port()}", data_converter=pydantic_data_converter, lazy=True
    )
    app = create_app(api.store, Dispatcher(gone, api.store, "q-gone"), Settings())
    async with app_client(app) as http:
        assert (await http.get("/healthz")).status_code == 200
        response = await http.get("/readyz")
    assert response.status_code == 503, response.text
    body = response.json()
    assert body["status"] == "unavailable"
    checks = {c["name"]: c for c in body["checks"]}
    assert checks["database"]["ok"] is True
    assert checks["temporal"]["ok"] is False and checks["temporal"]["detail"]
    assert checks["worker"]["ok"] is False


async def test_readyz_is_503_when_no_worker_polls_the_task_queue(
    dev_client: Client, sql_store: SqlStore
) -> None:
    app = create_app(sql_store, Dispatcher(dev_client, sql_store, "q-no-worker"), Settings())
    async with app_client(app) as http:
        response = await http.get("/readyz")
    assert response.status_code == 503, response.text
    checks = {c["name"]: c for c in response.json()["checks"]}
    assert checks["temporal"]["ok"] is True
    assert checks["worker"] == {
        "name": "worker",
        "ok": False,
        "detail": "LookupError: no worker polls task queue 'q-no-worker'",
    }


async def test_readyz_is_in_the_openapi_document_with_its_503(api: Api) -> None:
    document = (await api.anonymous.get("/openapi.json")).json()
    readyz = document["paths"]["/readyz"]["get"]
    assert {"200", "503"} <= set(readyz["responses"])
    assert "security" not in readyz
