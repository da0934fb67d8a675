"""Context references in ``where`` values: ``"{{ context.appointment_id }}"``.

Event matchers (goals, exits, ``wait_for``, triggers) run inside the workflow, where
no template engine is loaded; they may only refer to enrollment context fields, as
the whole value (keeps its type) or inside text. Validation refuses any other
template syntax in those places, naming the fix.
"""

from __future__ import annotations

import re
from typing import Any

_REF = re.compile(r"\{\{\s*context\.([A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*)\s*\}\}")
_ANY_TEMPLATE = re.compile(r"\{\{|\{%")


def lookup(context: dict[str, Any], path: str) -> Any:
    """Follow a dotted path through nested mappings; None when any part is missing."""
    value: Any = context
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def resolve(value: Any, context: dict[str, Any]) -> Any:
    """Replace context references in a (nested) value; other values pass unchanged."""
    if isinstance(value, str):
        whole = _REF.fullmatch(value.strip())
        if whole:
            return lookup(context, whole.group(1))
        return _REF.sub(lambda m: _text(lookup(context, m.group(1))), value)
    if isinstance(value, dict):
        return {k: resolve(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [resolve(v, context) for v in value]
    return value


def unsupported_templates(value: Any) -> list[str]:
    """Template texts in a value that are not plain context references."""
    found: list[str] = []
    if isinstance(value, str):
        rest = _REF.sub("", value)
        if _ANY_TEMPLATE.search(rest):
            found.append(value)
    elif isinstance(value, dict):
        for v in value.values():
            found.extend(unsupported_templates(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(unsupported_templates(v))
    return found


def _text(value: Any) -> str:
    return "" if value is None else str(value)
