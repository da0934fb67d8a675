"""Journey steps (journey language section 3): one kind key besides id, next, on_*."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from engine.models.common import ChannelName, Strict, kind_by_key
from rules.durations import Duration, TimeOfDay
from rules.models import Rule, WhereSpec

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class WaitSpec(Strict):
    """A durable timer: one of duration, until (+weekdays), until_attribute/until_context."""

    duration: Duration | None = Field(None, description="wait this long, e.g. 2h, 3d, 1d12h")
    until: TimeOfDay | None = Field(None, description="the next HH:MM in the customer's timezone")
    weekdays: list[Weekday] | None = Field(None, description="with until: only on these days")
    until_attribute: str | None = Field(None, description="a date attribute of the profile")
    until_context: str | None = Field(None, description="a date field of the enrollment context")
    offset: Duration | None = Field(None, description="added to until_attribute/until_context")
    offset_negative: bool = Field(False, description="subtract offset instead of adding it")

    @model_validator(mode="after")
    def _one_form(self) -> WaitSpec:
        forms = [
            name
            for name in ("duration", "until", "until_attribute", "until_context")
            if getattr(self, name) is not None
        ]
        if len(forms) != 1:
            raise ValueError(
                "a wait needs exactly one of duration, until, until_attribute, until_context"
                + (f" (found {', '.join(forms)})" if forms else "")
            )
        if self.weekdays is not None and self.until is None:
            raise ValueError("weekdays goes with until: HH:MM")
        if self.offset is not None and forms[0] not in ("until_attribute", "until_context"):
            raise ValueError("offset goes with until_attribute or until_context")
        return self


class WaitForSpec(Strict):
    event: str = Field(description="event name to wait for")
    where: WhereSpec | None = Field(None, description="property values the event must have")
    timeout: Duration = Field(description="give up after this long")


class BranchCase(Strict):
    when: Rule
    goto: str


class BranchElse(Strict):
    else_: str = Field(alias="else", description="step taken when no case matches")


def _case_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "else" if "else" in value else "when"
    return "else" if isinstance(value, BranchElse) else "when"


BranchItem = Annotated[
    Annotated[BranchCase, Tag("when")] | Annotated[BranchElse, Tag("else")],
    Discriminator(_case_kind),
]


class Variant(Strict):
    name: str
    weight: float = Field(gt=0, description="relative weight")
    goto: str


class SplitSpec(Strict):
    variants: list[Variant] = Field(min_length=1)
    holdout: float | None = Field(
        None, gt=0, description="relative weight of a holdout group that gets nothing"
    )


class SendSpec(Strict):
    message: str = Field(description="message id")
    channels: list[ChannelName] = Field(min_length=1, description="tried in this order")
    order: Literal["listed", "preferred"] = Field(
        "listed", description="preferred: the customer's preferred/last-active channel first"
    )
    receipt_timeout: Duration | None = Field(
        None, description="an accepted send with no receipt in time counts as failed"
    )

    @field_validator("channels")
    @classmethod
    def _no_repeats(cls, value: list[ChannelName]) -> list[ChannelName]:
        if len(set(value)) != len(value):
            raise ValueError("each channel may be listed once")
        return value


class TagSpec(Strict):
    add: list[str] = Field(default_factory=list)
    remove: list[str] = Field(default_factory=list)

    @field_validator("add", "remove", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _something(self) -> TagSpec:
        if not self.add and not self.remove:
            raise ValueError("a tag step needs add or remove")
        return self


class UpdateSpec(Strict):
    set: dict[str, Any] = Field(min_length=1, description="attribute -> value (text is Jinja2)")


class HandoffSpec(Strict):
    queue: str = Field(description="who picks the task up, e.g. optometrist")
    clinic: str | None = Field(
        None, description="clinic id (Jinja2), e.g. {{ customer.clinic_id }}"
    )
    message: str | None = Field(None, description="message whose phone script is the call script")
    due: Duration | None = Field(None, description="SLA; escalate when it passes")
    escalate_to: str | None = Field(None, description="queue that gets the task when due passes")
    outcomes: dict[str, str] = Field(
        default_factory=dict, description="outcome staff report -> step to go to"
    )

    @model_validator(mode="after")
    def _escalation_needs_due(self) -> HandoffSpec:
        if self.escalate_to and self.due is None:
            raise ValueError("escalate_to needs a due time (the SLA that triggers it)")
        return self


class _Step(Strict):
    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="unique within the journey")
    next: str | None = Field(None, description="step after this one (default: the following)")


class WaitStep(_Step):
    wait: WaitSpec


class WaitForStep(_Step):
    wait_for: WaitForSpec
    on_event: str | None = None
    on_timeout: str | None = None


class BranchStep(_Step):
    branch: list[BranchItem] = Field(min_length=1)

    @field_validator("branch")
    @classmethod
    def _else_last(cls, value: list[BranchCase | BranchElse]) -> list[BranchCase | BranchElse]:
        for item in value[:-1]:
            if isinstance(item, BranchElse):
                raise ValueError("else must be the last item of a branch")
        return value


class SplitStep(_Step):
    split: SplitSpec


class SendStep(_Step):
    send: SendSpec
    on_failure: str | None = Field(None, description="step when every channel failed")


class TagStep(_Step):
    tag: TagSpec


class UpdateStep(_Step):
    update: UpdateSpec


class HandoffStep(_Step):
    handoff: HandoffSpec


class ExitStep(_Step):
    exit: str = Field(description="the reason recorded when the enrollment ends here")


STEP_KINDS = ("wait", "wait_for", "branch", "split", "send", "tag", "update", "handoff", "exit")


def step_kind_of(value: Any) -> str | None:
    """The kind key of a step mapping or model (None when it has none)."""
    return kind_by_key(STEP_KINDS, value)


Step = Annotated[
    Annotated[WaitStep, Tag("wait")]
    | Annotated[WaitForStep, Tag("wait_for")]
    | Annotated[BranchStep, Tag("branch")]
    | Annotated[SplitStep, Tag("split")]
    | Annotated[SendStep, Tag("send")]
    | Annotated[TagStep, Tag("tag")]
    | Annotated[UpdateStep, Tag("update")]
    | Annotated[HandoffStep, Tag("handoff")]
    | Annotated[ExitStep, Tag("exit")],
    Discriminator(
        step_kind_of,
        custom_error_type="unknown_step_kind",
        custom_error_message=(
            "a step needs exactly one kind: wait, wait_for, branch, split, send, tag, "
            "update, handoff or exit"
        ),
    ),
]
"""One journey step, told apart by its kind key."""
