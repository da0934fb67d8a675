"""The journey pages' rig: the console over a database of its own with a worker, so an
event tracked through ``/v1/track`` enrolls a customer and the journey's figures move
while the page watches.

The journey: a tag (its activity stores the trace, so "reached" moves at once), a
split (one variant and a holdout), then a wait of 30 days for a booking. Nobody leaves
it during a test; what is still running at the end is cancelled through the workflow
itself.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.client import WorkflowExecutionStatus
from temporalio.testing import WorkflowEnvironment

from activities.channels.registry import build_adapters
from api.app import create_app
from engine.contracts.journey import CancelSignal
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from engine.store.sql import SqlStore
from simulators import ProviderSimulators
from tests.browser.conftest import PASSWORD, USERS, ConsoleServer, serving
from tests.db import migrated_database
from tests.factories import workspace
from worker import build_worker

#: The event that enrolls a customer in ``WATCHED``.
EVENT = "visit.completed"

WATCHED: dict[str, Any] = {
    "id": "recheck",
    "name": "复查邀约",
    "trigger": {"event": EVENT},
    "goal": {"event": "appointment.booked", "within": "30d"},
    "exit_when": [{"event": "optout"}],
    "steps": [
        {"id": "welcome", "tag": {"add": "复查邀约"}},
        {
            "id": "pick",
            "split": {"variants": [{"name": "remind", "weight": 1, "goto": "hold"}], "holdout": 1},
        },
        {
            "id": "hold",
            "wait_for": {"event": "appointment.booked", "timeout": "30d"},
            "on_event": "booked",
            "on_timeout": "gave_up",
        },
        {"id": "booked", "exit": "booked"},
        {"id": "gave_up", "exit": "no_booking"},
    ],
}


@dataclass
class JourneyRig:
    """The served console, the API as an admin key, and an ingest key's header."""

    server: ConsoleServer
    env: WorkflowEnvironment
    api: httpx.AsyncClient
    ingest: dict[str, str]

    @property
    def store(self) -> SqlStore:
        return self.server.store

    async def track(self, phone: str) -> list[str]:
        """Track ``EVENT`` for a customer by phone, as an integration would; the
        enrollments it started."""
        body = {"customer": {"phone": phone}, "event": EVENT, "message_id": uuid.uuid4().hex}
        response = await self.api.post("/v1/track", json=body, headers=self.ingest)
        assert response.status_code == 202, response.text
        return list(response.json()["enrolled"])


@asynccontextmanager
async def journey_rig(env: WorkflowEnvironment, folder: Path) -> AsyncIterator[JourneyRig]:
    """The console with a worker over a fresh database, ``WATCHED`` deployed."""
    with migrated_database(folder) as url:
        store = SqlStore(url)
        for username, (role, clinics, name) in USERS.items():
            store.create_user(username, PASSWORD, role, clinics, display_name=name)
        queue = f"journeys-{uuid.uuid4().hex[:8]}"
        dispatcher = Dispatcher(env.client, store, queue)
        app = create_app(store, dispatcher, Settings())
        now = datetime.now(UTC)
        _, admin = store.create_api_key("journeys-admin", ["admin"], [], at=now)
        _, ingest = store.create_api_key("journeys-ingest", ["ingest"], [], at=now)
        try:
            with ProviderSimulators() as sims:
                adapters = build_adapters(sims.channel_settings(timeout_seconds=5))
                async with build_worker(env.client, store, adapters, queue):
                    with serving(app) as base:
                        async with httpx.AsyncClient(
                            base_url=base, headers={"Authorization": f"Bearer {admin}"}
                        ) as api:
                            deployed = await api.post(
                                "/v1/journeys/deploy",
                                json={"path": str(workspace(folder / "ws", [WATCHED]))},
                            )
                            assert deployed.status_code == 200, deployed.text
                            yield JourneyRig(
                                ConsoleServer(base, app, store),
                                env,
                                api,
                                {"Authorization": f"Bearer {ingest}"},
                            )
                    await _cancel_running(env, store)
        finally:
            store.close()


async def _cancel_running(env: WorkflowEnvironment, store: SqlStore) -> None:
    # Through the workflow itself, never terminate (a terminated run's timer would hold
    # the shared test server's clock).
    for record in store.list_enrollments(status="running", limit=1000):
        handle = env.client.get_workflow_handle(record.id)
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.signal("cancel", CancelSignal(reason="test finished"))
            await handle.result()
