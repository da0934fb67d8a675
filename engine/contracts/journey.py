"""Models that cross the Temporal boundary: workflow input/result, signals, activity I/O.

Pure pydantic, importable inside the workflow sandbox. Every workflow and activity
takes one input model and returns one result model, so fields can be added later
without breaking running histories (new fields get defaults).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from temporalio.common import SearchAttributeKey

from engine.models.common import ChannelName
from engine.models.journey import Journey

EnrollmentStatusName = Literal["running", "completed", "converted", "exited", "failed"]
WORKFLOW_NAME = "JourneyWorkflow"

# Custom search attributes every running enrollment keeps current, so "waiting now"
# is a visibility count, not a reading of histories. Never personal data: journey,
# version, step and status only. Registered by the dev servers (cli/devserver.py);
# a self-hosted Temporal registers them once (docs/deploy.md).
SA_JOURNEY = SearchAttributeKey.for_keyword("CarepathJourney")
SA_VERSION = SearchAttributeKey.for_int("CarepathVersion")
SA_STEP = SearchAttributeKey.for_keyword("CarepathStep")
SA_STATUS = SearchAttributeKey.for_keyword("CarepathStatus")
SEARCH_ATTRIBUTES = (SA_JOURNEY, SA_VERSION, SA_STEP, SA_STATUS)


class TraceEntry(BaseModel):
    """One line of an enrollment's trace (journey language section 5)."""

    # ``from`` is a Python keyword: the field is ``from_`` and reads either name.
    model_config = ConfigDict(populate_by_name=True)

    seq: int = Field(0, description="order within the enrollment; makes persisting idempotent")
    at: datetime
    step: str | None = None
    kind: str
    channel: str | None = None
    outcome: str | None = None
    detail: str | None = None
    event: str | None = None
    goto: str | None = None
    variant: str | None = None
    reason: str | None = None
    from_: str | None = Field(
        None, alias="from", description="replan: the planned end before (customer's local time)"
    )
    to: str | None = Field(None, description="replan: the planned end after")

    def public(self) -> dict[str, Any]:
        """The trace entry as printed: only the fields that are set."""
        return self.model_dump(mode="json", exclude_none=True, exclude={"seq"}, by_alias=True)


class RunOptions(BaseModel):
    """Knobs of the interpreter; defaults suit production."""

    continue_as_new_after_events: int = Field(
        4000, description="continue-as-new at a step boundary past this many history events"
    )
    max_deferrals: int = Field(6, description="how often one channel may be deferred per send")
    holdout_default_window: timedelta = Field(timedelta(days=30))


class CarriedState(BaseModel):
    """What a run hands to its continue-as-new successor (small: ids, not payloads)."""

    step: str | None = None
    visits: dict[str, int] = Field(default_factory=dict)
    pending_trace: list[TraceEntry] = Field(default_factory=list)
    trace_seq: int = 0
    signals_seen: int = 0
    seen_messages: list[str] = Field(default_factory=list, description="recent event ids")
    variant: str | None = None
    runs: int = 1


class EnrollmentInput(BaseModel):
    """Starts one enrollment of one customer in one pinned journey version."""

    enrollment_id: str = Field(description="= workflow id; stable across continue-as-new")
    journey: Journey = Field(description="the pinned journey definition, by value")
    version: int
    customer_id: str
    context: dict[str, Any] = Field(default_factory=dict)
    timezone: str = "Asia/Shanghai"
    enrolled_at: datetime
    clock_offset_seconds: float = Field(
        0.0, description="simulation only: added to server time to give scenario time"
    )
    options: RunOptions = Field(default_factory=RunOptions)
    carried: CarriedState = Field(default_factory=CarriedState)


class EnrollmentResult(BaseModel):
    enrollment_id: str
    status: EnrollmentStatusName
    exit_reason: str | None = None
    variant: str | None = None


class EventSignal(BaseModel):
    """A customer event forwarded to a running enrollment."""

    name: str
    properties: dict[str, Any] = Field(default_factory=dict)
    at: datetime | None = None
    message_id: str | None = None


class AttributesSignal(BaseModel):
    """Profile attributes that changed (identify, an ``update`` step of any journey): a
    running ``until_attribute`` wait on one of them is re-planned."""

    values: dict[str, Any] = Field(description="attribute -> its new value (None: cleared)")
    at: datetime | None = Field(None, description="when the profile changed")


class SegmentSignal(BaseModel):
    segment: str
    entered: bool


class HandoffOutcomeSignal(BaseModel):
    task_id: str
    outcome: str
    note: str | None = None


class ReceiptSignal(BaseModel):
    """A delivery receipt for an accepted send, matched by the provider's reference."""

    provider_ref: str
    channel: ChannelName
    delivered: bool
    detail: str = ""


class CancelSignal(BaseModel):
    reason: str = "cancelled"


class Waiting(BaseModel):
    """What a waiting enrollment waits for (the status query's view)."""

    kind: Literal["timer", "event", "handoff", "receipt", "hold"]
    until: datetime | None = None
    task_id: str | None = None
    provider_ref: str | None = None
    channel: str | None = None
    attempt_at: datetime | None = None


class EnrollmentState(BaseModel):
    """Answer of the ``state`` query: where the enrollment is and what it waits for."""

    step: str | None
    status: EnrollmentStatusName
    busy: bool = Field(description="true while an activity is in flight")
    waiting: Waiting | None = None
    signals_seen: int
    pending_trace: list[TraceEntry]
    now: datetime
    variant: str | None = None


# ---- activities -------------------------------------------------------------------------


class ActivityBase(BaseModel):
    """Fields every activity input carries; ``trace`` is persisted in the same call."""

    enrollment_id: str
    journey_id: str
    version: int
    customer_id: str
    step: str
    now: datetime = Field(description="enrollment clock (scenario time in simulations)")
    context: dict[str, Any] = Field(default_factory=dict)
    trace: list[TraceEntry] = Field(default_factory=list)


class SendInput(ActivityBase):
    message: str
    channel: ChannelName
    idempotency_key: str


class SendResult(BaseModel):
    outcome: str
    detail: str = ""
    provider_ref: str | None = None
    retry_at: datetime | None = Field(None, description="for deferred: try again at this time")


class OrderInput(ActivityBase):
    channels: list[ChannelName]


class OrderResult(BaseModel):
    channels: list[ChannelName]


class HandoffInput(ActivityBase):
    queue: str
    clinic: str | None = None
    message: str | None = None
    due_at: datetime | None = None
    channel_fallback: bool = Field(False, description="created by a send step's phone channel")


class HandoffResult(BaseModel):
    task_id: str


class EscalateInput(ActivityBase):
    task_id: str
    queue: str


class EscalateResult(BaseModel):
    task_id: str


class BranchInput(ActivityBase):
    rules: list[dict[str, Any]] = Field(description="the cases' rules, in order (YAML shape)")


class BranchResult(BaseModel):
    index: int | None = Field(description="first matching case, None when none matched")


class TagInput(ActivityBase):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)


class UpdateInput(ActivityBase):
    values: dict[str, Any]


class ChangeResult(BaseModel):
    changed: list[str] = Field(default_factory=list)


class UpdateResult(ChangeResult):
    """What an ``update`` step changed, and who must hear of it."""

    values: dict[str, Any] = Field(
        default_factory=dict, description="the changed attributes' new values (rendered)"
    )
    waiting: list[str] = Field(
        default_factory=list,
        description="the customer's other running enrollments whose journey has an "
        "until_attribute wait on a changed attribute (the workflow signals them)",
    )


class ReadDateInput(ActivityBase):
    attribute: str


class ReadDateResult(BaseModel):
    value: datetime | None
    detail: str = ""


class FinishInput(ActivityBase):
    status: EnrollmentStatusName
    exit_reason: str | None = None
    variant: str | None = None


class FinishResult(BaseModel):
    recorded: bool = True


class TraceInput(ActivityBase):
    """Only the pending trace, to store now: a holdout's draw, which no other activity
    would store before the enrollment ends (the journey metrics count arms from it)."""


class TraceResult(BaseModel):
    stored: int = Field(0, description="trace entries handed in (stored once each, by seq)")
