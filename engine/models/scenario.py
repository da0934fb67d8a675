"""Simulation scenarios (journey language section 5)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from engine.models.common import ChannelName, Strict
from rules.durations import Duration


class ScenarioConsent(Strict):
    purpose: str = Field(description="service | marketing | health_data")
    channel: ChannelName | None = None
    granted: bool = True


class HistoryEvent(Strict):
    """An event the customer performed before the scenario starts."""

    event: str
    properties: dict[str, Any] = Field(default_factory=dict)
    ago: Duration = Field(description="how long before start, e.g. 10d")


class PriorSend(Strict):
    """A message another journey sent the customer before start (counted by the caps)."""

    journey: str = Field(description="id of the journey (in this workspace) that sent it")
    channel: ChannelName
    purpose: Literal["service", "marketing"] = "marketing"
    ago: Duration = Field(description="how long before start, e.g. 3h")


class ScenarioGuardian(Strict):
    """A guardian of the (minor) customer: a customer of their own, linked to them."""

    id: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    identities: dict[str, str] = Field(default_factory=dict)
    follows_wechat: bool = False
    consents: list[ScenarioConsent] = Field(default_factory=list)


class ScenarioCustomer(Strict):
    id: str
    attributes: dict[str, Any] = Field(default_factory=dict)
    identities: dict[str, str] = Field(default_factory=dict)
    tags: list[str] = Field(default_factory=list)
    follows_wechat: bool = False
    consents: list[ScenarioConsent] = Field(default_factory=list)
    source: dict[str, Any] = Field(default_factory=dict, description="first-touch attribution")
    timezone: str | None = None
    history: list[HistoryEvent] = Field(default_factory=list)
    sent: list[PriorSend] = Field(
        default_factory=list, description="messages other journeys sent before start"
    )
    guardians: list[ScenarioGuardian] = Field(
        default_factory=list, description="guardians of a minor, in the order they were linked"
    )


class ProviderAnswer(Strict):
    """How a simulated provider answers: the call's result and the receipt after it."""

    result: str | int = Field("ok", description="ok, a WeChat errcode, a Tencent SMS Code, timeout")
    receipt: str | None = Field(
        None, description="success/SUCCESS, a failure text (failed:user block / FAIL), or none"
    )
    after: Duration | None = Field(None, description="delay of the receipt (default 5s)")
    per_call: list[ProviderAnswer] | None = Field(None, description="answers used in turn")


_ENTRY_KINDS = (
    "event",
    "tag_added",
    "tag_removed",
    "segment_entered",
    "segment_exited",
    "attributes",
)


class ScenarioEvent(Strict):
    after: Duration
    event: str | None = None
    tag_added: str | None = None
    tag_removed: str | None = None
    segment_entered: str | None = None
    segment_exited: str | None = None
    attributes: dict[str, Any] | None = Field(
        None,
        description="a profile change, as identify makes it: attribute -> new value "
        "(null clears it); reaches the running enrollment (re-planned waits)",
    )
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_kind(self) -> ScenarioEvent:
        kinds = [k for k in _ENTRY_KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                "each entry needs exactly one of event, tag_added, tag_removed, "
                "segment_entered, segment_exited, attributes"
            )
        if self.attributes is not None and self.properties:
            raise ValueError("an attributes entry has no properties: put the values in it")
        return self

    @property
    def kind(self) -> str:
        for k in _ENTRY_KINDS:
            if getattr(self, k) is not None:
                return k
        raise AssertionError("validated")

    @property
    def name(self) -> str:
        if self.attributes is not None:
            return ", ".join(self.attributes)
        return str(getattr(self, self.kind))


class ScenarioEnroll(Strict):
    after: Duration = timedelta(0)
    context: dict[str, Any] = Field(default_factory=dict)


class ScenarioHandoff(Strict):
    after: Duration = Field(description="after the task was created")
    outcome: str


class Scenario(Strict):
    """One journey, one customer, simulated providers, in skipped time."""

    journey: str = Field(description="journey file, relative to this scenario file")
    start: datetime = Field(description="simulated start, with its UTC offset")
    customer: ScenarioCustomer
    providers: dict[ChannelName, ProviderAnswer] = Field(default_factory=dict)
    events: list[ScenarioEvent] = Field(default_factory=list)
    enroll: ScenarioEnroll | None = None
    handoffs: list[ScenarioHandoff] = Field(default_factory=list)
    until: Duration = Field(timedelta(days=30), description="stop the clock here at the latest")

    @field_validator("start")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("start needs a UTC offset, e.g. 2026-03-02T10:00:00+08:00")
        return value
