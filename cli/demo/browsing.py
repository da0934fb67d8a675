"""What a demo customer does between coming and buying: sessions of page and content
views (with the odd share), following and leaving the Official Account, adding and
removing a member of staff, consultations, forms and a look at the mall.

Sessions cluster in the first week after the first touch and thin out over the
customer's engagement; days and hours follow the calendar's weights (weekends and
evenings busier), so daily activity varies as a clinic's does.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from cli.demo.chain import CONTENT, FORMS, doctors_of
from cli.demo.life import Life
from cli.demo.records import CallbackTouch

__all__ = ["browse", "engage", "show_intent"]

_PAGES = ("home", "article", "article", "doctor", "clinic", "package", "live")
_FITTING = {
    persona: tuple(c for c in CONTENT if c.audience in (persona, "all"))
    for persona in ("parent", "adult")
}


def browse(life: Life) -> None:
    """The customer's sessions: 1 to 30, each a few page and content views."""
    rng = life.rng
    sessions = 1 + min(29, int(rng.expovariate(1 / 6.2)))
    first = life.first_day
    for n in range(sessions):
        soon = n == 0 or rng.random() < 0.45
        day = life.day_between(first, min(first + 7, life.last_day) if soon else life.last_day)
        at = life.calendar.moment(rng, day)
        if at <= life.first_at:
            at = life.first_at + timedelta(minutes=rng.randrange(2, 90))
        _session(life, at)


def _session(life: Life, at: datetime) -> None:
    rng = life.rng
    views = 1 + min(6, int(rng.expovariate(1 / 2.0)))
    fitting = _FITTING[life.profile.persona]
    via = life.app_via()
    for _ in range(views):
        at += timedelta(seconds=rng.randrange(20, 400))
        content = rng.choice(fitting)
        if rng.random() < 0.55:
            properties = {"content_id": content.id, "content_type": content.content_type}
            life.add(at, "content.viewed", properties, via)
            if rng.random() < 0.07:
                shared = {"content_id": content.id, "referrer": life.profile.survivor}
                life.add(at + timedelta(seconds=30), "share.sent", shared, via)
        else:
            life.add(at, "page.viewed", _page(life, content.id), via)


def _page(life: Life, content_id: str) -> dict[str, object]:
    page = life.rng.choice(_PAGES)
    clinic = life.profile.clinic.id
    properties: dict[str, object] = {"page": page, "clinic_id": clinic}
    if page == "article":
        properties["content_id"] = content_id
    if page == "doctor":
        properties["doctor_id"] = life.rng.choice(doctors_of(clinic)).id
    return properties


def engage(life: Life) -> None:
    """Following the Official Account later (or leaving it), adding a member of staff."""
    rng = life.rng
    app = life.profile.clinic.app_id
    if life.ids.openid is not None and not life.follows:
        at = life.calendar.moment(rng, life.day_between(life.first_day, life.last_day))
        at = max(at, life.first_at + timedelta(minutes=5))
        touch = CallbackTouch("follow", {"channel": "wechat_follow"}, "wechat")
        life.add(at, "wechat.subscribed", {"app_id": app}, "openid", touch)
        life.follows = True
    if life.follows and rng.random() < 0.08:
        at = life.calendar.moment(rng, life.day_between(life.first_day + 3, life.last_day + 20))
        at = max(at, life.first_at + timedelta(days=1))
        life.add(at, "wechat.unsubscribed", {"app_id": app}, "openid")
        life.follows = at >= life.calendar.anchor  # leaving after the anchor: not yet
    staff = life.ids.wecom_staff
    if staff is None:
        return
    if life.profile.acquisition != "wecom":
        at = life.calendar.moment(rng, life.day_between(life.first_day, life.last_day))
        at = max(at, life.first_at + timedelta(minutes=10))
        _contact(life, at, staff)
    if rng.random() < 0.05:
        at = life.calendar.moment(rng, life.day_between(life.first_day + 2, life.last_day + 30))
        at = max(at, life.first_at + timedelta(days=1))
        life.add(at, "wecom.contact_removed", {"staff_id": staff}, "wecom")


def _contact(life: Life, at: datetime, staff: str) -> None:
    code = life.world.wecom_code(life.profile.clinic.id)
    raw = {"channel": "wecom_contact_way", "state": code.scene, "staff": staff}
    touch = CallbackTouch("contact_add", raw, "wecom_contact_me")
    properties = {"staff_id": staff, "state": code.scene}
    life.add(at, "wecom.contact_added", properties, "contact", touch)


def show_intent(life: Life) -> None:
    """Online consultations with a doctor, lead forms, a look at the mall."""
    rng = life.rng
    persona = life.profile.persona
    clinic = life.profile.clinic.id
    if rng.random() < (0.15 if persona == "parent" else 0.25):
        at = _after_first(life)
        doctor = rng.choice(doctors_of(clinic)).id
        life.add(at, "consultation.started", {"doctor_id": doctor}, life.app_via())
        life.consulted = True
    if rng.random() < (0.06 if persona == "parent" else 0.2):
        # Parents met at screenings fill the screening's feedback form (cli.demo.screening).
        form = "orthok_consult" if persona == "parent" else FORMS[persona]
        at = _after_first(life)
        life.add(at, "form.submitted", {"form_id": form}, "phone")
        life.consent("service", None, at)
        life.filled_form = True
    if rng.random() < 0.3:
        at = _after_first(life)
        life.add(at, "page.viewed", {"page": "mall", "clinic_id": clinic}, life.app_via())
        life.saw_mall = True


def _after_first(life: Life) -> datetime:
    at = life.calendar.moment(life.rng, life.day_between(life.first_day, life.last_day))
    return max(at, life.first_at + timedelta(minutes=life.rng.randrange(5, 120)))
