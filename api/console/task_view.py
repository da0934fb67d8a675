"""The call-task cards as the signed-in user may see them, read from the store through
the API's ``Caller`` (the same checks as ``/v1/handoffs``).

The list is ``store.list_open_tasks`` with the caller's clinics, as ``GET /v1/handoffs``
asks it; a customer's name and phone only through ``caller.customer`` (a task whose
customer the user may not see shows neither); the outcomes are the handoff step's, as
``POST /v1/handoffs/{id}/complete`` checks them. The phone stays masked until the
task is claimed by this user: the claim is the record of who was given the number (the
store has no audit entry of its own for it, see ``engine/store/sql/audit.py``).

These functions read the store: handlers call them in a worker thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from api.console.task_cards import (
    TimeLeft,
    age_of,
    masked_phone,
    national,
    ordered,
    tel_href,
    time_left,
    username_of,
)
from api.deps import Caller
from api.routes.handoffs import outcomes_of
from engine.compliance.guardians import is_minor
from engine.errors import NotFound
from engine.store.records import Customer, HandoffTask

#: Each card's problem, when an action on it was refused: shown on the card.
Problem = str


@dataclass(frozen=True)
class Person:
    """A customer (or a guardian) as the card shows them."""

    name: str | None
    phone: str | None
    age: int | None = None
    minor: bool = False
    relation: str | None = None

    @property
    def masked(self) -> str | None:
        """The phone with its middle hidden (before this user claims the task)."""
        return masked_phone(self.phone) if self.phone else None

    @property
    def dialled(self) -> str | None:
        """The phone in full, as dialled in China."""
        return national(self.phone) if self.phone else None

    @property
    def tel(self) -> str | None:
        """The ``tel:`` link that calls them."""
        return tel_href(self.phone) if self.phone else None


@dataclass(frozen=True)
class TaskCard:
    """One task on the page: the task, its time, its customer, and what this user may do."""

    task: HandoffTask
    left: TimeLeft | None
    customer: Person | None
    mine: bool
    claimant: str | None
    outcomes: list[str] = field(default_factory=list)
    guardians: list[Person] = field(default_factory=list)
    problem: Problem | None = None
    pending: bool = False


def phone_of(customer: Customer) -> str | None:
    """The customer's phone: the identity, else the ``phone`` attribute."""
    phone = customer.identities.get("phone") or customer.attributes.get("phone")
    return str(phone) if phone else None


def _name(customer: Customer) -> str | None:
    name = customer.attributes.get("name")
    return str(name) if name else None


def person(caller: Caller, customer_id: str, now: dt.datetime, timezone: str) -> Person | None:
    """The task's customer, if the user may see them (``caller.customer``)."""
    try:
        caller.customer(customer_id)
        customer = caller.store.get_customer(customer_id)
    except NotFound:
        return None
    today = now.astimezone(ZoneInfo(customer.timezone or timezone)).date()
    return Person(
        _name(customer),
        phone_of(customer),
        age_of(customer.attributes, today),
        is_minor(customer, now, timezone),
    )


def guardians(caller: Caller, customer_id: str) -> list[Person]:
    """The customer's current guardians, in the order they were linked."""
    found: list[Person] = []
    for link in caller.store.guardian_links(customer_id):
        if link.unlinked_at is not None:
            continue
        try:
            guardian = caller.store.get_customer(link.guardian_id)
        except NotFound:
            continue
        found.append(Person(_name(guardian), phone_of(guardian), relation=link.relation))
    return found


def claimant_name(caller: Caller, source: str | None) -> str | None:
    """Who claimed a task, as colleagues know them: a console user's display name,
    else how the claim was attributed (an API key's ``api:<name>``)."""
    username = username_of(source)
    if username is None:
        return source
    try:
        return caller.store.get_user(username).display_name or username
    except NotFound:
        return username


def card_of(
    caller: Caller,
    task: HandoffTask,
    now: dt.datetime,
    timezone: str,
    *,
    problem: Problem | None = None,
    pending: bool = False,
) -> TaskCard:
    """The card of a task the caller may see (checked before)."""
    mine = task.status == "claimed" and task.claimed_by == caller.source
    customer = person(caller, task.customer_id, now, timezone)
    return TaskCard(
        task=task,
        left=time_left(task.due_at, now) if task.status != "done" else None,
        customer=customer,
        mine=mine,
        claimant=claimant_name(caller, task.claimed_by) if not mine else None,
        outcomes=outcomes_of(caller.store, task) if mine else [],
        guardians=guardians(caller, task.customer_id) if customer else [],
        problem=problem,
        pending=pending,
    )


def open_cards(
    caller: Caller, queue: str | None, now: dt.datetime, timezone: str
) -> tuple[list[TaskCard], list[str]]:
    """The open tasks of the caller's clinics (of ``queue``, when given), overdue
    first, as cards; and every queue those tasks are in, for the filter."""
    tasks = caller.store.list_open_tasks(queue=None, clinics=caller.clinics)
    queues = sorted({t.escalated_to or t.queue for t in tasks})
    if queue:
        tasks = [t for t in tasks if (t.escalated_to or t.queue) == queue]
    return [card_of(caller, t, now, timezone) for t in ordered(tasks, now)], queues
