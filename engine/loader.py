"""Reading workspace YAML into models, with every problem tied to a file and line.

The round-trip loader of ruamel.yaml keeps the line of every mapping key and list item,
so a pydantic error (``loc = ("steps", 0, "send", "send", "chanels")``) can be walked
back to the line the operator wrote. :func:`load_workspace` reads every file, collects
every problem (YAML syntax, schema, duplicate ids, then the checks of
:mod:`engine.validate`) and raises them all at once, so one run shows everything to fix.

``Workspace.files`` maps ``"journeys/<id>"``, ``"messages/<id>"`` and ``"segments/<id>"``
to the file each came from (a journey and a message may share an id; two journeys may not).
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel, Tag, ValidationError
from pydantic_core import ErrorDetails
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from engine.errors import Problem, ValidationFailed
from engine.models.journey import Journey, Segment
from engine.models.message import Message
from engine.models.steps import STEP_KINDS
from engine.models.workspace import Workspace
from rules.models import RULE_KEYS

__all__ = [
    "Loaded", "Locate", "explain_error", "line_of", "load_model", "load_workspace", "read_model",
    "read_yaml",
]  # fmt: skip

M = TypeVar("M", bound=BaseModel)
PathPart = str | int
Locate = Callable[[str, tuple[PathPart, ...]], int | None]
"""``locate(file, ("steps", 2, "send", "channels", 0)) -> line`` (1-based)."""

FOLDERS = (("journeys", Journey), ("messages", Message), ("segments", Segment))


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
            loc = _twice(error["msg"], data) or tuple(error["loc"])
            loaded.problems.append(Problem(file, line_of(tree, loc, tags=True), message, fix, rule))
    return loaded


def _twice(text: str, data: Any) -> tuple[PathPart, ...] | None:
    """The second step that has an id given twice (the journey validator names only the id)."""
    m = _TWICE.search(text)
    steps = data.get("steps") if isinstance(data, dict) else None
    if m and isinstance(steps, list):
        ids = [s.get("id") if isinstance(s, dict) else None for s in steps]
        repeats = [i for i, sid in enumerate(ids) if sid == m.group(1)]
        if len(repeats) > 1:
            return ("steps", repeats[1], "id")
    return None


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


def _files(folder: Path) -> Iterator[Path]:
    if folder.is_dir():
        yield from sorted(p for p in folder.iterdir() if p.suffix in (".yaml", ".yml"))


def load_workspace(root: str | Path) -> Workspace:
    """Read journeys/, messages/ and segments/; raise ValidationFailed listing every problem."""
    from engine.validate import validate_workspace  # validate imports this module's helpers

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
    from engine.tagging import DOCUMENT, load_tagging  # tagging reads files with this module

    tagging, tagging_problems = load_tagging(base)
    problems.extend(tagging_problems)
    if tagging is not None:
        workspace.documents[DOCUMENT] = tagging

    def locate(file: str, path: tuple[PathPart, ...]) -> int | None:
        item = loaded.get(file)
        return item.line(path) if item is not None else None

    problems.extend(validate_workspace(workspace, locate, invalid=invalid))
    if problems:
        raise ValidationFailed(problems)
    return workspace


# --- pydantic errors in operator language ------------------------------------------------

_KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "unknown_step_kind": ("step kind", STEP_KINDS),
    "unknown_trigger": ("trigger", ("tag_added", "event", "segment_entered", "schedule", "api")),
    "rule_kind": ("rule key", RULE_KEYS),
}
_KIND_RULES = {
    "unknown_step_kind": "E-step-kind",
    "unknown_trigger": "E-trigger",
    "rule_kind": "E-rule-kind",
}
_ID_FIX = "use only letters, digits, _ and -"
_DURATION_FIX = "write a number and a unit, e.g. 30s, 15m, 2h, 3d, 2w or combinations such as 1d12h"
_SECTIONS = {"Segment": "1", "Message": "2", "Journey": "3", "Scenario": "5"}
_TWICE = re.compile(r"step id '([^']*)' is used twice")
_STEP_COMMON = ("id", "next", "on_event", "on_timeout", "on_failure")
_FIX_SPLIT = re.compile(r"^(.*?)[:;]\s+((?:write|give|add|use|quote|to |split|remove|each)\b.*)$")
_TYPE_WORDS: dict[str, tuple[str, str]] = {
    "model_type": ("a mapping", "write key: value lines indented under it"),
    "model_attributes_type": ("a mapping", "write key: value lines indented under it"),
    "dict_type": ("a mapping", "write key: value lines indented under it"),
    "list_type": ("a list", "write [a, b] or one '- item' line per item"),
    "string_type": ("text", "write a single value; quote it if it looks like a number or date"),
    "bool_type": ("true or false", "write true or false"),
    "bool_parsing": ("true or false", "write true or false"),
    "int_type": ("a whole number", "write a number such as 3"),
    "int_parsing": ("a whole number", "write a number such as 3"),
    "float_type": ("a number", "write a number such as 0.5"),
    "float_parsing": ("a number", "write a number such as 0.5"),
}


def _unwrap(tp: Any) -> tuple[Any, tuple[Any, ...]]:
    if get_origin(tp) is Annotated:
        args = get_args(tp)
        inner, meta = _unwrap(args[0])
        return inner, tuple(args[1:]) + meta
    return tp, ()


def _step_into(tp: Any, part: PathPart) -> Any:
    tp, _ = _unwrap(tp)
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        members = [m for m in get_args(tp) if m is not type(None)]
        for member in members:
            if any(isinstance(x, Tag) and x.tag == part for x in _unwrap(member)[1]):
                return member
        for member in members:
            found = _step_into(member, part)
            if found is not None:
                return found
        return None
    if origin is list:
        return get_args(tp)[0] if isinstance(part, int) else None
    if origin is dict:
        return get_args(tp)[1] if isinstance(part, str) else None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        for name, info in tp.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
    return None


def _model_at(model_type: Any, loc: tuple[PathPart, ...]) -> type[BaseModel] | None:
    tp: Any = model_type
    for part in loc:
        tp = _step_into(tp, part)
        if tp is None:
            return None
    tp, _ = _unwrap(tp)
    if get_origin(tp) in (Union, types.UnionType):
        models = [m for m in get_args(tp) if isinstance(_unwrap(m)[0], type)]
        tp = _unwrap(models[0])[0] if len(models) == 1 else None
    return tp if isinstance(tp, type) and issubclass(tp, BaseModel) else None


def _keys_of(model: type[BaseModel]) -> list[str]:
    return [info.alias or name for name, info in model.model_fields.items()]


def _where(loc: tuple[PathPart, ...], data: Any) -> str:
    if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
        steps = data.get("steps") if isinstance(data, dict) else None
        step = steps[loc[1]] if isinstance(steps, list) and loc[1] < len(steps) else None
        sid = step.get("id") if isinstance(step, dict) else None
        return f"step {sid!r}" if isinstance(sid, str) else f"step {loc[1] + 1}"
    return str(loc[0]) if len(loc) > 1 else "this file"


def _in(where: str) -> str:
    return "" if where == "this file" else f" in {where}"


def _name(loc: tuple[PathPart, ...]) -> str:
    names = [p for p in loc if isinstance(p, str)]
    return names[-1] if names else "value"


def _suggest(word: str, choices: list[str] | tuple[str, ...]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return close[0] if close else None


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)


def _kind_problem(kind_type: str, value: Any, where: str) -> tuple[str, str]:
    what, kinds = _KINDS[kind_type]
    listed = ", ".join(kinds)
    if not isinstance(value, dict):
        return f"{where} should be a mapping, not {_describe(value)}", f"write one of: {listed}"
    present = [k for k in kinds if k in value]
    if len(present) > 1:
        return (
            f"{where} has more than one {what}: {', '.join(present)}",
            f"keep exactly one of {', '.join(present)}"
            + ("; put the other in a step of its own" if what == "step kind" else ""),
        )
    others = [str(k) for k in value if k not in _STEP_COMMON or what != "step kind"]
    for key in others:
        close = _suggest(key, kinds)
        if close:
            return f"unknown {what} {key!r} in {where}", f"did you mean {close!r}?"
    shown = f" (found {', '.join(map(repr, others))})" if others else ""
    return f"{where} has no {what}{shown}", f"write one of: {listed}"


def explain_error(error: ErrorDetails, data: Any, model_type: Any) -> tuple[str, str, str]:
    """(message, fix, rule code) for one pydantic error, in the words an operator uses."""
    loc = tuple(error["loc"])
    kind = error["type"]
    where = _where(loc, data)
    name = _name(loc)
    value = error.get("input")
    if kind in _KINDS:
        message, fix = _kind_problem(kind, value, where if loc else "this file")
        return message, fix, _KIND_RULES[kind]
    if kind == "extra_forbidden":
        model = _model_at(model_type, loc[:-1])
        valid = _keys_of(model) if model else []
        close = _suggest(str(loc[-1]), valid)
        fix = f"did you mean {close!r}?" if close else f"valid keys here: {', '.join(valid)}"
        return f"unknown key {loc[-1]!r} in {where}", fix, "E-unknown-key"
    if kind == "missing":
        model = _model_at(model_type, loc[:-1])
        info = model.model_fields.get(name) if model else None
        hint = f" ({info.description})" if info is not None and info.description else ""
        return f"{where} is missing {name!r}", f"add {name}: ...{hint}", "E-missing-key"
    if kind == "literal_error":
        expected = str((error.get("ctx") or {}).get("expected", ""))
        options = re.findall(r"'([^']*)'", expected)
        close = _suggest(str(value), options)
        fix = f"did you mean {close!r}?" if close else f"write one of: {', '.join(options)}"
        return f"{_describe(value)} is not a valid value for {name}{_in(where)}", fix, "E-choice"
    if kind in _TYPE_WORDS:
        wanted, fix = _TYPE_WORDS[kind]
        return f"{name}{_in(where)} should be {wanted}, not {_describe(value)}", fix, "E-type"
    text = error["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if kind == "string_pattern_mismatch" and name in ("id", "next"):
        return f"{_describe(value)} is not a valid id{_in(where)}", _ID_FIX, "E-id"
    if _TWICE.search(text):
        return text.split(":")[0], "give each step its own id", "E-duplicate-step"
    if "a duration is" in text or "not a duration" in text:
        return (
            f"{_describe(value)} is not a duration ({name}{_in(where)})",
            _DURATION_FIX,
            "E-duration",
        )
    rule = "E-time" if "time of day" in text else "E-value"
    split = _FIX_SPLIT.match(text)
    if split:
        return f"{split.group(1)} ({name}{_in(where)})", split.group(2), rule
    if text.startswith(("Input should", "String should", "List should", "Dictionary should")):
        text = f"{name} should" + text.split(" should", 1)[1].replace(" after validation", "")
        fix = f"add to {name}" if kind == "too_short" else f"change the value of {name}"
        return f"{text}{_in(where)}", fix, rule
    section = _SECTIONS.get(getattr(model_type, "__name__", ""), "")
    fix = f"see section {section} of the journey language" if section else "see the docs"
    return (f"{name}{_in(where)}: {text}" if loc else text), fix, rule
