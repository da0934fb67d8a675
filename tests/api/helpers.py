"""The rig the API tests share: the app's clients per API key, and small helpers."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from engine.contracts.journey import EnrollmentResult
from engine.dispatch.dispatcher import Dispatcher
from engine.store.sql import SqlStore
from simulators import ProviderSimulators

ROOT = Path(__file__).parents[2]
EYE_CLINIC = ROOT / "examples" / "eye-clinic"


@dataclass
class Api:
    """The app under test, the parts behind it, and one client per API key."""

    env: WorkflowEnvironment
    store: SqlStore
    dispatcher: Dispatcher
    sims: ProviderSimulators
    admin: httpx.AsyncClient
    ingest: httpx.AsyncClient
    staff: httpx.AsyncClient
    other_staff: httpx.AsyncClient
    anonymous: httpx.AsyncClient

    async def wait_for(
        self, what: str, check: Callable[[], Awaitable[Any]], timeout: float = 20.0
    ) -> Any:
        """Poll ``check()`` (async) until it returns something truthy."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = await check()
            if found:
                return found
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            await asyncio.sleep(0.05)

    async def result(self, enrollment_id: str) -> EnrollmentResult:
        """Wait for the enrollment's workflow to end (time skips meanwhile)."""
        handle = self.env.client.get_workflow_handle(enrollment_id, result_type=EnrollmentResult)
        result = await handle.result()
        assert isinstance(result, EnrollmentResult)
        return result


async def deploy(api: Api, path: Path = EYE_CLINIC, journey: str | None = None) -> Any:
    """Deploy a workspace through the API; the response body."""
    body: dict[str, Any] = {"path": str(path)}
    if journey:
        body["journey"] = journey
    response = await api.admin.post("/v1/journeys/deploy", json=body)
    assert response.status_code == 200, response.text
    return response.json()


async def identify(api: Api, **body: Any) -> str:
    """Identify a customer with the ingest key; the customer id."""
    response = await api.ingest.post("/v1/identify", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["customer_id"])
