"""The staff side of ``bench.enroll``: loops that complete the handoff tasks the
journeys create, through the API (carepath) or the store and a signal (the
hand-written yardstick), as a staff screen would, only far more often."""

from __future__ import annotations

import asyncio

from bench.stack import Stack
from engine.contracts.journey import HandoffOutcomeSignal

__all__ = ["HANDWRITTEN_QUEUE", "POLL", "QUEUE", "HandoffCompleter", "StoreCompleter"]

QUEUE = "bench"
HANDWRITTEN_QUEUE = "optometrist"  # hard-coded in bench/handwritten.py
POLL = 0.2  # seconds between handoff-queue polls (a staff screen polls far less often)


class HandoffCompleter:
    """One loop: lists the bench queue and completes every task it has not completed yet."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.submitted: set[str] = set()
        self.pending: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        while True:
            try:
                r = await self.stack.call("GET", "/v1/handoffs", params={"queue": QUEUE})
            except RuntimeError:
                continue  # recorded in stack.failures; poll again
            for task in r.json():
                if task["id"] not in self.submitted:
                    self.submitted.add(task["id"])
                    job = asyncio.create_task(self._complete(task["id"]))
                    self.pending.add(job)
                    job.add_done_callback(self.pending.discard)
            await asyncio.sleep(POLL)

    async def _complete(self, task_id: str) -> None:
        path = f"/v1/handoffs/{task_id}/complete"
        try:
            await self.stack.call("POST", path, json={"outcome": "done"})
        except RuntimeError:
            self.submitted.discard(task_id)  # the next poll tries again


class StoreCompleter:
    """One loop: reads open tasks from the store, completes them and signals the outcome."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.submitted: set[str] = set()
        self.pending: set[asyncio.Task[None]] = set()

    async def run(self) -> None:
        store = self.stack.store
        while True:
            tasks = await asyncio.to_thread(store.list_open_tasks, queue=HANDWRITTEN_QUEUE)
            for task in tasks:
                if task.id not in self.submitted:
                    self.submitted.add(task.id)
                    job = asyncio.create_task(self._complete(task.id, task.enrollment_id))
                    self.pending.add(job)
                    job.add_done_callback(self.pending.discard)
            await asyncio.sleep(POLL)

    async def _complete(self, task_id: str, workflow_id: str) -> None:
        try:
            await asyncio.to_thread(self.stack.store.complete_task, task_id, "done")
            signal = HandoffOutcomeSignal(task_id=task_id, outcome="done")
            handle = self.stack.client.get_workflow_handle(workflow_id)
            await handle.signal("handoff_outcome", signal)
        except Exception as exc:  # counted; the next poll tries again
            first = str(exc).splitlines()[0] if str(exc) else ""
            self.stack.failures.append(f"complete {task_id}: {type(exc).__name__} {first}")
            self.submitted.discard(task_id)
