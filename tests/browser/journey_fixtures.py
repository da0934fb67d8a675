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
from temporalio.testing import WorkflowEnvironment

from engine.store.sql import SqlStore
from tests.browser.conftest import USERS, ConsoleServer
from tests.browser.rig import worker_stack

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
    async with worker_stack(env, folder, USERS, WATCHED, "journeys") as stack:
        _, ingest = stack.store.create_api_key(
            "journeys-ingest", ["ingest"], [], at=datetime.now(UTC)
        )
        yield JourneyRig(stack.console, env, stack.api, {"Authorization": f"Bearer {ingest}"})
