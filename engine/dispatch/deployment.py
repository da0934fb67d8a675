"""What is deployed, as this process sees it: deploys, and the trigger index.

Deploying writes the workspace's journeys, segments and documents to the store; every
process (API, worker) then reads the deployment back into a :class:`TriggerIndex`
that the event, tag and segment dispatch consult. The index is rebuilt when the
deployment changed (a deploy, pause or resume here: at once; in another process:
within ``INDEX_MAX_AGE`` seconds).
"""

from __future__ import annotations

import time
from pathlib import Path

from temporalio.client import Client

from engine.dispatch.journey_schedules import ScheduleSync, sync_schedules
from engine.dispatch.triggers import TriggerIndex
from engine.errors import NotFound
from engine.expressions.clock import utcnow
from engine.store.circuits import deployed_templates
from engine.store.records import JourneyVersionInfo, SegmentDeploy
from engine.store.service_store import ServiceStore
from engine.workspace.loader import load_workspace

INDEX_MAX_AGE = 5.0  # seconds: other API processes' deploys are seen within this


class Deployment:
    """Deploys workspaces and keeps this process's trigger index current."""

    def __init__(self, client: Client, store: ServiceStore, task_queue: str) -> None:
        self.client = client
        self.store = store
        self.task_queue = task_queue
        #: Set by a deploy: the workspace timezone refresh crons run in, what changed.
        self.segment_timezone = "Asia/Shanghai"
        self.segments_deployed: SegmentDeploy | None = None
        self._index = TriggerIndex(())
        self._loaded_at = 0.0
        self._deployment: list[tuple[str, int, bool]] | None = None

    def index(self) -> TriggerIndex:
        """The trigger index, reloaded when older than a few seconds."""
        if time.monotonic() - self._loaded_at > INDEX_MAX_AGE:
            self.reload()
        return self._index

    def reload(self) -> None:
        """Rebuild the index when a deploy, pause or resume changed what is deployed."""
        deployment = self.store.deployment()
        if deployment != self._deployment:
            paused = [jid for jid, _, is_paused in deployment if is_paused]
            self._index = TriggerIndex(self.store.deployed_bundles(), paused)
            self._deployment = deployment
        self._loaded_at = time.monotonic()

    def deploy(self, root: Path, journey_id: str | None = None) -> list[JourneyVersionInfo]:
        """Validate a workspace and deploy every journey (or one); unchanged ones keep
        their version. ``root`` may also be one journey file inside a workspace."""
        if root.is_file():
            workspace = load_workspace(root.parent.parent)
            named = [
                name.removeprefix("journeys/")
                for name, file in workspace.files.items()
                if name.startswith("journeys/") and Path(file).resolve() == root.resolve()
            ]
            if not named:
                raise NotFound(f"{root} is not a journey file of a workspace (journeys/*.yaml)")
            journey_id = named[0]
        else:
            workspace = load_workspace(root)
        ids = [journey_id] if journey_id else sorted(workspace.journeys)
        for name, document in sorted(workspace.documents.items()):
            self.store.put_document(name, document, at=utcnow())
        # Every workspace segment, used by a journey or not (the segment dispatch's
        # sync_schedules then makes the refresh schedules follow).
        self.segments_deployed = self.store.deploy_segments(workspace.segments, at=utcnow())
        self.segment_timezone = workspace.timezone
        infos = []
        for jid in ids:
            if jid not in workspace.journeys:
                raise NotFound(f"no journey {jid!r} in {root}")
            infos.append(self.store.deploy(workspace.bundle(jid), at=utcnow()))
        # A template whose content changed (or that no message uses any more) may work
        # now: its configuration circuit closes, and the next send is the probe.
        deployed = deployed_templates(list(workspace.messages.values()))
        self.store.close_changed_circuits(deployed, at=utcnow())
        self.reload()
        return infos

    def set_paused(self, journey_id: str, paused: bool) -> None:
        """Pause or resume a journey (blocking); this process's index sees it at once,
        other processes' within ``INDEX_MAX_AGE`` seconds."""
        self.store.set_paused(journey_id, paused)
        self.reload()

    async def sync_schedules(self, journey_ids: list[str] | None = None) -> ScheduleSync:
        """Make Temporal's schedules match the deployed ``schedule`` triggers (after a
        deploy, a pause or a resume); ``engine.dispatch.journey_schedules``."""
        return await sync_schedules(self.client, self.store, self.task_queue, journey_ids)
