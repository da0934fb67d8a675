"""Reading YAML into models, with every problem tied to a file and line.

The round-trip loader of ruamel.yaml keeps the line of every mapping key and list item,
so a pydantic error (``loc = ("steps", 0, "send", "send", "chanels")``) can be walked
back to the line the operator wrote. The workspace loader
(:mod:`engine.workspace.loader`), the compliance and tagging files and simulation
scenarios all read their files through :func:`read_model`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from engine.errors import Problem
from engine.models.explain import PathPart, explain_error, second_step_path

__all__ = ["Loaded", "Locate", "PathPart", "line_of", "load_model", "read_model", "read_yaml"]

M = TypeVar("M", bound=BaseModel)
Locate = Callable[[str, tuple[PathPart, ...]], int | None]
"""``locate(file, ("steps", 2, "send", "channels", 0)) -> line`` (1-based)."""


@dataclass
class Loaded:
    """One file as read: its YAML tree (with lines), the model, and what is wrong with it."""

    file: str
    tree: Any = None
    model: BaseModel | None = None
    problems: list[Problem] = field(default_factory=list)

    def line(self, path: tuple[PathPart, ...]) -> int | None:
        """The line of the key or item at ``path`` (or of its nearest written ancestor)."""
        return line_of(self.tree, path)


def read_yaml(path: str | Path) -> tuple[Any, list[Problem]]:
    """Parse one YAML file keeping line numbers; a syntax error becomes a Problem."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, [Problem(file, None, f"cannot read the file: {exc}", None, "E-read")]
    try:
        return YAML(typ="rt").load(text), []
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed quote or bracket: where it was opened
        line = mark.line + 1 if mark is not None else None
        what = ": ".join(s for s in (exc.context, exc.problem) if s) or "not valid YAML"
        fix = "check indentation, quotes and colons on this line and the one before"
        if "duplicate key" in what:
            fix = "each key may appear once in a mapping: remove or rename one"
        return None, [Problem(file, line, f"YAML syntax error: {what}", fix, "E-yaml")]
    except YAMLError as exc:  # pragma: no cover - ruamel marks nearly every error
        return None, [Problem(file, None, f"YAML syntax error: {exc}", None, "E-yaml")]


def plain(node: Any) -> Any:
    """The YAML tree as plain dicts, lists, str, int, float and bool (lines dropped)."""
    if isinstance(node, dict):
        return {plain(k): plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool):
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    return node


def read_model(path: str | Path, model_type: type[M]) -> Loaded:
    """Read and validate one file; the result keeps the tree for later line lookups."""
    file = str(path)
    tree, problems = read_yaml(path)
    loaded = Loaded(file=file, tree=tree, problems=problems)
    if problems:
        return loaded
    if tree is None:
        loaded.problems.append(
            Problem(file, None, "the file is empty", "write the mapping it should hold", "E-empty")
        )
        return loaded
    if not isinstance(tree, CommentedMap):
        loaded.problems.append(
            Problem(
                file,
                1,
                "expected a mapping of keys at the top level of the file",
                "write key: value lines such as `id: ...`, not a list or a single value",
                "E-type",
            )
        )
        return loaded
    data = plain(tree)
    try:
        loaded.model = model_type.model_validate(data)
    except (AttributeError, TypeError) as exc:  # a model's discriminator fed an odd shape
        what = f"this file has a shape carepath could not read ({type(exc).__name__}: {exc})"
        fix = "check that steps, trigger, goal and rules are mappings (key: value)"
        loaded.problems.append(Problem(file, 1, what, fix, "E-shape"))
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            message, fix, rule = explain_error(error, data, model_type)
            loc = second_step_path(error["msg"], data) or tuple(error["loc"])
            loaded.problems.append(Problem(file, line_of(tree, loc, tags=True), message, fix, rule))
    return loaded


def load_model(path: str | Path, model_type: type[M]) -> tuple[M | None, list[Problem]]:
    """Read one YAML file into ``model_type``; every problem names file, line and fix."""
    loaded = read_model(path, model_type)
    model = loaded.model if isinstance(loaded.model, model_type) else None
    return model, loaded.problems


def line_of(tree: Any, path: tuple[PathPart, ...], *, tags: bool = False) -> int | None:
    """Walk ``path`` through a round-trip tree; the 1-based line of the deepest node found.

    With ``tags`` (pydantic error locations) a part that is a union tag rather than a key
    is skipped: a part is taken as a tag when it is not a key here, or when the part after
    it is also a key of the same mapping (``("send", "send", "channels")``).
    """
    node = tree
    line = 1 if isinstance(tree, CommentedMap | CommentedSeq) else None
    parts = list(path)
    for i, part in enumerate(parts):
        if isinstance(node, CommentedMap):
            if part not in node:
                continue
            if tags and i + 1 < len(parts):
                after = parts[i + 1]
                if isinstance(after, str) and after in node:
                    continue
            line = node.lc.key(part)[0] + 1
            node = node[part]
        elif isinstance(node, CommentedSeq):
            if not isinstance(part, int) or not 0 <= part < len(node):
                continue
            line = node.lc.item(part)[0] + 1
            node = node[part]
        else:
            break
    return line
