"""The API as a process of its own, configured from ``CAREPATH_*`` settings.

    uvicorn --factory api.main:app --host 0.0.0.0 --port 8000 [--workers N]

For installations that run the API apart from the workers (``python -m worker``):
the schema is migrated, the Temporal client connects on first use (so the API starts,
and stores events, while Temporal is still coming up: the sweep dispatches them), and
the store's connections are closed when the server stops.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from fastapi import FastAPI
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.service import RetryConfig

from api.app import create_app
from engine import heap
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings, get_settings, refuse_development_secrets
from engine.store.sql import SqlStore
from engine.store.sql.migrate import upgrade

#: Retries of the API's Temporal calls: a few, within about two seconds.
API_RETRY = RetryConfig(max_elapsed_time_millis=2000, max_retries=4, max_interval_millis=1000)


def app(settings: Settings | None = None) -> FastAPI:
    """The API over the configured database and Temporal server (a uvicorn factory)."""
    settings = settings or get_settings()
    refuse_development_secrets(settings)  # production: InsecureSettings
    upgrade(settings.database.url)
    store = SqlStore(settings.database.url)
    dispatcher = Dispatcher(lazy_client(settings), store, settings.temporal.task_queue)
    api = create_app(store, dispatcher, settings, on_shutdown=store.close)
    heap.settle()  # start-up is done: out of the collector's way (engine/heap.py)
    return api


def lazy_client(settings: Settings) -> Client:
    """A client that connects on its first call.

    ``Client.connect`` is a coroutine, and uvicorn calls the factory inside its running
    loop; with ``lazy=True`` it only builds objects (nothing is bound to a loop), so it
    runs to completion in a short-lived loop of its own thread.

    Its calls give up after about two seconds of an unreachable server (the SDK's
    default keeps retrying for ten): a request stores its change first and answers
    ``dispatch_pending`` at once, and the sweep dispatches it when Temporal is back.
    """
    connect = Client.connect(
        settings.temporal.address,
        namespace=settings.temporal.namespace,
        data_converter=pydantic_data_converter,
        retry_config=API_RETRY,
        lazy=True,
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, connect).result()
