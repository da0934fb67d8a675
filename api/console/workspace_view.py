"""What the 工作区 page shows: a workspace folder's validation (each problem with its
file, relative to the workspace, and line, as ``carepath validate`` prints them; or the
journeys and segments found) and the deploy history with its times in the clinics'
timezone. Data only: the templates word it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from api.deploys import DeployLine, JourneyChange
from engine.errors import Problem, ValidationFailed
from engine.workspace.loader import load_workspace

__all__ = [
    "HistoryRow",
    "JourneyFound",
    "ProblemLine",
    "Validation",
    "history_rows",
    "problems_of",
    "validate_folder",
]


@dataclass(frozen=True)
class ProblemLine:
    """One problem: the file (relative to the workspace), line, message, fix, rule."""

    file: str
    line: int | None
    message: str
    fix: str | None
    rule: str | None


@dataclass(frozen=True)
class JourneyFound:
    """A journey of a valid workspace."""

    id: str
    name: str | None
    steps: int


@dataclass(frozen=True)
class Validation:
    """A workspace folder checked: its problems, or what it holds."""

    folder: str
    problems: list[ProblemLine] = field(default_factory=list)
    journeys: list[JourneyFound] = field(default_factory=list)
    segments: list[str] = field(default_factory=list)
    messages: int = 0

    @property
    def valid(self) -> bool:
        return not self.problems


def _relative(file: str, root: Path) -> str:
    try:
        return Path(file).relative_to(root).as_posix()
    except ValueError:
        return Path(file).name if Path(file).is_absolute() else file


def problems_of(problems: list[Problem], root: Path) -> list[ProblemLine]:
    """The problems as the page lists them, files relative to ``root``."""
    return [
        ProblemLine(_relative(p.file, root), p.line, p.message, p.fix, p.rule) for p in problems
    ]


def validate_folder(root: Path, shown_as: str | None = None) -> Validation:
    """Validate the workspace at ``root`` (blocking: it reads every file)."""
    folder = shown_as or str(root)
    try:
        workspace = load_workspace(root)
    except ValidationFailed as exc:
        return Validation(folder, problems=problems_of(exc.problems, root))
    except OSError as exc:  # a path the system cannot open at all (too long, a device...)
        problem = Problem(str(root), None, f"cannot be read: {exc}", None, "E-read")
        return Validation(folder, problems=problems_of([problem], root))
    journeys = [
        JourneyFound(j.id, j.name, len(j.steps)) for _, j in sorted(workspace.journeys.items())
    ]
    return Validation(
        folder,
        journeys=journeys,
        segments=sorted(workspace.segments),
        messages=len(workspace.messages),
    )


@dataclass(frozen=True)
class HistoryRow:
    """A deploy in the history: when (local time), who, from where, what changed."""

    at: str
    line: DeployLine
    changed: list[JourneyChange]
    unchanged: list[str]


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def history_rows(lines: list[DeployLine], timezone: str) -> list[HistoryRow]:
    """The history's rows, journeys that changed apart from those kept as they were."""
    zone = ZoneInfo(timezone)
    return [
        HistoryRow(
            at=_local(line.at, zone),
            line=line,
            changed=[j for j in line.detail.journeys if j.change != "unchanged"],
            unchanged=[j.journey_id for j in line.detail.journeys if j.change == "unchanged"],
        )
        for line in lines
    ]
