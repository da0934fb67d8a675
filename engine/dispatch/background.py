"""Starting the one background workflow (``carepath-background``).

Every worker calls :func:`ensure_background` at start-up. The workflow id is fixed and
the start uses the conflict policy USE_EXISTING, so the first worker starts it and the
others find it running: exactly one sweep and one WeCom reader however many workers
and API processes run. If the workflow failed or was terminated, the next worker start
(or ``carepath up``) starts it again.
"""

from __future__ import annotations

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from engine.contracts.background import (
    BACKGROUND_WORKFLOW,
    BACKGROUND_WORKFLOW_ID,
    BackgroundInput,
)


async def ensure_background(
    client: Client, task_queue: str, arg: BackgroundInput | None = None
) -> str:
    """Start the background workflow unless it runs already; its run id."""
    handle = await client.start_workflow(
        BACKGROUND_WORKFLOW,
        arg or BackgroundInput(),
        id=BACKGROUND_WORKFLOW_ID,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    return handle.result_run_id or ""
