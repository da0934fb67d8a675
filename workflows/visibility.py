"""The enrollment's place as Temporal visibility sees it: custom search attributes
(journey, version, step, status) upserted when the enrollment enters a step, so the
API counts who waits where with one visibility query and the Web UI filters by them.

Each upsert is one command (one history event) in a workflow task that runs anyway;
it is issued only when a value changes. Histories recorded before these attributes
replay without them: ``workflow.patched`` guards every upsert.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate

with workflow.unsafe.imports_passed_through():
    from engine.contracts.journey import SA_JOURNEY, SA_STATUS, SA_STEP, SA_VERSION

PATCH_ID = "search-attributes-v1"


class Visibility:
    """What this run last upserted; a new run (continue-as-new) upserts afresh."""

    def __init__(self, journey_id: str, version: int) -> None:
        self.journey_id, self.version = journey_id, version
        self.step: str | None = None
        self.status: str | None = None
        self.on: bool | None = None  # decided once per run, at the first upsert

    def enter(self, step: str) -> None:
        """The enrollment entered ``step`` (running)."""
        if not self._enabled() or (step == self.step and self.status == "running"):
            return
        updates: list[SearchAttributeUpdate[Any]] = []
        if self.step is None:
            updates += [SA_JOURNEY.value_set(self.journey_id), SA_VERSION.value_set(self.version)]
        updates.append(SA_STEP.value_set(step))
        if self.status != "running":
            updates.append(SA_STATUS.value_set("running"))
        self.step, self.status = step, "running"
        workflow.upsert_search_attributes(updates)

    def ended(self, status: str) -> None:
        """The enrollment ended; the step it ended at stays for the Web UI."""
        if not self._enabled() or status == self.status:
            return
        self.status = status
        workflow.upsert_search_attributes([SA_STATUS.value_set(status)])

    def _enabled(self) -> bool:
        if self.on is None:
            self.on = workflow.patched(PATCH_ID)
        return self.on
