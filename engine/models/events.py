"""The clinic event model: which event names play which role in the reports, and the
cost rows that come from ad platforms.

A workspace's optional ``events.yaml`` maps its own event names onto the roles:

```yaml
conversion: [appointment.paid, order.paid, mall.order_paid]   # replaces the default list
refund: [appointment.refunded, order.refunded, mall.order_refunded]
activity_exclude: [his.sync.*]        # never customer activity (added to carepath's own)
events:                               # the workspace's own names, one role each
  mall.coupon_used: {role: conversion, description: a coupon redeemed at the desk}
```

A role written in the file replaces that role's default list; a role not written keeps
the default; ``events`` adds each name to its role. carepath's own events
(:data:`OWN_EVENTS`) never count as customer activity, whatever the file says: they are
facts of the system, not of the customer. :func:`effective_roles` gives the roles of
a deployed document (``Workspace.documents["events"]``) merged over the defaults.

A :class:`Cost` is one row of spend: a day, an amount in yuan with two decimals, and
the dimensions it is spent on (any of UTM fields, channel, activity, clinic). A row with
the same day and dimensions as a stored one replaces it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.models.common import Strict

Role = Literal[
    "conversion",
    "refund",
    "loss",
    "booking",
    "reschedule",
    "lead",
    "intent",
    "page_view",
    "content_view",
    "share",
    "share_open",
    "follow",
    "unfollow",
    "contact_added",
    "contact_removed",
]

#: The contract's names for each role (docs: "What carepath counts", section 1).
DEFAULT_ROLES: dict[Role, tuple[str, ...]] = {
    "conversion": ("appointment.paid", "order.paid"),
    "refund": ("appointment.refunded", "order.refunded"),
    "loss": ("appointment.payment_cancelled", "appointment.cancelled", "appointment.no_show"),
    "booking": ("appointment.booked", "order.placed"),
    "reschedule": ("appointment.rescheduled",),
    "lead": ("form.submitted",),
    "intent": ("consultation.started",),
    "page_view": ("page.viewed",),
    "content_view": ("content.viewed",),
    "share": ("share.sent",),
    "share_open": ("share.opened",),
    "follow": ("wechat.subscribed",),
    "unfollow": ("wechat.unsubscribed",),
    "contact_added": ("wecom.contact_added",),
    "contact_removed": ("wecom.contact_removed",),
}

#: Events carepath writes itself (``carepath.channel_alert`` of the operations customer;
#: ``journey.`` is kept for the journey's own facts). Sends, receipts and handoff
#: outcomes are stored as deliveries and tasks, not events, so they are never activity
#: to begin with. A name ending in ``.*`` covers every name with that prefix.
OWN_EVENTS: tuple[str, ...] = ("carepath.*", "journey.*")

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_:\-]*(\.[A-Za-z0-9_:\-]+)*"
EventName = Annotated[str, Field(pattern=rf"^{_NAME}$", min_length=1, max_length=200)]
EventPattern = Annotated[str, Field(pattern=rf"^{_NAME}(\.\*)?$", min_length=1, max_length=200)]


class EventDefinition(Strict):
    """One of the workspace's own event names and the role it plays."""

    role: Role = Field(description="the contract role the event plays, e.g. conversion")
    description: str | None = Field(None, max_length=500, description="what the event means")


class EventsFile(Strict):
    """A workspace's ``events.yaml``: its event names mapped onto the contract's roles."""

    conversion: list[EventName] | None = Field(
        None, description="events that convert a customer (default: appointment.paid, order.paid)"
    )
    refund: list[EventName] | None = Field(
        None, description="events whose amount is refunded revenue (default: *.refunded)"
    )
    loss: list[EventName] | None = Field(
        None, description="cancellations and no-shows (default: appointment.cancelled, ...)"
    )
    booking: list[EventName] | None = Field(
        None, description="bookings (default: appointment.booked, order.placed)"
    )
    lead: list[EventName] | None = Field(None, description="leads (default: form.submitted)")
    intent: list[EventName] | None = Field(
        None, description="intent shown (default: consultation.started)"
    )
    share: list[EventName] | None = Field(
        None, description="shares that count for the spread rate (default: share.sent)"
    )
    activity_exclude: list[EventPattern] = Field(
        default_factory=list,
        description="events that never count as customer activity; a name ending in .* "
        "covers a prefix (carepath.* and journey.* always do)",
    )
    events: dict[EventName, EventDefinition] = Field(
        default_factory=dict, description="the workspace's own event names and their roles"
    )

    @model_validator(mode="after")
    def _own_names_stay_own(self) -> Self:
        for name in self.events:
            if covered(name, OWN_EVENTS):
                raise ValueError(
                    f"event {name!r} is carepath's own (carepath.* and journey.* are "
                    "written by carepath): give the workspace's event another name"
                )
        return self


class EventRoles(BaseModel):
    """The effective roles of a workspace: the defaults with its ``events.yaml`` over them."""

    model_config = ConfigDict(frozen=True)

    roles: dict[Role, tuple[str, ...]] = Field(description="event names per role")
    activity_exclude: tuple[str, ...] = Field(
        description="names and prefixes (ending in .*) that are never customer activity"
    )

    def names(self, role: Role) -> tuple[str, ...]:
        """The event names that play ``role``."""
        return self.roles.get(role, ())

    def is_activity(self, name: str) -> bool:
        """Whether an event of this name counts as customer activity."""
        return not covered(name, self.activity_exclude)


def covered(name: str, patterns: tuple[str, ...] | list[str]) -> bool:
    """Whether ``name`` is one of ``patterns`` (a pattern ending in ``.*``: a prefix)."""
    return any(name.startswith(p[:-1]) if p.endswith(".*") else name == p for p in patterns)


def effective_roles(document: dict[str, Any] | None) -> EventRoles:
    """The roles of a deployed ``events`` document merged over the defaults.

    None or an empty document: the defaults. A role list the document writes replaces
    the default one; ``events`` adds each of the workspace's names to its role.
    """
    file = EventsFile.model_validate(document or {})
    roles: dict[Role, list[str]] = {role: list(names) for role, names in DEFAULT_ROLES.items()}
    for role in ("conversion", "refund", "loss", "booking", "lead", "intent", "share"):
        written: list[str] | None = getattr(file, role)
        if written is not None:
            roles[role] = list(written)
    for name, definition in file.events.items():
        if name not in roles[definition.role]:
            roles[definition.role].append(name)
    exclude = tuple(dict.fromkeys((*OWN_EVENTS, *file.activity_exclude)))
    return EventRoles(
        roles={role: tuple(dict.fromkeys(names)) for role, names in roles.items()},
        activity_exclude=exclude,
    )


#: The dimensions a cost row may name, in the order of the unique key.
COST_DIMENSIONS: tuple[str, ...] = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "channel",
    "activity",
    "clinic_id",
)
#: A dimension's longest value: eight of them with the date must fit one index entry.
DIMENSION_MAX = 100
_Dimension = Annotated[str, Field(max_length=DIMENSION_MAX)]
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class Cost(BaseModel):
    """One day's spend on the dimensions it names (an unnamed dimension: any)."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date = Field(description="the day spent, in the workspace timezone (YYYY-MM-DD)")
    amount: Decimal = Field(
        ge=0,
        le=Decimal("999999999999.99"),
        max_digits=14,
        decimal_places=2,
        description="yuan, at most two decimals (stored exactly)",
    )
    utm_source: _Dimension | None = Field(None, description="the UTM source, e.g. baidu")
    utm_medium: _Dimension | None = Field(None, description="the UTM medium, e.g. cpc")
    utm_campaign: _Dimension | None = Field(None, description="the UTM campaign")
    utm_term: _Dimension | None = Field(None, description="the UTM term (keyword)")
    utm_content: _Dimension | None = Field(None, description="the UTM content")
    channel: _Dimension | None = Field(None, description="the first-touch channel")
    activity: _Dimension | None = Field(None, description="the first-touch activity")
    clinic_id: _Dimension | None = Field(None, description="the clinic the spend was for")
    impressions: int | None = Field(None, ge=0, le=2**62, description="impressions bought")
    clicks: int | None = Field(None, ge=0, le=2**62, description="clicks bought")

    @field_validator(*COST_DIMENSIONS, mode="before")
    @classmethod
    def _blank_is_unnamed(cls, value: Any) -> Any:
        # A blank cell (CSV) or "" (JSON) names no dimension, as leaving it out does.
        if isinstance(value, str):
            value = value.strip()
            if not value:
                return None
            if _CONTROL.search(value):
                raise ValueError("must not hold control characters (tabs, line breaks)")
        return value

    def dimensions(self) -> dict[str, str]:
        """The dimensions of the unique key: "" for an unnamed one."""
        return {d: getattr(self, d) or "" for d in COST_DIMENSIONS}
