"""The workspace deployed as ``carepath up`` deploys it (``engine.dispatch.deployment``),
without Temporal: documents and journeys before the history, segments after it.

Journeys are deployed dated the day before the history starts, so every demo
enrollment runs a version that existed when it started. Segments are deployed once the
population is written: their first members are then computed over it in SQL (the
deploy's baseline, which starts no journey), and no ingested event pays for
re-evaluating them. Schedules are Temporal's and are left to ``carepath up``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from engine.models.workspace import JourneyBundle, Workspace
from engine.store.circuits import deployed_templates
from engine.store.sql import SqlStore
from engine.workspace.loader import load_workspace

__all__ = ["Deployed", "deploy_journeys", "deploy_segments"]


@dataclass(frozen=True, slots=True)
class Deployed:
    workspace: Workspace
    bundles: dict[str, JourneyBundle]  # journey id -> the deployed current version

    def playable(self, journey_id: str, steps: frozenset[str]) -> JourneyBundle | None:
        """The deployed journey when its steps are the ones the demo plays, else None
        (a workspace of one's own may have changed or left out the example journey)."""
        bundle = self.bundles.get(journey_id)
        if bundle is None or {s.id for s in bundle.journey.steps} != steps:
            return None
        return bundle


def deploy_journeys(store: SqlStore, root: Path, *, at: datetime) -> Deployed:
    """Deploy the workspace's documents and journeys (unchanged ones keep their version)."""
    workspace = load_workspace(root)
    for name, document in sorted(workspace.documents.items()):
        store.put_document(name, document, at=at)
    bundles: dict[str, JourneyBundle] = {}
    for journey_id in sorted(workspace.journeys):
        info = store.deploy(workspace.bundle(journey_id), at=at)
        bundles[journey_id] = store.get_bundle(journey_id, info.version)
    return Deployed(workspace, bundles)


def deploy_segments(store: SqlStore, deployed: Deployed, *, at: datetime) -> None:
    """Deploy every segment of the workspace (members computed now) and close the
    configuration circuits of templates the deploy changed, as a deploy does."""
    workspace = deployed.workspace
    store.deploy_segments(workspace.segments, at=at)
    store.close_changed_circuits(deployed_templates(list(workspace.messages.values())), at=at)
