"""The change log: who changed what, from the console, the API or the command line.

Customers' own records (events, the trace, the consent ledger) already say what
happened to a customer; this log says who did it when a person or a system made a
change by hand: pausing a journey, deploying the workspace, resetting a channel,
tagging a customer in the console, revealing a phone number to staff, creating or
disabling a user. It is only ever appended to.

``actor`` is ``console:<username>``, ``key:<key id>`` or ``cli``; ``subject_kind`` and
``subject_id`` name what was changed; ``customer_id`` is set when it concerns one
customer, so the customer's audit trail shows it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["CHANGE_ACTIONS", "ChangeAction", "ChangeRecord", "NewChange", "SubjectKind"]

ChangeAction = Literal[
    "journey.paused",
    "journey.resumed",
    "workspace.deployed",
    "channel.reset",
    "customer.tagged",
    "customer.untagged",
    "customer.consent",
    "customer.enrolled",
    "enrollment.cancelled",
    "task.claimed",
    "task.completed",
    "phone.revealed",
    "segment.exported",
    "user.created",
    "user.disabled",
    "user.password",
]
CHANGE_ACTIONS: tuple[str, ...] = ChangeAction.__args__  # type: ignore[attr-defined]

SubjectKind = Literal[
    "journey", "workspace", "channel", "customer", "enrollment", "task", "segment", "user"
]


class NewChange(BaseModel):
    """A change to append to the log."""

    at: datetime
    actor: str = Field(description="console:<username>, key:<key id> or cli")
    action: ChangeAction
    subject_kind: SubjectKind
    subject_id: str = Field(description="the journey, channel, customer, task... changed")
    customer_id: str | None = Field(None, description="the customer it concerns, if one")
    detail: dict[str, Any] = Field(default_factory=dict, description="what changed")


class ChangeRecord(NewChange):
    """A line of the change log as the store hands it out (newest first)."""

    id: int
