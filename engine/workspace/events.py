"""Reading a workspace's ``events.yaml`` and the event roles of what is deployed.

:func:`load_events` reads the file (problems name file, line and fix, like every
workspace file); the loader puts the validated document into
``Workspace.documents["events"]`` and a deploy stores it, so every process reads the
same roles. :func:`deployed_roles` gives those roles merged over the contract's
defaults (:func:`engine.models.events.effective_roles`).

A workspace without ``events.yaml`` deploys an empty document: the defaults apply.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from engine.errors import Problem
from engine.models.events import EventRoles, EventsFile, effective_roles
from engine.models.reading import read_model

__all__ = ["DOCUMENT", "FILE", "DocumentReader", "deployed_roles", "load_events"]

#: The document name a deploy stores the roles under.
DOCUMENT = "events"
FILE = "events.yaml"


class DocumentReader(Protocol):
    """What reading the deployed roles needs of a store."""

    def get_document(self, name: str) -> dict[str, Any] | None: ...


def load_events(root: str | Path) -> tuple[dict[str, Any] | None, list[Problem]]:
    """The workspace's ``events.yaml`` as a document, and what is wrong with it.

    No file: the empty document (the defaults). A file with problems: None.
    """
    path = Path(root) / FILE
    if not path.is_file():
        return {}, []
    loaded = read_model(path, EventsFile)
    model = loaded.model
    if loaded.problems or not isinstance(model, EventsFile):
        return None, loaded.problems
    problems: list[Problem] = []
    for role, names in _written_roles(model).items():
        for name in names:
            defined = model.events.get(name)
            if defined is not None and defined.role != role:
                problems.append(
                    Problem(
                        loaded.file,
                        loaded.line(("events", name, "role")),
                        f"event {name!r} is listed under {role} but defined with role "
                        f"{defined.role}",
                        "give each event one role: remove it from one of the two places",
                        "E-event-role",
                    )
                )
    if problems:
        return None, problems
    return model.model_dump(mode="json", exclude_none=True, exclude_defaults=True), []


def _written_roles(model: EventsFile) -> dict[str, list[str]]:
    roles = ("conversion", "refund", "loss", "booking", "lead", "intent", "share")
    return {r: list(getattr(model, r)) for r in roles if getattr(model, r) is not None}


def deployed_roles(store: DocumentReader) -> EventRoles:
    """The effective event roles of the deployed workspace (defaults when none)."""
    return effective_roles(store.get_document(DOCUMENT))
