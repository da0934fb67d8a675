"""Where running enrollments are, from Temporal visibility: the search attributes the
interpreter upserts when an enrollment enters a step (``engine.contracts.journey``)."""

from __future__ import annotations

from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from engine.contracts.journey import SA_JOURNEY, SA_STEP, SEARCH_ATTRIBUTES


def running_query(journey_id: str, step: str | None = None) -> str:
    """The visibility query for the journey's running enrollments (at ``step``)."""
    query = f"{SA_JOURNEY.name} = {_quoted(journey_id)} AND ExecutionStatus = 'Running'"
    if step is not None:
        query += f" AND {SA_STEP.name} = {_quoted(step)}"
    return query


async def running_steps(client: Client, journey_id: str) -> dict[str, str] | None:
    """Running enrollment id -> the step it is at; None when the server answers no
    visibility queries (the time-skipping test server).

    One listing of the journey's running enrollments rather than a count per step:
    the ids also tell which of them have no stored trace entry at their step yet.
    """
    found: dict[str, str] = {}
    try:
        async for execution in client.list_workflows(running_query(journey_id), page_size=1000):
            step = execution.typed_search_attributes.get(SA_STEP)
            if step is not None:
                found[execution.id] = step
    except RPCError as exc:
        if exc.status == RPCStatusCode.UNIMPLEMENTED:
            return None
        raise
    return found


def _quoted(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


async def missing_search_attributes(client: Client, namespace: str) -> list[str]:
    """The enrollment search attributes the namespace does not have yet (a workflow
    task that upserts one of them would fail and retry until it is registered)."""
    try:
        listed = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace=namespace)
        )
    except RPCError as exc:
        if exc.status == RPCStatusCode.UNIMPLEMENTED:
            return []  # a server that cannot list them (the time-skipping test server)
        raise
    known = set(listed.custom_attributes) | set(listed.system_attributes)
    return [key.name for key in SEARCH_ATTRIBUTES if key.name not in known]
