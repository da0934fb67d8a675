"""The one place errors become HTTP problems (``application/problem+json``, RFC 9457):
the ``PROBLEMS`` table, looked up along the exception's MRO.

    NotFound                    404  an id names nothing we hold
    ValidationFailed            422  a workspace has problems; ``errors`` lists each
    WorkspaceError              422  a workspace cannot be read
    TemplateError               422  the context lacks what the journey's key/entry use
    JourneyClosed               409  paused, or API enrollment refused (api: false)
    Conflict                    409  e.g. a task claimed by someone else, or done
    AccountRefused              422  a console user refused as asked (username, role, password)
    ProviderError               502  WeChat or WeCom refused (or did not answer) a request
    RPCError (unavailable)      503  Temporal did not answer (also a lazy client's connect)
    RequestValidationError      400  the body is not JSON; 415 when not sent as JSON
                                422  bad request fields, each as a dotted path
    pydantic ValidationError    422  a model built from the request refused a value
    HTTPException               its status (401 with WWW-Authenticate, 403, 409...);
                                400 naming why a body could not be read as JSON

Routes raise domain errors or ``HTTPException``; nothing else writes error bodies
(the callback routes answer the platforms in plain text: ``api/routes/callbacks.py``).
A RulesError is not mapped (see engine/errors.py): one reaching a route is a 500.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from temporalio.service import RPCError, RPCStatusCode

from api.schemas.problems import Problem, ProblemItem
from engine.errors import (
    AccountRefused,
    Conflict,
    JourneyClosed,
    NotFound,
    ProviderError,
    TemplateError,
    ValidationFailed,
    WorkspaceError,
)

PROBLEM_MEDIA_TYPE = "application/problem+json"

_TYPES: dict[int, str] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    409: "conflict",
    422: "invalid-request",
    413: "body-too-large",
    415: "unsupported-media-type",
    502: "provider-error",
    503: "unavailable",
}

_DESCRIPTIONS: dict[int, str] = {
    400: "The body could not be read as JSON (syntax, encoding, nesting or number size)",
    401: "No API key, or an unknown one: send `Authorization: Bearer <key>`",
    403: "The API key's scope (or clinics) do not allow this",
    404: "No such resource",
    409: "The request conflicts with the resource's state",
    422: "The request is invalid; `errors` lists every bad field or workspace problem",
    413: "The body is larger than the service accepts (`api.max_body_bytes`)",
    415: "The body was not sent as `Content-Type: application/json`",
    502: "WeChat or WeCom refused the request or did not answer; `detail` gives its answer",
    503: "Temporal (the workflow service) cannot be reached now; retry later",
}

# Where a field sits in the request: not part of the field's path.
_LOCATIONS = {"body", "query", "path", "header", "cookie"}
# Union members in pydantic error paths: our tags are class names (TrackEvent) and
# pydantic's own are like function-after[...] or list[str].
_UNION_TAG = re.compile(r"^[A-Z][A-Za-z0-9]*$|\[")

_DATETIME = "is not a date-time: write ISO 8601 with a UTC offset, e.g. 2026-03-02T10:00:00+08:00"
_READABLE: dict[str, str] = {
    "missing": "is required",
    "extra_forbidden": "is not a field of this request; check the spelling",
    "datetime_parsing": _DATETIME,
    "datetime_from_date_parsing": _DATETIME,
    "datetime_type": _DATETIME,
    "timezone_aware": "needs a UTC offset, e.g. 2026-03-02T10:00:00+08:00",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "list_type": "must be a list",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for these error statuses, all with the problem schema."""
    return {code: {"model": Problem, "description": _DESCRIPTIONS[code]} for code in codes}


def problem(
    status: int,
    detail: str,
    *,
    errors: Iterable[ProblemItem] = (),
    kind: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    body = Problem(
        type=f"/problems/{kind or _TYPES.get(status, 'error')}",
        title=HTTPStatus(status).phrase,
        status=status,
        detail=detail,
        errors=list(errors),
    )
    return JSONResponse(
        body.model_dump(mode="json", exclude_none=True),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_MEDIA_TYPE,
    )


def field_errors(errors: Sequence[Any]) -> list[ProblemItem]:
    """Pydantic errors as dotted field paths with readable reasons."""
    items = []
    for err in errors:
        loc = list(err.get("loc", ()))
        where = str(loc.pop(0)) if loc and loc[0] in _LOCATIONS else "body"
        kind = str(err.get("type", ""))
        last = loc.pop() if kind == "extra_forbidden" and loc else None
        path = [str(p) for p in loc if not (isinstance(p, str) and _UNION_TAG.search(p))]
        if last is not None:
            path.append(str(last))
        items.append(ProblemItem(field=".".join(path) or where, message=_reason(kind, err)))
    return items


def _reason(kind: str, err: Mapping[str, Any]) -> str:
    if kind in _READABLE:
        return _READABLE[kind]
    msg = str(err.get("msg", "is invalid"))
    ctx = err.get("ctx") or {}
    if kind == "json_invalid":
        return f"is not valid JSON ({ctx.get('error', msg)})"
    if kind == "too_short":
        return f"needs at least {ctx.get('min_length')} item(s)"
    if kind == "too_long":
        return f"may have at most {ctx.get('max_length')} item(s)"
    if kind == "string_too_short":
        return "must not be empty" if ctx.get("min_length") == 1 else msg
    if kind == "string_too_long":
        return f"may have at most {ctx.get('max_length')} characters"
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    return msg


def _workspace_items(exc: ValidationFailed) -> list[ProblemItem]:
    return [
        ProblemItem(file=p.file, line=p.line, message=p.message, fix=p.fix, rule=p.rule)
        for p in exc.problems
    ]


def _workspace_detail(exc: ValidationFailed, items: list[ProblemItem]) -> str:
    return f"the workspace has {len(items)} problem(s)"


def _field_items(exc: RequestValidationError | ValidationError) -> list[ProblemItem]:
    return field_errors(exc.errors())


def _fields_detail(exc: Exception, items: list[ProblemItem]) -> str:
    fields = ", ".join(dict.fromkeys(i.field or "" for i in items))
    return f"invalid field(s): {fields}"


def _message(exc: Exception, items: list[ProblemItem]) -> str:
    return str(exc)


@dataclass(frozen=True)
class Answer:
    """How one exception class is answered: its status and problem type, and for
    errors that list what is wrong, the list and the detail that sums it up."""

    status: int | None  # None: the exception's own (HTTPException)
    kind: str | None = None  # the problem type; by default named after the status
    items: Callable[[Any], list[ProblemItem]] | None = None
    detail: Callable[[Any, list[ProblemItem]], str] = _message
    #: Only exceptions this accepts are answered so; others look further up the MRO.
    when: Callable[[Any], bool] | None = None


def _temporal_unreachable(exc: Exception) -> bool:
    if isinstance(exc, RPCError):
        return exc.status in (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED)
    # A lazy client's first call raises this when the frontend cannot be reached.
    return str(exc).startswith("Failed client connect")


def _unavailable(exc: Exception, items: list[ProblemItem]) -> str:
    return f"Temporal cannot be reached now; nothing was started, retry later ({exc})"


#: The one table (see the module docstring). An exception is answered by the entry of
#: the first class in its MRO found here: ValidationFailed before WorkspaceError.
PROBLEMS: dict[type[Exception], Answer] = {
    NotFound: Answer(404),
    ValidationFailed: Answer(422, "invalid-workspace", _workspace_items, _workspace_detail),
    WorkspaceError: Answer(422, "invalid-workspace"),
    TemplateError: Answer(422, "invalid-context"),
    AccountRefused: Answer(422, "invalid-request"),
    JourneyClosed: Answer(409, "journey-closed"),
    Conflict: Answer(409),
    ProviderError: Answer(502),
    RPCError: Answer(503, "temporal-unavailable", detail=_unavailable, when=_temporal_unreachable),
    RuntimeError: Answer(
        503, "temporal-unavailable", detail=_unavailable, when=_temporal_unreachable
    ),
    RequestValidationError: Answer(422, items=_field_items, detail=_fields_detail),
    ValidationError: Answer(422, items=_field_items, detail=_fields_detail),
    HTTPException: Answer(None),  # its own status_code, detail and headers
}


def to_problem(exc: Exception) -> JSONResponse:
    """The response for an exception the table maps; any other is re-raised (a 500)."""
    answer = next((a for c in type(exc).__mro__ if (a := _answer(c, exc)) is not None), None)
    if answer is None:
        raise exc  # not ours to map: a 500 from the server
    unreadable = body_problem(exc)
    if unreadable is not None:
        return unreadable
    if answer.status is None:
        assert isinstance(exc, HTTPException)
        return problem(exc.status_code, str(exc.detail), headers=exc.headers)
    items = answer.items(exc) if answer.items is not None else []
    return problem(answer.status, answer.detail(exc, items), errors=items, kind=answer.kind)


def _answer(cls: type, exc: Exception) -> Answer | None:
    answer = PROBLEMS.get(cls)
    if answer is None or (answer.when is not None and not answer.when(exc)):
        return None
    return answer


def body_problem(exc: Exception) -> JSONResponse | None:
    """400 for a body that is not JSON, 415 for one not sent as JSON; None otherwise.

    FastAPI reports a syntax error as a validation error (``json_invalid``), any other
    failure to read the body (bad UTF-8, nesting deeper than the parser goes, an
    integer of thousands of digits) as a bare 400 whose cause says why; and a body sent
    as another media type reaches validation as bytes.
    """
    if isinstance(exc, HTTPException) and exc.status_code == 400 and exc.__cause__ is not None:
        return _unreadable(_why_unreadable(exc.__cause__))
    if not isinstance(exc, RequestValidationError):
        return None
    for err in exc.errors():
        if err.get("type") == "json_invalid":
            ctx = err.get("ctx") or {}
            where = err.get("loc", ("body", 0))[-1]
            return _unreadable(f"{ctx.get('error', 'syntax error')} at character {where}")
        # Only a body FastAPI did not parse as JSON reaches validation as bytes.
        if tuple(err.get("loc", ()))[:1] == ("body",) and isinstance(err.get("input"), bytes):
            return problem(
                415,
                "send the body as JSON, with the header Content-Type: application/json",
                errors=[ProblemItem(field="body", message="is not sent as application/json")],
            )
    return None


def _unreadable(why: str) -> JSONResponse:
    return problem(
        400,
        f"the body is not valid JSON: {why}",
        errors=[ProblemItem(field="body", message=f"is not valid JSON ({why})")],
    )


def _why_unreadable(cause: BaseException) -> str:
    if isinstance(cause, UnicodeDecodeError):
        return f"it is not UTF-8 (byte {cause.start})"
    if isinstance(cause, RecursionError):
        return "it nests arrays or objects too deeply"
    if isinstance(cause, ValueError) and "digits" in str(cause):
        return "it has a number with too many digits"
    return f"it could not be read ({type(cause).__name__})"


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    return to_problem(exc)


def install(app: FastAPI) -> None:
    """Register the table on ``app``."""
    for exc_class in PROBLEMS:
        app.add_exception_handler(exc_class, _handle)


def problem_media_types(openapi: dict[str, Any]) -> dict[str, Any]:
    """Document error bodies as ``application/problem+json``, as they are sent."""
    ref = "#/components/schemas/Problem"
    for path in openapi.get("paths", {}).values():
        for operation in path.values():
            for code, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                # A route's own media type (text/plain for callbacks) is the one its
                # successes have; its problems are problem+json all the same.
                for media in list(content):
                    if (
                        code[:1] in ("4", "5")
                        and content[media].get("schema", {}).get("$ref") == ref
                    ):
                        content[PROBLEM_MEDIA_TYPE] = content.pop(media)
    return openapi


#: What every operation with a JSON body may answer before its own code runs.
BODY_PROBLEMS = (400, 413, 415)


def document_body_problems(openapi: dict[str, Any]) -> dict[str, Any]:
    """Add the statuses of reading a JSON body (400, 413, 415) to each operation that
    takes one, with the problem schema, so the document lists what the API returns."""
    ref = {"$ref": "#/components/schemas/Problem"}
    for path in openapi.get("paths", {}).values():
        for operation in path.values():
            if "requestBody" not in operation:
                continue
            responses = operation.setdefault("responses", {})
            for code in BODY_PROBLEMS:
                responses.setdefault(
                    str(code),
                    {
                        "description": _DESCRIPTIONS[code],
                        "content": {PROBLEM_MEDIA_TYPE: {"schema": ref}},
                    },
                )
    return openapi
