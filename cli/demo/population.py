"""The demo population, drawn deterministically: same seed, count and anchor, same
customers, events, touches, consents, tags and enrollments. Plain data, no I/O.

Each customer is drawn from a generator of their own (``Random(f"{seed}:{index}")``),
so customer 17 is the same whatever the count, and the chain's world (screenings, live
streams, codes) from one of its own (``World.build``). The draw, per customer:

1. who they are and how they came (``people``, ``acquisition``): the first touch;
2. what they did next (``browsing``): sessions, follows, WeCom contacts, consultations,
   forms, a look at the mall;
3. school screening parents: the second screening, the feedback form and the
   ``school_screening_parents`` journey (``screening``);
4. bookings and orders (``commerce``), with ``payment_recovery`` for a cancelled
   payment (``recovery``);
5. one in a hundred had a second identity set first (an openid of another clinic's
   Official Account) and is merged when they name both (``_early``).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from random import Random

from cli.demo.acquisition import arrive
from cli.demo.browsing import browse, engage, show_intent
from cli.demo.calendar import HISTORY_DAYS
from cli.demo.chain import CLINICS, staff_of
from cli.demo.commerce import shop
from cli.demo.life import Life
from cli.demo.people import Profile, draw_profile, openid_of
from cli.demo.records import (
    CallbackTouch,
    DemoConsent,
    DemoCustomer,
    DemoEvent,
    DemoIdentities,
    EarlyProfile,
)
from cli.demo.screening import screen
from cli.demo.world import World

__all__ = ["customer", "generate", "lifetime_value"]

_CONVERSIONS = ("appointment.paid", "order.paid", "orthok.fitted")
_REFUNDS = ("appointment.refunded", "order.refunded", "orthok.refunded")


def generate(world: World, count: int) -> Iterator[DemoCustomer]:
    """Customers ``0 .. count - 1``, one at a time (a large population never sits in
    memory whole)."""
    for index in range(count):
        yield customer(world, index)


def customer(world: World, index: int) -> DemoCustomer:
    """Customer ``index`` of the world's seed, with everything they did before the anchor."""
    rng = Random(f"{world.seed}:{index}")
    profile = draw_profile(rng, world.seed, index)
    arrival = arrive(world, rng, profile)
    profile = replace(profile, clinic=arrival.clinic)
    ids = _identities(world.seed, rng, profile, arrival.openid, arrival.wecom_staff)
    engaged = int(rng.expovariate(1 / 45)) + 2
    life = Life(
        world=world,
        rng=rng,
        profile=profile,
        ids=ids,
        first_at=arrival.at,
        last_day=min(world.calendar.day_of(arrival.at) + engaged, HISTORY_DAYS - 1),
        follows=arrival.openid,
    )
    life.events.extend(arrival.events)
    browse(life)
    engage(life)
    show_intent(life)
    if arrival.screening is not None:
        screen(life, arrival.attended)
    shop(life)
    early = _early(life) if profile.merge else None
    return _finish(life, early)


def _identities(
    seed: int, rng: Random, profile: Profile, openid: bool, staff: str | None
) -> DemoIdentities:
    """Phone for everyone; an openid for followers (and some who follow later), a
    member id for members, a WeCom contact for those who added a member of staff."""
    app = profile.clinic.app_id
    untouched = profile.acquisition == "none"  # and stays so: no follow, no contact later
    has_openid = openid or (not untouched and rng.random() < 0.3)
    member = rng.random() < 0.4
    # School screening parents are mostly added by the optometrist's assistant on WeCom.
    added = 0.6 if profile.acquisition == "qrcode" else 0.12
    if staff is None and not untouched and rng.random() < added:
        staff = rng.choice(staff_of(profile.clinic.id)).id
    return DemoIdentities(
        phone=profile.phone,
        app_id=app,
        openid=openid_of(seed, profile.index, app) if has_openid else None,
        user_id=f"M{profile.index + 10_000_000}" if member else None,
        wecom=f"wm{openid_of(seed, profile.index, 'wecom')[1:21]}" if staff else None,
        wecom_staff=staff,
    )


def _early(life: Life) -> EarlyProfile:
    """The merge customer's first identity set: a follower of another clinic's Official
    Account, days before they came; the page they log into with their phone names both
    sets, and carepath merges them (the earlier customer survives)."""
    rng = life.rng
    other = CLINICS[(CLINICS.index(life.profile.clinic) + 1) % len(CLINICS)]
    at = life.first_at - timedelta(hours=rng.randrange(2, 20 * 24))
    early = EarlyProfile(
        id=life.profile.survivor,
        app_id=other.app_id,
        openid=openid_of(life.world.seed, life.profile.index, other.app_id),
        at=at,
    )
    touch = CallbackTouch("follow", {"channel": "wechat_follow"}, "wechat")
    life.events.append(DemoEvent(at, "wechat.subscribed", {"app_id": other.app_id}, "early", touch))
    for n in range(rng.randint(1, 3)):
        viewed = {"page": "home", "clinic_id": other.id}
        life.events.append(DemoEvent(at + timedelta(minutes=5 + n), "page.viewed", viewed, "early"))
    latest = min(timedelta(days=30), life.calendar.anchor - life.first_at)
    login = life.later(life.first_at, timedelta(minutes=10), latest)
    if login < life.calendar.anchor:
        page = {"page": "member_login", "clinic_id": life.profile.clinic.id}
        life.events.append(DemoEvent(login, "page.viewed", page, "merge"))
    return early


def lifetime_value(events: list[DemoEvent]) -> float:
    """Yuan paid minus refunded, as the profile attribute ``lifetime_value``."""
    total = 0.0
    for event in events:
        amount = float(event.properties.get("amount", 0.0))
        if event.name in _CONVERSIONS:
            total += amount
        elif event.name in _REFUNDS:
            total -= amount
    return round(total, 2)


def _ledger(consents: list[DemoConsent], anchor: datetime) -> list[DemoConsent]:
    """The consents before the anchor, in time order; a grant the customer had given
    already (a second booking's service consent) is not given again."""
    earliest: dict[tuple[str, str | None, bool], DemoConsent] = {}
    for consent in sorted(consents, key=lambda c: (c.at, c.purpose, c.channel or "", c.granted)):
        if consent.at < anchor:
            earliest.setdefault((consent.purpose, consent.channel, consent.granted), consent)
    return sorted(earliest.values(), key=lambda c: (c.at, c.purpose, c.channel or "", c.granted))


def _finish(life: Life, early: EarlyProfile | None) -> DemoCustomer:
    profile = life.profile
    anchor = life.calendar.anchor
    events = life.seal(profile.id)
    mine = [e for e in events if e.via != "early"]
    attributes: dict[str, object] = {
        "name": profile.name,
        "clinic_id": profile.clinic.id,
        "city": profile.clinic.city,
        "age_group": "child" if profile.persona == "parent" else "adult",
        "lifetime_value": lifetime_value(events),
    }
    if profile.child_age is not None:
        attributes["child_age"] = profile.child_age
    return DemoCustomer(
        index=profile.index,
        id=profile.id,
        created_at=mine[0].at if mine else life.first_at,
        attributes=attributes,
        identities=life.ids,
        early=early,
        follows=life.follows,
        events=events,
        consents=_ledger(life.consents, anchor),
        tags=[t for t in life.tags if t.at < anchor],
        enrollments=[e for e in life.enrollments if e.started_at < anchor],
    )
