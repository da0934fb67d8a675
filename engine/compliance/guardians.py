"""Minors and their guardians (PIPL art. 28 and 31: a child's data needs a guardian's
consent; messages about a child go to a guardian, never to the child).

A customer is a minor when the ``minor`` attribute is ``true``, or, when it is not
written, when ``birth_date`` (ISO date) makes them younger than 14 today. ``minor:
false`` is the clinic's own statement and wins over the birth date. Guardians are
customers of their own (with their own identities and consent ledger), linked to the
child through the API (``POST /v1/customers/{id}/guardians``) or ``identify``.

A send for a minor is addressed to a guardian: the first guardian (in the order they
were linked) who can be reached on the channel and has a current consent for the
message's purpose there, for service messages as for marketing (the guardian's
consent is what allows the child's data to be used at all). Without one, the channel
is skipped with that reason; the child's own contact is never used.

A journey on school-screening data (its trigger, rules or segments read the
``school_screening_events`` or ``school_screening_attributes`` of the compliance
rules) must name the guardian consent it relies on in ``guardian_consent``; enrolling
checks it (:func:`guardian_consent_missing`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from engine.models.common import ChannelName
from engine.models.journey import EventTrigger, Journey
from engine.models.references import RefPath, rules_read
from engine.store.records import Customer
from rules.deps import dependencies
from rules.evaluate import consent_granted
from rules.models import Rule

__all__ = [
    "MINOR_AGE",
    "addressee",
    "guardian_consent_missing",
    "is_minor",
    "school_data_read",
]

#: Under this age a customer is a minor whose messages go to a guardian (PIPL art. 28).
MINOR_AGE = 14

_IDENTITY: dict[str, str] = {
    "wechat_template": "wechat_openid",
    "wechat_subscribe": "wechat_openid",
    "wechat_text": "wechat_openid",
    "wecom": "wecom_external_userid",
    "sms": "phone",
    "phone": "phone",
}


def is_minor(customer: Customer, now: dt.datetime, timezone: str = "Asia/Shanghai") -> bool:
    """Whether the customer is a minor today (``minor`` attribute, else ``birth_date``)."""
    flag = customer.attributes.get("minor")
    if isinstance(flag, bool):
        return flag
    raw = customer.attributes.get("birth_date")
    if not isinstance(raw, str | dt.date):
        return False
    try:
        born = raw if isinstance(raw, dt.date) else dt.date.fromisoformat(raw[:10])
    except ValueError:
        return False
    today = now.astimezone(ZoneInfo(customer.timezone or timezone)).date()
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age < MINOR_AGE


def _reachable(person: Customer, channel: ChannelName) -> bool:
    needed = _IDENTITY[channel]
    if person.identities.get(needed):
        return True
    return needed == "phone" and bool(person.attributes.get("phone"))


def addressee(channel: ChannelName, purpose: str, guardians: Sequence[Customer]) -> Customer | None:
    """The guardian a minor's message on ``channel`` goes to, or None when no guardian
    is reachable there with a current consent for ``purpose``."""
    for guardian in guardians:
        if not _reachable(guardian, channel):
            continue
        if consent_granted(guardian.consents, purpose, channel):
            return guardian
    return None


def no_guardian_reason(purpose: str, channel: ChannelName, linked: int) -> str:
    """Why a minor's channel is skipped."""
    if linked == 0:
        return "minor: no guardian linked (never sent to a child's own contact)"
    return f"minor: no guardian with {purpose} consent reachable by {channel}"


def school_data_read(
    journey: Journey,
    segments: Mapping[str, Rule],
    attributes: frozenset[str],
    events: frozenset[str],
) -> set[str]:
    """The school-screening events and attributes the journey's trigger and rules read."""
    read: set[str] = set()
    if isinstance(journey.trigger, EventTrigger) and journey.trigger.event in events:
        read.add(journey.trigger.event)
    for rule in rules_read(journey, segments):
        deps = dependencies(rule, segments)
        read |= set(deps.attributes) & attributes
        read |= set(deps.events) & events
    return read


def check_journey(
    journey: Journey,
    segments: Mapping[str, Rule],
    attributes: frozenset[str],
    events: frozenset[str],
) -> tuple[RefPath, str] | None:
    """(where, what) when the journey uses school-screening data without guardian_consent."""
    read = school_data_read(journey, segments, attributes, events)
    if not read or journey.guardian_consent:
        return None
    where: RefPath = ("entry",) if journey.entry is not None else ("trigger",)
    return where, ", ".join(sorted(read))


def guardian_consent_missing(
    purposes: Sequence[str],
    customer: Customer,
    guardians: Sequence[Customer],
    now: dt.datetime,
    timezone: str = "Asia/Shanghai",
) -> str | None:
    """Why the customer may not enter a journey with ``guardian_consent``, or None.

    A minor needs a linked guardian with a current consent for every purpose (on any
    channel). An adult enrolled on school-screening data is the guardian (a parent):
    their own consent counts.
    """
    if is_minor(customer, now, timezone):
        for purpose in purposes:
            if not any(consent_granted(g.consents, purpose) for g in guardians):
                return f"no guardian's {purpose} consent (minor)"
        return None
    for purpose in purposes:
        if not consent_granted(customer.consents, purpose):
            return f"no guardian's {purpose} consent"
    return None
