"""What the customers pages show, read through the API's own route functions (the same
visibility checks and store calls as ``/v1/customers``), and what each user may see.

The user's ``Caller`` decides: a staff user reads only customers of their clinics
(404 otherwise, as for a staff key) and, like a staff key, not the audit trail. Staff
see phone numbers masked (``138****0000``): in identities, search results and any
attribute, event property or touch field whose name says ``phone``.

Search covers what the store can look up: a customer id (a merged id leads to its
survivor) and a phone number (``resolve`` without creating). The store has no search
by name, so a name finds nothing and the page says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, get_args

from api.console.session import Console
from api.routes.customers import (
    audit_trail,
    get_customer,
    list_enrollments,
    list_events,
    list_guardians,
    list_touches,
)
from api.schemas.customers import (
    CustomerPublic,
    EventPublic,
    GuardianPublic,
    TouchPublic,
)
from api.schemas.enrollments import EnrollmentPublic
from engine.errors import NotFound
from engine.models.common import ChannelName
from engine.store.access import clinics_of
from engine.store.records import (
    AuditEntry,
    Identities,
    Scope,
    check_customer_id,
    normalise_phone,
)
from engine.store.service_store import ServiceStore
from rules.models import ConsentPurpose

#: Events on one page of the timeline.
PAGE_SIZE = 20
#: The most events the API lists (``Limit``): the timeline pages end there.
MAX_EVENTS = 1000
#: The most recent audit entries shown (the API answers at most 1,000).
AUDIT_SHOWN = 200
CHANNELS: tuple[str, ...] = get_args(ChannelName)
PURPOSES: tuple[str, ...] = get_args(ConsentPurpose)


def may(console: Console, scope: Scope) -> bool:
    """Whether the user's key passes the API's check for ``scope`` (``api.deps``)."""
    scopes = console.caller.key.scopes
    return "admin" in scopes or scope in scopes


def full_phones(console: Console) -> bool:
    """Admins and operators see phone numbers in full; staff see them masked."""
    return console.user.role in ("admin", "operator")


def national(phone: str) -> str:
    """A mainland number without its ``+86``; other numbers as stored."""
    return phone[3:] if phone.startswith("+86") else phone


def mask_phone(phone: str) -> str:
    """``13800000000`` → ``138****0000``: the first three and last four digits."""
    digits = national(phone).lstrip("+")
    if len(digits) < 8:
        return "****"
    return f"{digits[:3]}****{digits[-4:]}"


def phone_shown(phone: str, full: bool) -> str:
    """The phone as this user may see it."""
    return national(phone) if full else mask_phone(phone)


def fields_shown(fields: dict[str, Any], full: bool) -> list[tuple[str, str]]:
    """(name, text) of each field, phones masked for staff, in name order."""
    out: list[tuple[str, str]] = []
    for name, value in sorted(fields.items()):
        text = value if isinstance(value, str) else _text(value)
        if not full and "phone" in name.lower() and isinstance(value, str):
            text = mask_phone(value)
        out.append((name, text))
    return out


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "—"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_text(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


@dataclass(frozen=True)
class Found:
    """One search result."""

    id: str
    name: str | None
    clinic: str | None
    phone: str | None


#: Most customers a search by name lists.
NAMED = 20


def search(console: Console, store: ServiceStore, text: str) -> list[Found]:
    """Customers the user may see whose id or phone is ``text`` (one at most per way),
    then those whose name begins with it (at most ``NAMED``, by name)."""
    caller, ids = console.caller, []
    try:
        ids.append(caller.customer(check_customer_id(text)))
    except (ValueError, NotFound):
        pass
    try:
        identities = Identities(phone=normalise_phone(text))
        ids.append(
            caller.customer(
                store.resolve(identities, create=False, at=datetime.now(UTC)).customer_id
            )
        )
    except (ValueError, NotFound):
        pass
    found: dict[str, Found] = {}
    for customer_id in ids:
        customer = get_customer(customer_id, caller, store)
        if customer.id not in found:
            found[customer.id] = _found(customer, full_phones(console))
    named = store.customers_named(text, clinics=clinics_of(caller.key), limit=NAMED)
    # The one check decides, whatever the query filtered; one read for all of them.
    visible = caller.customers([customer_id for customer_id, _ in named])
    for brief in store.customer_briefs(visible):
        if brief.id not in found:
            phone = phone_shown(brief.phone, full_phones(console)) if brief.phone else None
            found[brief.id] = Found(brief.id, brief.name, brief.clinic, phone)
    return list(found.values())


def _found(customer: CustomerPublic, full: bool) -> Found:
    phones = [i.value for i in customer.identities if i.kind == "phone"]
    name, clinic = customer.attributes.get("name"), customer.attributes.get("clinic_id")
    return Found(
        id=customer.id,
        name=str(name) if name is not None else None,
        clinic=str(clinic) if clinic is not None else None,
        phone=phone_shown(phones[0], full) if phones else None,
    )


@dataclass(frozen=True)
class Profile:
    """Everything the profile page shows of one customer, as this user may see it."""

    customer: CustomerPublic
    identities: list[tuple[str, str, str]]
    attributes: list[tuple[str, str]]
    guardians: list[GuardianPublic]
    touches: list[TouchPublic]
    events: list[EventPublic]
    page: int
    more_events: bool
    enrollments: list[EnrollmentPublic]
    journey_names: dict[str, str]
    audit: list[AuditEntry] | None
    enrollable: list[tuple[str, str]]
    full: bool

    @property
    def name(self) -> str | None:
        name = self.customer.attributes.get("name")
        return str(name) if name is not None else None

    def shown(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        """``fields`` as this user may see them."""
        return fields_shown(fields, self.full)


def last_page() -> int:
    """The last timeline page the API's event limit reaches."""
    return MAX_EVENTS // PAGE_SIZE


def read_profile(console: Console, store: ServiceStore, customer_id: str, page: int) -> Profile:
    """The customer's profile and sections (NotFound when the user may not see them)."""
    caller, full = console.caller, full_phones(console)
    customer = get_customer(customer_id, caller, store)
    cid = customer.id
    page = max(1, min(page, last_page()))
    wanted = min(page * PAGE_SIZE + 1, MAX_EVENTS)
    events = list_events(cid, caller, store, limit=wanted)
    shown = events[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    admin = may(console, "admin")
    # Like a staff key, a staff user may not read the audit trail (an admin route).
    audit = None
    if admin:
        audit = list(reversed(audit_trail(cid, caller, store, format="json")))[:AUDIT_SHOWN]
    journeys = store.list_journeys()
    return Profile(
        customer=customer,
        identities=[
            (i.kind, i.namespace, phone_shown(i.value, full) if i.kind == "phone" else i.value)
            for i in customer.identities
        ],
        attributes=fields_shown(customer.attributes, full),
        guardians=list_guardians(cid, caller, store),
        touches=list_touches(cid, caller, store, limit=100),
        events=shown,
        page=page,
        more_events=len(events) > page * PAGE_SIZE and page < last_page(),
        enrollments=list_enrollments(cid, caller, store, limit=100),
        journey_names={j.journey_id: j.name or j.journey_id for j in journeys},
        audit=audit,
        enrollable=_enrollable(store) if admin else [],
        full=full,
    )


def _enrollable(store: ServiceStore) -> list[tuple[str, str]]:
    """(id, name) of the journeys ``POST /v1/journeys/{id}/enrollments`` accepts now:
    deployed, not paused, ``api`` not false."""
    out: list[tuple[str, str]] = []
    for info in store.list_journeys():
        if not info.paused and store.current_bundle(info.journey_id).journey.api:
            out.append((info.journey_id, info.name or info.journey_id))
    return out
