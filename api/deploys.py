"""Deploying a workspace: the one sequence ``POST /v1/journeys/deploy`` and the console's
工作区 share, and the change log line each deploy leaves.

A deploy is ``dispatcher.deploy`` (validate, then store the journeys, segments and
documents; nothing is stored when the workspace is invalid), then the Temporal
schedules of scheduled journeys and of segment refreshes follow. Each deploy is logged
as ``workspace.deployed``: who (``console:<username>``, ``key:<key id>``), from where
(the server's folder or an uploaded file's name) and what changed: each journey's
version before and after, and the segments added, changed and removed.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from engine.dispatch.dispatcher import Dispatcher
from engine.expressions.clock import utcnow
from engine.models.changes import ChangeRecord, NewChange
from engine.store.records import JourneyVersionInfo
from engine.store.service_store import ServiceStore

__all__ = [
    "DeployDetail",
    "DeployLine",
    "JourneyChange",
    "SegmentChanges",
    "SourceKind",
    "deploy_history",
    "deploy_workspace",
]

SourceKind = Literal["folder", "upload"]
#: The change log's subject for every deploy (there is one workspace per installation).
SUBJECT = "workspace"
HISTORY_LIMIT = 20


class JourneyChange(BaseModel):
    """One journey of a deploy: its version before (None: new) and after."""

    journey_id: str
    before: int | None = None
    after: int

    @property
    def change(self) -> Literal["new", "new_version", "unchanged"]:
        """New journey, a new version of it, or the same version kept."""
        if self.before is None:
            return "new"
        return "unchanged" if self.before == self.after else "new_version"


class SegmentChanges(BaseModel):
    """The segments a deploy added, changed and removed (unchanged ones are not kept)."""

    added: list[str] = Field(default_factory=list)
    changed: list[str] = Field(default_factory=list)
    removed: list[str] = Field(default_factory=list)


class DeployDetail(BaseModel):
    """A ``workspace.deployed`` line's detail."""

    source: SourceKind
    name: str = Field(description="the folder deployed, or the uploaded file's name")
    journeys: list[JourneyChange] = Field(default_factory=list)
    segments: SegmentChanges = Field(default_factory=SegmentChanges)


class DeployLine(BaseModel):
    """A deploy as the history shows it."""

    at: datetime
    actor_kind: Literal["console", "key", "other"]
    actor_name: str
    detail: DeployDetail


async def deploy_workspace(
    dispatcher: Dispatcher,
    store: ServiceStore,
    root: Path,
    journey_id: str | None = None,
    *,
    actor: str,
    source: SourceKind,
    name: str,
) -> list[JourneyVersionInfo]:
    """Validate and deploy the workspace at ``root`` (every journey, or one), log it,
    then make the schedules follow; the versions deployed. Raises what
    ``dispatcher.deploy`` raises (``ValidationFailed``: nothing deployed)."""
    before = {jid: version for jid, version, _ in await asyncio.to_thread(store.deployment)}
    infos, segments = await asyncio.to_thread(_deploy, dispatcher, root, journey_id)
    detail = DeployDetail(
        source=source,
        name=name,
        journeys=[
            JourneyChange(journey_id=i.journey_id, before=before.get(i.journey_id), after=i.version)
            for i in infos
        ],
        segments=segments,
    )
    # Logged before the schedules follow: the store has changed whether or not Temporal
    # answers now (the next deploy, pause or resume syncs the schedules again).
    change = NewChange(
        at=utcnow(),
        actor=actor,
        action="workspace.deployed",
        subject_kind="workspace",
        subject_id=SUBJECT,
        detail=detail.model_dump(mode="json"),
    )
    await asyncio.to_thread(store.record_change, change)
    await dispatcher.sync_schedules([i.journey_id for i in infos])
    await dispatcher.sync_segment_schedules()
    return infos


def _deploy(
    dispatcher: Dispatcher, root: Path, journey_id: str | None
) -> tuple[list[JourneyVersionInfo], SegmentChanges]:
    infos = dispatcher.deploy(root, journey_id)
    # What this deploy did to the segments (set by it, in this thread, just now).
    done = dispatcher.deployment.segments_deployed
    segments = SegmentChanges.model_validate(done.model_dump()) if done else SegmentChanges()
    return infos, segments


def deploy_history(store: ServiceStore, limit: int = HISTORY_LIMIT) -> list[DeployLine]:
    """The last ``limit`` deploys, newest first."""
    records = store.list_changes(
        subject_kind="workspace", actions=["workspace.deployed"], limit=limit
    )
    return [line for line in map(_line, records) if line is not None]


def _line(record: ChangeRecord) -> DeployLine | None:
    try:
        detail = DeployDetail.model_validate(record.detail)
    except ValidationError:  # a line this code did not write: not a deploy it can show
        return None
    kind, _, name = record.actor.partition(":")
    actor_kind: Literal["console", "key", "other"] = "other"
    if kind in ("console", "key") and name:
        actor_kind = "console" if kind == "console" else "key"
    else:
        name = record.actor
    return DeployLine(at=record.at, actor_kind=actor_kind, actor_name=name, detail=detail)
