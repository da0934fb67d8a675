"""The call-task page's rig: the console over a database of its own, with a worker, so
a journey's handoff step creates the tasks staff work (as in production) and an
outcome resumes the enrollment.

A small chain of its own rather than the shared demo database: the journey, its
enrollments and tasks stay out of the other pages' figures. Users: the conftest's one
of each role, and ``zhao.desk``, staff of another clinic (c05).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from engine.contracts.journey import EnrollmentResult
from engine.models.users import Role
from engine.store.records import HandoffTask, Identities
from engine.store.sql import SqlStore
from tests.browser.conftest import USERS, ConsoleServer
from tests.browser.rig import worker_stack

#: The conftest's users, and staff of a clinic none of the tasks belong to.
TASK_USERS: dict[str, tuple[Role, list[str], str]] = {
    **USERS,
    "zhao.desk": ("staff", ["c05"], "赵前台"),
}

#: A call-back journey: one handoff to the optometrists of the customer's clinic, due
#: in 4 hours, with two outcomes, then the end.
CALLBACK: dict[str, Any] = {
    "id": "callback",
    "name": "复查回电",
    "trigger": {"api": True},
    "steps": [
        {
            "id": "call",
            "handoff": {
                "queue": "optometrist",
                "clinic": "{{ customer.clinic_id }}",
                "message": "notice",
                "due": "4h",
                "outcomes": {"booked": "done", "declined": "done"},
            },
        },
        {"id": "done", "exit": "called"},
    ],
}


@dataclass
class TaskRig:
    """The served console, the Temporal environment and the API as an admin key."""

    server: ConsoleServer
    env: WorkflowEnvironment
    api: httpx.AsyncClient

    @property
    def store(self) -> SqlStore:
        return self.server.store

    def customer(self, name: str, phone: str, clinic: str, **attributes: Any) -> str:
        """A customer of ``clinic`` (identified as an integration would)."""
        found = self.store.identify(
            Identities(phone=phone),
            {"name": name, "clinic_id": clinic, **attributes},
            at=datetime.now(UTC),
        )
        return found.customer_id

    async def enroll(self, customer_id: str) -> str:
        """Enroll the customer in the call-back journey; the enrollment's id."""
        response = await self.api.post(
            "/v1/journeys/callback/enrollments", json={"customer": {"customer_id": customer_id}}
        )
        assert response.status_code == 201, response.text
        return str(response.json()["enrollment_id"])

    async def task_of(self, enrollment_id: str, timeout: float = 20.0) -> HandoffTask:
        """The handoff task the enrollment's journey created (waits for the worker)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for task in self.store.list_tasks():
                if task.enrollment_id == enrollment_id:
                    return task
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"no handoff task for {enrollment_id}")
            await asyncio.sleep(0.1)

    async def result(self, enrollment_id: str) -> EnrollmentResult:
        """Wait for the enrollment's workflow to end."""
        handle = self.env.client.get_workflow_handle(enrollment_id, result_type=EnrollmentResult)
        result = await asyncio.wait_for(handle.result(), 30)
        assert isinstance(result, EnrollmentResult)
        return result


@asynccontextmanager
async def task_rig(env: WorkflowEnvironment, folder: Path) -> AsyncIterator[TaskRig]:
    """The console with a worker over a fresh database, the call-back journey deployed."""
    async with worker_stack(env, folder, TASK_USERS, CALLBACK, "tasks") as stack:
        yield TaskRig(stack.console, env, stack.api)
