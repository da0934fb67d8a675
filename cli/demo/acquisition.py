"""How a demo customer first came: the first touch and the events that bring it.

Each touch comes the way production records it: a QR scan that follows the Official
Account is a ``wechat.subscribed`` event with the code's scene (the callback's touch,
``resolve_touch`` adds the code's channel, activity, clinic and doctor); a plain follow
is ``wechat_follow``; a WeCom contact added through a clinic's contact-me code carries
its ``state`` and the staff member; a visit from an ad is a page view whose properties
carry the UTM fields (``utm_touches`` makes it a touch). One customer in twenty comes
with no touch at all: their first event (a shared article opened, a page) stands.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random

from cli.demo.calendar import CLINIC
from cli.demo.chain import CAMPAIGNS, CLINICS, CONTENT, Clinic, staff_of
from cli.demo.people import Profile, survivor_of
from cli.demo.records import CallbackTouch, DemoEvent, Via
from cli.demo.world import Screening, World

__all__ = ["Arrival", "arrive"]

_EVENING = tuple(float(h >= 19) * (1 + (h == 20)) for h in range(24))


@dataclass(slots=True)
class Arrival:
    at: datetime
    clinic: Clinic
    openid: bool  # came through the Official Account (has an openid from the start)
    wecom_staff: str | None = None
    screening: Screening | None = None
    attended: tuple[int, ...] = ()  # screening days attended
    campaign_audience: str | None = None
    events: list[DemoEvent] = field(default_factory=list)


def arrive(world: World, rng: Random, profile: Profile) -> Arrival:
    """The first touch of ``profile`` (and the customer's home clinic, which a school
    or a staff member decides)."""
    way = profile.acquisition
    if way == "qrcode":
        return _screening(world, rng, profile)
    if way == "live":
        return _live(world, rng, profile)
    calendar = world.calendar
    at = calendar.moment(rng, calendar.pick_day(rng))
    clinic = profile.clinic
    if way == "wechat_follow":
        touch = CallbackTouch("follow", {"channel": "wechat_follow"}, "wechat")
        arrival = Arrival(at, clinic, openid=True)
        arrival.events.append(_event(at, "wechat.subscribed", {"app_id": clinic.app_id}, touch))
        return arrival
    if way == "wecom":
        return _wecom(world, rng, at, clinic)
    if way == "web":
        return _web(rng, profile, at)
    return _untouched(rng, profile, at)


def _event(
    at: datetime, name: str, properties: Mapping[str, object], touch: CallbackTouch | None = None
) -> DemoEvent:
    via: Via = "openid" if name.startswith("wechat.") else "phone"
    return DemoEvent(at, name, dict(properties), via, touch)


def _screening(world: World, rng: Random, profile: Profile) -> Arrival:
    """A parent scans the school screening's code at the screening and follows."""
    screening = rng.choice(world.screenings)
    days = screening.days
    came = days if len(days) == 1 or rng.random() < 0.75 else days[1:]
    attended = came[:1] if len(came) > 1 and rng.random() < 0.3 else came
    calendar = world.calendar
    at = calendar.moment(rng, attended[0], CLINIC)
    clinic = next(c for c in CLINICS if c.id == screening.school.clinic_id)
    code = world.codes[screening.code_id]
    touch = CallbackTouch("follow", {"channel": "wechat_qr", "scene": code.scene}, "wechat")
    arrival = Arrival(at, clinic, openid=True, screening=screening, attended=attended)
    properties = {"app_id": clinic.app_id, "scene": code.scene}
    arrival.events.append(_event(at, "wechat.subscribed", properties, touch))
    school = {"school": screening.school.name, "activity": screening.school.activity}
    for n, day in enumerate(attended):
        when = at + timedelta(minutes=3) if n == 0 else calendar.moment(rng, day, CLINIC)
        arrival.events.append(_event(when, "school_screening.attended", school))
    return arrival


def _live(world: World, rng: Random, profile: Profile) -> Arrival:
    """A viewer scans the doctor's code during a live stream and follows."""
    fitting = [v for v in world.lives if v.content.audience == profile.persona]
    live = rng.choice(fitting or list(world.lives))
    at = world.calendar.moment(rng, live.day, _EVENING)
    clinic = next(c for c in CLINICS if c.id == live.doctor.clinic_id)
    code = world.codes[live.code_id]
    touch = CallbackTouch("follow", {"channel": "wechat_qr", "scene": code.scene}, "wechat")
    arrival = Arrival(at, clinic, openid=True)
    arrival.events.append(
        _event(at, "wechat.subscribed", {"app_id": clinic.app_id, "scene": code.scene}, touch)
    )
    watched = {"content_id": live.content.id, "content_type": "live"}
    arrival.events.append(DemoEvent(at + timedelta(minutes=1), "content.viewed", watched, "openid"))
    return arrival


def _wecom(world: World, rng: Random, at: datetime, clinic: Clinic) -> Arrival:
    """A visitor at the front desk adds a member of staff through the clinic's code."""
    staff = rng.choice(staff_of(clinic.id)).id
    code = world.wecom_code(clinic.id)
    raw = {"channel": "wecom_contact_way", "state": code.scene, "staff": staff}
    touch = CallbackTouch("contact_add", raw, "wecom_contact_me")
    arrival = Arrival(at, clinic, openid=False, wecom_staff=staff)
    properties = {"staff_id": staff, "state": code.scene}
    arrival.events.append(DemoEvent(at, "wecom.contact_added", properties, "contact", touch))
    return arrival


def _web(rng: Random, profile: Profile, at: datetime) -> Arrival:
    """A click on a paid search or feed ad: the landing page's view carries the UTM."""
    fitting = [c for c in CAMPAIGNS if c.audience == profile.persona]
    (campaign,) = rng.choices(fitting, weights=[c.share for c in fitting])
    content = rng.choice([c for c in CONTENT if c.audience in (profile.persona, "all")])
    properties = {
        "page": "landing",
        "content_id": content.id,
        "clinic_id": profile.clinic.id,
        "clinic": profile.clinic.id,  # the UTM touch's clinic (utm_touch reads "clinic")
        "utm_source": campaign.utm_source,
        "utm_medium": campaign.utm_medium,
        "utm_campaign": campaign.utm_campaign,
        "utm_term": rng.choice(campaign.terms),
    }
    arrival = Arrival(at, profile.clinic, openid=False, campaign_audience=campaign.audience)
    arrival.events.append(DemoEvent(at, "page.viewed", properties, "phone"))
    return arrival


def _untouched(rng: Random, profile: Profile, at: datetime) -> Arrival:
    """No touch: an article someone shared, or the site's home page, comes first."""
    arrival = Arrival(at, profile.clinic, openid=False)
    if profile.index > 0 and rng.random() < 0.4:
        content = rng.choice(CONTENT)
        referrer = survivor_of(rng.randrange(profile.index))
        properties = {"content_id": content.id, "referrer": referrer}
        arrival.events.append(DemoEvent(at, "share.opened", properties, "phone"))
    else:
        properties = {"page": "home", "clinic_id": profile.clinic.id}
        arrival.events.append(DemoEvent(at, "page.viewed", properties, "phone"))
    return arrival
