"""What the segments pages show, read through the API's own segment routes
(``api/routes/segments.py``) with the user's ``Caller``, so a page and ``/v1/segments``
cannot disagree: the list is ``list_segments``, a segment ``get_segment``, a page of
members ``list_members`` (cursor paging by customer id), the CSV ``list_members`` with
``format=csv``. Who may see and export is the console's check (``may_view``,
``may_export``).

These functions read the store: handlers call them in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from api.deps import Caller
from api.routes.segments import get_segment, list_members, list_segments
from api.schemas.segments import MemberPage, SegmentDetail, SegmentPublic

#: Members on one page of a segment's page.
MEMBERS_PER_PAGE = 50


def may_view(role: str) -> bool:
    """Admins and operators see segments (they span clinics); staff do not."""
    return role in ("admin", "operator")


def may_export(role: str) -> bool:
    """Only admins export members: the file carries every member's phone number."""
    return role == "admin"


@dataclass(frozen=True)
class SegmentPage:
    """A segment with its rule as text and one page of its members."""

    segment: SegmentDetail
    rule_text: str
    members: MemberPage
    cursor: str | None


def rule_text(rule: dict[str, Any]) -> str:
    """The rule as the YAML it is written in (``segments/<id>.yaml``), keys in order."""
    return yaml.safe_dump(rule, allow_unicode=True, sort_keys=False, default_flow_style=False)


def segments(caller: Caller) -> list[SegmentPublic]:
    """Every deployed segment with its size now (``GET /v1/segments``)."""
    return list_segments(caller, caller.store)


def segment_page(caller: Caller, segment_id: str, cursor: str | None) -> SegmentPage:
    """A segment, its rule and the page of members after ``cursor`` (``GET
    /v1/segments/{id}`` and ``/members``); NotFound for a segment not deployed."""
    detail = get_segment(segment_id, caller, caller.store)
    page = list_members(
        segment_id, caller, caller.store, limit=MEMBERS_PER_PAGE, cursor=cursor, format="json"
    )
    assert isinstance(page, MemberPage)
    return SegmentPage(detail, rule_text(detail.rule), page, cursor)
