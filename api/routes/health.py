"""Health without auth, for load balancers, orchestrators and ``carepath up`` itself.

``/healthz`` says the process serves requests (restart it when this fails);
``/readyz`` says it can do its work: the database answers, Temporal answers, and a
worker polls the task queue (send traffic elsewhere, or page someone, when it fails).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Literal

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client

from api.deps import DispatcherDep, StoreDep

router = APIRouter(tags=["health"])

#: How long one check may take before it counts as failed.
CHECK_TIMEOUT = timedelta(seconds=2)
#: A worker's workflow poll lasts up to about 70 s; a poller not seen for longer
#: than this has stopped (Temporal lists pollers for minutes after they went away).
POLLER_FRESH = timedelta(seconds=90)

CheckName = Literal["database", "temporal", "worker"]


class Health(BaseModel):
    """The service answers."""

    status: Literal["ok"] = Field("ok", description="always ok when the process serves requests")


class Check(BaseModel):
    """One thing the service needs, and whether it has it."""

    name: CheckName = Field(description="database, temporal or worker")
    ok: bool = Field(description="true when the check passed")
    detail: str = Field(description="what was found, or why the check failed")


class Readiness(BaseModel):
    """Whether the service can do its work, check by check."""

    status: Literal["ready", "unavailable"] = Field(
        description="ready when every check passed (200), else unavailable (503)"
    )
    checks: list[Check] = Field(description="database, temporal and worker, in that order")


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Answer ok while the process serves requests (no auth)."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "a check failed; `checks` says which"}},
)
async def readyz(store: StoreDep, dispatcher: DispatcherDep) -> JSONResponse:
    """Answer ready when the database and Temporal answer and a worker polls (no auth)."""
    client, queue = dispatcher.client, dispatcher.task_queue

    async def database() -> str:
        await run_in_threadpool(store.ping)
        return "answers"

    checks = await asyncio.gather(
        _check("database", database),
        _check("temporal", lambda: _temporal(client)),
        _check("worker", lambda: _worker(client, queue)),
    )
    ready = all(check.ok for check in checks)
    body = Readiness(status="ready" if ready else "unavailable", checks=list(checks))
    return JSONResponse(body.model_dump(mode="json"), status_code=200 if ready else 503)


async def _check(name: CheckName, run: Callable[[], Awaitable[str]]) -> Check:
    try:
        detail = await asyncio.wait_for(run(), CHECK_TIMEOUT.total_seconds())
    except TimeoutError:
        return Check(name=name, ok=False, detail=f"no answer within {CHECK_TIMEOUT.seconds}s")
    except Exception as exc:  # any failure is the answer: readiness must not raise
        return Check(name=name, ok=False, detail=_reason(exc))
    return Check(name=name, ok=True, detail=detail)


def _reason(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text[:200]}" if text else type(exc).__name__


async def _temporal(client: Client) -> str:
    await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=CHECK_TIMEOUT)
    return f"answers at {client.service_client.config.target_host}"


async def _worker(client: Client, queue: str) -> str:
    described = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=CHECK_TIMEOUT,
    )
    now = datetime.now(UTC)
    fresh = [
        p.identity
        for p in described.pollers
        if not p.HasField("last_access_time")
        or now - p.last_access_time.ToDatetime(UTC) <= POLLER_FRESH
    ]
    if not fresh:
        raise LookupError(f"no worker polls task queue {queue!r}")
    return f"{len(fresh)} polling {queue!r}"
