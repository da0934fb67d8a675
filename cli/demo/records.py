"""The demo population as plain data: customers, their events, touches, consents, tags
and enrollments, before anything is written.

``cli.demo.population`` makes these, ``cli.demo.writer`` stores them. Times are aware
(UTC); amounts are yuan with two decimals, as floats, which is how JSON (and so an
event's properties) carries them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from engine.contracts.journey import EnrollmentStatusName, TraceEntry
from engine.models.attribution import CodeKind, TouchKind

__all__ = [
    "CallbackTouch",
    "DemoConsent",
    "DemoCustomer",
    "DemoDelivery",
    "DemoEnrollment",
    "DemoEvent",
    "DemoIdentities",
    "DemoTag",
    "DemoTask",
    "EarlyProfile",
    "Via",
]

#: Which of the customer's identities an event arrives with: the platform's own
#: (openid, WeCom contact), the phone, the member id; ``early`` is the second identity
#: set a merge customer had first, ``merge`` the request naming both sets at once.
Via = Literal["phone", "openid", "user", "wecom", "contact", "early", "merge"]


@dataclass(frozen=True, slots=True)
class CallbackTouch:
    """What a platform callback says about where the customer came from: the event it
    comes with becomes a touch (``resolve_touch`` adds what the code attributes)."""

    kind: TouchKind
    raw: dict[str, str]
    code_kind: CodeKind


@dataclass(slots=True)
class DemoEvent:
    at: datetime
    name: str
    properties: dict[str, Any]
    via: Via = "phone"
    touch: CallbackTouch | None = None
    message_id: str = ""  # given once the customer's timeline is complete


@dataclass(frozen=True, slots=True)
class DemoConsent:
    """A consent given (or withdrawn: an opt-out reply), appended to the ledger."""

    purpose: str
    channel: str | None
    at: datetime
    granted: bool = True


@dataclass(frozen=True, slots=True)
class DemoTag:
    tag: str
    at: datetime
    context: dict[str, Any]


@dataclass(frozen=True, slots=True)
class DemoIdentities:
    phone: str
    app_id: str
    openid: str | None = None
    user_id: str | None = None
    wecom: str | None = None
    wecom_staff: str | None = None


@dataclass(frozen=True, slots=True)
class EarlyProfile:
    """The second identity set of a merge customer: an Official Account follower of
    another clinic, known by that openid only, created before the customer is."""

    id: str
    app_id: str
    openid: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DemoDelivery:
    """One provider call of a send step, as ``begin_delivery``/``end_delivery`` keep it."""

    key: str
    step: str
    channel: str
    at: datetime
    outcome: str
    detail: str
    provider_ref: str | None


@dataclass(slots=True)
class DemoTask:
    """A handoff task with the times it was escalated and done (None: not by then)."""

    id: str
    step: str
    queue: str
    message: str | None
    created_at: datetime
    due_at: datetime | None
    escalated_at: datetime | None = None
    escalated_to: str | None = None
    done_at: datetime | None = None
    outcome: str | None = None


@dataclass(slots=True)
class DemoEnrollment:
    """An enrollment as history: how it ran until the anchor (``status`` running when it
    had not ended by then)."""

    id: str
    journey_id: str
    customer_id: str
    key: str | None
    started_at: datetime
    context: dict[str, Any]
    status: EnrollmentStatusName = "running"
    reason: str | None = None
    variant: str | None = None
    ended_at: datetime | None = None
    trace: list[TraceEntry] = field(default_factory=list)
    deliveries: list[DemoDelivery] = field(default_factory=list)
    tasks: list[DemoTask] = field(default_factory=list)


@dataclass(slots=True)
class DemoCustomer:
    index: int
    id: str
    created_at: datetime
    attributes: dict[str, Any]
    identities: DemoIdentities
    early: EarlyProfile | None = None
    follows: bool = False
    events: list[DemoEvent] = field(default_factory=list)
    consents: list[DemoConsent] = field(default_factory=list)
    tags: list[DemoTag] = field(default_factory=list)
    enrollments: list[DemoEnrollment] = field(default_factory=list)

    @property
    def survivor(self) -> str:
        """The id the customer has once merged: the earlier-created customer survives."""
        return self.early.id if self.early is not None else self.id
