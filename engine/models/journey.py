"""Journeys (journey language section 3): trigger, entry, goal, exits and steps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from engine.models.common import Strict, kind_by_key
from engine.models.steps import Step, WaitStep
from rules.durations import Duration, TimeOfDay
from rules.models import Rule, WhereSpec


class TagAddedTrigger(Strict):
    tag_added: str = Field(description="enroll when this tag is added to a customer")


class EventTrigger(Strict):
    event: str = Field(description="enroll when the customer performs this event")
    where: WhereSpec | None = Field(None, description="property values the event must have")


class SegmentEnteredTrigger(Strict):
    segment_entered: str = Field(description="enroll when the customer enters this segment")


class ScheduleSpec(Strict):
    cron: str = Field(description="5-field cron, e.g. '0 10 * * 1'")
    segment: str = Field(description="members of this segment are enrolled at each tick")
    timezone: str | None = Field(
        None, description="IANA zone of the cron, or 'customer' for each customer's own zone"
    )


class ScheduleTrigger(Strict):
    schedule: ScheduleSpec


class ApiTrigger(Strict):
    api: Literal[True] = Field(description="only POST /v1/journeys/{id}/enrollments enrolls")


_TRIGGER_KEYS = ("tag_added", "event", "segment_entered", "schedule", "api")


def _trigger_kind(value: Any) -> str | None:
    return kind_by_key(_TRIGGER_KEYS, value)


Trigger = Annotated[
    Annotated[TagAddedTrigger, Tag("tag_added")]
    | Annotated[EventTrigger, Tag("event")]
    | Annotated[SegmentEnteredTrigger, Tag("segment_entered")]
    | Annotated[ScheduleTrigger, Tag("schedule")]
    | Annotated[ApiTrigger, Tag("api")],
    Discriminator(
        _trigger_kind,
        custom_error_type="unknown_trigger",
        custom_error_message=(
            "a trigger is exactly one of tag_added, event (with optional where), "
            "segment_entered, schedule: {cron, segment}, or api: true"
        ),
    ),
]


class EventCondition(Strict):
    """An event with property values; values may be templates over context."""

    event: str
    where: WhereSpec | None = None


class ContextSource(EventCondition):
    """An event that updates a running enrollment's context (dates that move)."""

    event: str = Field(
        min_length=1, pattern=r"^\S+$", description="name of the event whose properties merge in"
    )
    where: WhereSpec | None = Field(
        None, description="property values it must have; may use {{ context.field }}"
    )


class GoalEvent(EventCondition):
    within: Duration | None = Field(None, description="attribution window from enrollment")


class GoalSegment(Strict):
    segment_entered: str
    within: Duration | None = None


def _goal_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "segment" if "segment_entered" in value else "event"
    return "segment" if isinstance(value, GoalSegment) else "event"


Goal = Annotated[
    Annotated[GoalEvent, Tag("event")] | Annotated[GoalSegment, Tag("segment")],
    Discriminator(_goal_kind),
]


class ExitSegment(Strict):
    segment_exited: str


def _exit_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "segment" if "segment_exited" in value else "event"
    return "segment" if isinstance(value, ExitSegment) else "event"


ExitCondition = Annotated[
    Annotated[EventCondition, Tag("event")] | Annotated[ExitSegment, Tag("segment")],
    Discriminator(_exit_kind),
]


class QuietHours(Strict):
    start: TimeOfDay
    end: TimeOfDay


class Journey(Strict):
    """A journey as an operator writes it."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$", description="unique id of the journey")
    name: str | None = None
    description: str | None = None
    trigger: Trigger
    api: bool = Field(True, description="also accept API enrollments (false to refuse them)")
    key: str | None = Field(None, description="one enrollment per customer per key (Jinja2)")
    entry: Rule | None = Field(None, description="rule checked at enrollment")
    reentry: Literal["never", "after_exit", "always"] = "after_exit"
    goal: Goal | None = None
    exit_when: list[ExitCondition] = Field(default_factory=list)
    context_from: list[ContextSource] = Field(
        default_factory=list,
        description="events whose properties update a running enrollment's context, key by "
        "key; a running until_context wait on a changed field is re-planned",
    )
    quiet_hours: QuietHours | None = None
    guardian_consent: list[str] = Field(
        default_factory=list,
        description="consent purposes a guardian must have given for the customer to enter "
        "(a minor: a linked guardian's; an adult on school-screening data: their own); "
        "required for journeys on school-screening data",
    )
    steps: list[Step] = Field(min_length=1)

    @field_validator("exit_when", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("context_from", mode="before")
    @classmethod
    def _one_or_more_sources(cls, value: Any) -> Any:
        return [value] if isinstance(value, dict) else value

    @field_validator("guardian_consent", mode="before")
    @classmethod
    def _one_or_more(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _unique_step_ids(self) -> Journey:
        seen: set[str] = set()
        for step in self.steps:
            if step.id in seen:
                raise ValueError(f"step id {step.id!r} is used twice: step ids must be unique")
            seen.add(step.id)
        if not self.api and isinstance(self.trigger, ApiTrigger):
            raise ValueError("trigger api: true with api: false leaves no way to enroll")
        return self

    def step_ids(self) -> list[str]:
        return [s.id for s in self.steps]

    def date_attributes(self) -> set[str]:
        """Profile attributes (top-level names) an ``until_attribute`` wait reads: a
        change to one of them re-plans such a wait while it runs."""
        return {
            step.wait.until_attribute.split(".")[0]
            for step in self.steps
            if isinstance(step, WaitStep) and step.wait.until_attribute
        }


class Segment(Strict):
    """A named rule."""

    id: str = Field(pattern=r"^[A-Za-z0-9_\-]+$")
    name: str | None = None
    description: str | None = None
    rule: Rule
    refresh: str | None = Field(None, description="cron for re-evaluating time-based rules")
