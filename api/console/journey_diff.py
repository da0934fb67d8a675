"""A deployed version as YAML, and a line diff between two of them.

The store keeps each version as the bundle's JSON (the journey with the messages and
segments it uses and the workspace timezone), not the YAML it was written in, so every
version is written out the same way (``yaml.safe_dump``, keys in the models' order,
Chinese as it is): two versions then differ in a line exactly where their content
differs. The version number is left out, as the checksum leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Literal

import yaml

from engine.models.workspace import JourneyBundle

#: Unchanged lines shown around each change.
CONTEXT = 3

LineKind = Literal["same", "added", "removed"]


def version_yaml(bundle: JourneyBundle) -> str:
    """The bundle as the store keeps it, written as YAML (unset fields left out)."""
    data = bundle.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"version"})
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=100)


@dataclass(frozen=True)
class DiffLine:
    """One line of a diff: in both versions, only the newer (added) or only the older
    (removed); ``old`` and ``new`` are its line numbers in each (None where absent)."""

    kind: LineKind
    text: str
    old: int | None
    new: int | None

    @property
    def mark(self) -> str:
        """The sign printed before the line: ``+``, ``-`` or a space."""
        return {"same": " ", "added": "+", "removed": "-"}[self.kind]


@dataclass(frozen=True)
class Hunk:
    """A run of changed lines with up to ``CONTEXT`` unchanged lines around it."""

    lines: list[DiffLine]

    @property
    def added(self) -> int:
        return sum(1 for line in self.lines if line.kind == "added")

    @property
    def removed(self) -> int:
        return sum(1 for line in self.lines if line.kind == "removed")


def line_diff(old: str, new: str, context: int = CONTEXT) -> list[Hunk]:
    """The lines that differ between ``old`` and ``new``, in hunks; none when equal."""
    before, after = old.splitlines(), new.splitlines()
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    hunks: list[Hunk] = []
    for group in matcher.get_grouped_opcodes(context):
        lines: list[DiffLine] = []
        for tag, i1, i2, j1, j2 in group:
            if tag == "equal":
                lines += [
                    DiffLine("same", before[i], i + 1, j + 1)
                    for i, j in zip(range(i1, i2), range(j1, j2), strict=True)
                ]
                continue
            lines += [DiffLine("removed", before[i], i + 1, None) for i in range(i1, i2)]
            lines += [DiffLine("added", after[j], None, j + 1) for j in range(j1, j2)]
        if any(line.kind != "same" for line in lines):
            hunks.append(Hunk(lines))
    return hunks


__all__ = ["CONTEXT", "DiffLine", "Hunk", "line_diff", "version_yaml"]
