"""Segment schemas: deployed segments with sizes, member pages, ad-hoc previews."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.schemas.common import MAX_RULE_DEPTH, RuleObject

MAX_PAGE = 1000


class SegmentPublic(BaseModel):
    """A deployed segment and how many customers are in it now."""

    id: str = Field(description="the segment's id (segments/ID.yaml)")
    name: str | None = Field(description="the segment's display name")
    refresh: str | None = Field(description="cron of time-based re-evaluation, if any")
    size: int = Field(description="members now (live customers; merged ones count once)")
    deployed_at: datetime | None = Field(
        description="when its definition was deployed (null: carried by a journey only)"
    )


class SegmentDetail(SegmentPublic):
    """A deployed segment with its rule."""

    rule: dict[str, Any] = Field(description="the segment's rule, as YAML data")


class SegmentMember(BaseModel):
    """One member of a segment."""

    customer_id: str = Field(description="the customer's id")
    entered_at: datetime | None = Field(
        description="when they entered the segment (null for an ad-hoc rule)"
    )


class MemberPage(BaseModel):
    """One page of members, ordered by customer id."""

    count: int = Field(description="members in all (not only on this page)")
    members: list[SegmentMember] = Field(description="this page's members, by customer id")
    next_cursor: str | None = Field(
        description="pass as ?cursor= for the next page; null on the last page"
    )


class PreviewRequest(BaseModel):
    """An ad-hoc rule to count and page through, without deploying it."""

    model_config = ConfigDict(extra="forbid")

    rule: RuleObject = Field(
        description=f"a rule in the journey language (section 1), at most {MAX_RULE_DEPTH} "
        "levels deep, e.g. "
        '{"all": [{"tag": "VIP"}, {"attribute": "age_group", "eq": "child"}]}; '
        "segment atoms name deployed segments",
        examples=[{"all": [{"tag": "高意向"}, {"attribute": "age_group", "eq": "child"}]}],
    )
    limit: int = Field(100, ge=1, le=MAX_PAGE, description="members on the first page")


class PreviewResult(MemberPage):
    """How many customers the rule names now, and the first page of them."""
