"""Segments: deployed segments with sizes, their members (pages, CSV), ad-hoc previews.

Admin keys only: a segment spans clinics, and the export carries phone numbers.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import ValidationError

from api.deps import Admin, StoreDep
from api.errors import problem_responses
from api.schemas.segments import (
    MAX_PAGE,
    MemberPage,
    PreviewRequest,
    PreviewResult,
    SegmentDetail,
    SegmentMember,
    SegmentPublic,
)
from engine.errors import NotFound
from engine.store.service_store import ServiceStore
from engine.store.sql import SqlStore
from engine.store.sql.audience import EXPORT_COLUMNS, Audience, SegmentDefinition, rule_field_path
from rules.deps import segment_references
from rules.models import Rule, dump_rule, parse_rule

router = APIRouter(prefix="/segments", tags=["segments"])

Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="members per page")]
Cursor = Annotated[
    str | None, Query(description="next_cursor of the previous page (a customer id)")
]


@router.get("", response_model=list[SegmentPublic])
def list_segments(caller: Admin, store: StoreDep) -> list[SegmentPublic]:
    """Every deployed segment with its size now."""
    audience = _audience(store)
    now = datetime.now(UTC)
    return [_public(audience, s, now) for s in audience.segments()]


@router.post("/preview", response_model=PreviewResult)
def preview(body: PreviewRequest, caller: Admin, store: StoreDep) -> PreviewResult:
    """Count an ad-hoc rule's customers now and list the first page (nothing is stored)."""
    audience = _audience(store)
    rule = _parse(body.rule)
    known = {s.id for s in audience.segments()}
    missing = sorted(segment_references(rule) - known)
    if missing:
        raise RequestValidationError(
            [
                {
                    "loc": ("body", "rule"),
                    "type": "value_error",
                    "msg": f"segment {sid!r} is not deployed (deployed: "
                    f"{', '.join(sorted(known)) or 'none'})",
                }
                for sid in missing
            ]
        )
    now = datetime.now(UTC)
    page = _page(audience, now, rule=rule, cursor=None, limit=body.limit)
    return PreviewResult(**page.model_dump())


@router.get("/{segment_id}", response_model=SegmentDetail, responses=problem_responses(404))
def get_segment(segment_id: str, caller: Admin, store: StoreDep) -> SegmentDetail:
    """A deployed segment: its rule and size now."""
    audience = _audience(store)
    segment = audience.segment(segment_id)
    public = _public(audience, segment, datetime.now(UTC))
    return SegmentDetail(**public.model_dump(), rule=dump_rule(segment.rule))


@router.get(
    "/{segment_id}/members",
    response_model=MemberPage,
    responses={
        **problem_responses(404),
        200: {
            "content": {"text/csv": {}},
            "description": "a page of members (JSON), or every member (format=csv): "
            + ", ".join(EXPORT_COLUMNS),
        },
    },
)
def list_members(
    segment_id: str,
    caller: Admin,
    store: StoreDep,
    limit: Limit = 100,
    cursor: Cursor = None,
    format: Annotated[
        Literal["json", "csv"],
        Query(
            description="json (a page) or csv (every member, streamed; limit and cursor "
            "do not apply)"
        ),
    ] = "json",
) -> Any:
    """The members of a deployed segment, by customer id, a page at a time; or all of
    them as CSV (customer_id, entered_at, name, phone, clinic_id, timezone)."""
    audience = _audience(store)
    audience.segment(segment_id)  # 404 before any streaming starts
    now = datetime.now(UTC)
    if format == "csv":
        headers = {"Content-Disposition": f'attachment; filename="segment-{segment_id}.csv"'}
        return StreamingResponse(
            _csv(audience.export(segment=segment_id, now=now)),
            media_type="text/csv",
            headers=headers,
        )
    return _page(audience, now, segment=segment_id, cursor=cursor, limit=limit)


def _audience(store: ServiceStore) -> Audience:
    if not isinstance(store, SqlStore):
        raise NotFound("segments are read from the SQL store")
    return Audience(store)


def _public(audience: Audience, segment: SegmentDefinition, now: datetime) -> SegmentPublic:
    return SegmentPublic(
        id=segment.id,
        name=segment.name,
        refresh=segment.refresh,
        size=audience.count(segment=segment.id, now=now),
        deployed_at=segment.deployed_at,
    )


def _page(
    audience: Audience,
    now: datetime,
    *,
    segment: str | None = None,
    rule: Rule | None = None,
    cursor: str | None,
    limit: int,
) -> MemberPage:
    # One more than asked says whether there is a next page without a second query.
    members = audience.page(segment=segment, rule=rule, now=now, after=cursor, limit=limit + 1)
    more = len(members) > limit
    members = members[:limit]
    return MemberPage(
        count=audience.count(segment=segment, rule=rule, now=now),
        members=[
            SegmentMember(customer_id=m.customer_id, entered_at=m.entered_at) for m in members
        ],
        next_cursor=members[-1].customer_id if more and members else None,
    )


def _parse(data: dict[str, Any]) -> Rule:
    """The rule, or a 422 naming each bad field under ``rule`` (without union tags)."""
    try:
        return parse_rule(data)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", "rule", *rule_field_path(e["loc"]))} for e in exc.errors()]
        ) from None


def _csv(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(EXPORT_COLUMNS))
    writer.writeheader()
    for i, row in enumerate(rows, 1):
        writer.writerow(row)
        if i % 500 == 0:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()
