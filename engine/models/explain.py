"""Pydantic errors in operator language: what is wrong, where, and the fix.

A validation error's ``loc`` is walked through the model types (discriminated unions
included) to name the step kind, trigger or rule key the operator meant, suggest the
closest valid key, and point at the contract's section.
"""

from __future__ import annotations

import difflib
import re
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, Tag
from pydantic_core import ErrorDetails

from engine.models.steps import STEP_KINDS
from rules.models import RULE_KEYS

PathPart = str | int

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


def second_step_path(text: str, data: Any) -> tuple[PathPart, ...] | None:
    """The second step that has an id given twice (the journey validator names only the id)."""
    m = _TWICE.search(text)
    steps = data.get("steps") if isinstance(data, dict) else None
    if m and isinstance(steps, list):
        ids = [s.get("id") if isinstance(s, dict) else None for s in steps]
        repeats = [i for i, sid in enumerate(ids) if sid == m.group(1)]
        if len(repeats) > 1:
            return ("steps", repeats[1], "id")
    return None
