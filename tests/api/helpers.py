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
from tests.factories import workspace

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


#: A journey that opens a handoff task in the customer's clinic and waits for it.
CALLBACK_JOURNEY = {
    "id": "callback",
    "name": "回电",
    "trigger": {"api": True},
    "steps": [
        {
            "id": "call",
            "handoff": {
                "queue": "optometrist",
                "clinic": "{{ customer.clinic_id }}",
                "message": "notice",
                "outcomes": {"booked": "done", "declined": "done"},
            },
        },
        {"id": "done", "exit": "called"},
    ],
}
CLINIC_SEGMENT = {"id": "sz_patients", "rule": {"attribute": "clinic_id", "eq": "sz-01"}}


@dataclass
class ClinicData:
    """One clinic's customer with everything a key could read of it."""

    clinic: str
    phone: str
    customer: str
    merged: str
    guardian: str
    enrollment: str
    task: str


@dataclass
class TwoClinics:
    """Customers of sz-01 (the ``staff`` key's clinic) and bj-01 (``other_staff``'s)."""

    workspace: Path
    sz: ClinicData
    bj: ClinicData


async def two_clinics(api: Api, root: Path) -> TwoClinics:
    """Deploy the callback journey and give each clinic a customer with a merge, a
    guardian, an event with a touch, a running enrollment and an open handoff task."""
    folder = workspace(root / "ws", [CALLBACK_JOURNEY], segments=[CLINIC_SEGMENT])
    await deploy(api, folder)
    made: dict[str, tuple[str, str, str, str, str]] = {}
    for clinic, phone, n in (("sz-01", "13800138001", 1), ("bj-01", "13900139002", 2)):
        customer = await identify(
            api,
            customer={"phone": phone},
            attributes={"name": f"客户{n}", "clinic_id": clinic},
            guardians=[{"identities": {"phone": f"1370013700{n}"}, "relation": "mother"}],
        )
        # A second customer of the same person, merged into the first (the older).
        merged = await identify(api, customer={"wechat_openid": f"o-clinic-{n}"})
        survivor = await identify(api, customer={"phone": phone, "wechat_openid": f"o-clinic-{n}"})
        assert survivor == customer
        event = {
            "customer": {"customer_id": customer},
            "event": "page.viewed",
            "message_id": f"m-clinic-{n}",
            "properties": {"utm_source": "poster"},
        }
        assert (await api.ingest.post("/v1/track", json=event)).status_code == 202
        enrolled = await api.admin.post(
            "/v1/journeys/callback/enrollments", json={"customer": {"customer_id": customer}}
        )
        assert enrolled.status_code == 201, enrolled.text
        guardian = api.store.guardians_of(customer)[0]
        made[clinic] = (phone, customer, merged, guardian, enrolled.json()["enrollment_id"])

    async def tasks() -> Any:
        listed = (await api.admin.get("/v1/handoffs")).json()
        return {t["clinic"]: t["id"] for t in listed} if len(listed) == 2 else None

    task_of = await api.wait_for("a handoff task in each clinic", tasks)
    sz, bj = (ClinicData(c, *made[c], task=task_of[c]) for c in ("sz-01", "bj-01"))
    return TwoClinics(folder, sz, bj)
