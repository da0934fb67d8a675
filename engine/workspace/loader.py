"""Reading workspace YAML into models, with every problem tied to a file and line.

The round-trip loader of ruamel.yaml keeps the line of every mapping key and list item,
so a pydantic error (``loc = ("steps", 0, "send", "send", "chanels")``) can be walked
back to the line the operator wrote. :func:`load_workspace` reads every file, collects
every problem (YAML syntax, schema, duplicate ids, then the checks of
:mod:`engine.workspace.validate`) and raises them all at once, so one run shows everything to fix.

``Workspace.files`` maps ``"journeys/<id>"``, ``"messages/<id>"`` and ``"segments/<id>"``
to the file each came from (a journey and a message may share an id; two journeys may not).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel
from ruamel.yaml.comments import CommentedMap

from engine.errors import Problem, ValidationFailed
from engine.models.journey import Journey, Segment
from engine.models.message import Message
from engine.models.reading import Loaded, PathPart, read_model
from engine.models.workspace import Workspace
from engine.workspace import events as events_file
from engine.workspace.tagging import DOCUMENT, load_tagging
from engine.workspace.validate import validate_workspace

FOLDERS = (("journeys", Journey), ("messages", Message), ("segments", Segment))


def _files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


def load_workspace(root: str | Path) -> Workspace:
    """Read journeys/, messages/ and segments/; raise ValidationFailed listing every problem."""

    base = Path(root)
    if not base.is_dir():
        raise ValidationFailed(
            [Problem(str(root), None, "the workspace folder does not exist", None, "E-workspace")]
        )
    if not any((base / folder).is_dir() for folder, _ in FOLDERS):
        what = "not a carepath workspace: no journeys/, messages/ or segments/ folder"
        fix = "run carepath in the folder that holds journeys/, or pass it as an argument"
        raise ValidationFailed([Problem(str(root), None, what, fix, "E-workspace")])
    problems: list[Problem] = []
    loaded: dict[str, Loaded] = {}
    found: dict[str, dict[str, BaseModel]] = {folder: {} for folder, _ in FOLDERS}
    files: dict[str, str] = {}
    invalid: set[str] = set()  # files with an id that failed to load: not "missing"
    for folder, model_type in FOLDERS:
        for path in _files(base / folder):
            item = read_model(path, model_type)
            loaded[item.file] = item
            problems.extend(item.problems)
            model = item.model
            if model is None:
                raw_id = item.tree.get("id") if isinstance(item.tree, CommentedMap) else None
                if isinstance(raw_id, str):
                    invalid.add(f"{folder}/{raw_id}")
                continue
            model_id: str = getattr(model, "id")  # noqa: B009 - every workspace model has one
            key = f"{folder}/{model_id}"
            if key in files:
                problems.append(
                    Problem(
                        item.file,
                        item.line(("id",)),
                        f"{folder[:-1]} id {model_id!r} is already used by {files[key]}",
                        "give each file its own id (usually the file name without .yaml)",
                        "E-duplicate-id",
                    )
                )
                continue
            files[key] = item.file
            found[folder][model_id] = model
    workspace = Workspace(
        root=str(root),
        journeys={k: v for k, v in found["journeys"].items() if isinstance(v, Journey)},
        messages={k: v for k, v in found["messages"].items() if isinstance(v, Message)},
        segments={k: v for k, v in found["segments"].items() if isinstance(v, Segment)},
        files=files,
    )

    tagging, tagging_problems = load_tagging(base)
    problems.extend(tagging_problems)
    if tagging is not None:
        workspace.documents[DOCUMENT] = tagging
    roles, roles_problems = events_file.load_events(base)
    problems.extend(roles_problems)
    if roles is not None:
        workspace.documents[events_file.DOCUMENT] = roles

    def locate(file: str, path: tuple[PathPart, ...]) -> int | None:
        item = loaded.get(file)
        return item.line(path) if item is not None else None

    problems.extend(validate_workspace(workspace, locate, invalid=invalid))
    if problems:
        raise ValidationFailed(problems)
    return workspace
