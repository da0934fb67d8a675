"""Jinja2 rendering of message content, keys and values, in a sandbox.

A missing variable is an error (``StrictUndefined``), never an empty string: a
message that cannot be filled in for a customer must not go out half-written.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, UndefinedError
from jinja2 import TemplateError as JinjaTemplateError
from jinja2.sandbox import SandboxedEnvironment

from engine.errors import TemplateError

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@lru_cache(maxsize=4096)
def _compile(source: str) -> Any:
    return _ENV.from_string(source)


def is_template(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def render(source: str, scope: dict[str, Any]) -> str:
    """Render one template string; raise TemplateError naming what was missing."""
    if not is_template(source):
        return source
    try:
        return str(_compile(source).render(**scope))
    except UndefinedError as exc:
        raise TemplateError(f"{exc.message} in {source!r}") from None
    except JinjaTemplateError as exc:
        raise TemplateError(f"{exc} in {source!r}") from None


def render_value(value: Any, scope: dict[str, Any]) -> Any:
    """Render every string inside a nested value (dicts, lists) with the same scope."""
    if isinstance(value, str):
        return render(value, scope)
    if isinstance(value, dict):
        return {k: render_value(v, scope) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, scope) for v in value]
    return value


def check_syntax(source: str) -> str | None:
    """A syntax error message for a template, or None when it parses."""
    if not is_template(source):
        return None
    try:
        _ENV.parse(source)
    except JinjaTemplateError as exc:
        return str(exc)
    return None


def scope_for(
    customer: dict[str, Any], context: dict[str, Any], journey: dict[str, Any]
) -> dict[str, Any]:
    """The names a template sees: customer (attributes, tags, id), context, journey."""
    return {"customer": customer, "context": context, "journey": journey}
