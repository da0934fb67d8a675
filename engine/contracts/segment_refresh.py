"""Models of a segment refresh that cross the Temporal boundary.

A time-based segment (its rule reads ``within`` or ``older_than``) has one Temporal
Schedule; each run starts ``SegmentRefreshWorkflow``, whose one activity recomputes the
segment over the population in SQL and dispatches the enters and exits. Pure pydantic,
importable in the workflow sandbox; one input and one result for both.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

SEGMENT_REFRESH_WORKFLOW = "SegmentRefreshWorkflow"
REFRESH_ACTIVITY = "refresh_segment"


class SegmentRefreshInput(BaseModel):
    """Which segment to recompute, and as of when."""

    segment_id: str
    at: datetime | None = Field(
        None, description="the time rules are evaluated at; None: when the run starts"
    )


class SegmentRefreshResult(BaseModel):
    """What one refresh changed and whom it told."""

    segment_id: str
    at: datetime
    changes: int = Field(
        0, description="enters and exits written (this segment and those using it)"
    )
    entered: int = 0
    exited: int = 0
    enrolled: list[str] = Field(default_factory=list, description="enrollments started")
    signalled: list[str] = Field(default_factory=list, description="enrollments told")
