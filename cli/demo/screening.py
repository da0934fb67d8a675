"""School screening parents: the second screening, the feedback form, and the
``school_screening_parents`` journey with its experiment.

A parent who came to two screenings and filled the feedback form with marketing
consent is in the segment ``high_intent_parents`` and enters the journey
(``examples/eye-clinic/journeys/school_screening_parents.yaml``): a WeCom tip from the
optometrist (SMS when it is not confirmed within a day), a week to book, then a split:
80% get a call, 20% are held out. Booking within 30 days is the goal. The parents
convert better with the call than without (16% against 10% of those reaching the
split), and the booking each converted parent makes is in their timeline at the time
the journey saw it; parents who did not convert do not book inside the window.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from cli.demo.calendar import ZONE
from cli.demo.life import Life
from cli.demo.sends import send
from cli.demo.tracing import Tracer, local_iso, split_point, workflow_id

__all__ = ["JOURNEY", "STEPS", "screen"]

JOURNEY = "school_screening_parents"
STEPS = frozenset(("first_touch", "tip", "give_time", "split_call", "call", "tag_booked", "done"))
#: Who books: within the first week, then per arm of those who reach the split.
BOOK_FIRST_WEEK = 0.10
BOOK_WITH_CALL = 0.16
BOOK_HELD_OUT = 0.10
_GOAL = timedelta(days=30)


def screen(life: Life, attended: tuple[int, ...]) -> None:
    """After the screenings: the feedback form and, for those it admits, the journey."""
    rng = life.rng
    if len(attended) < 2 or rng.random() >= 0.55:
        return
    day = min(attended[1] + rng.randrange(0, 10), life.last_day + 10)
    form_at = life.calendar.moment(rng, day)
    form_at = max(form_at, life.calendar.local_at(attended[1], 18))
    life.add(form_at, "form.submitted", {"form_id": "vision_feedback"}, "phone")
    life.filled_form = True
    life.consent("service", None, form_at)
    if rng.random() >= 0.85:
        return  # no marketing consent on the form: the journey's entry refuses them
    life.consent("marketing", "wecom", form_at)
    life.consent("marketing", "sms", form_at)
    life.blocked = (form_at, form_at + _GOAL)
    customer = life.profile.survivor
    start = form_at + timedelta(seconds=1)
    tracer = Tracer(workflow_id(JOURNEY, customer, None), start)
    booked = _play(tracer, life, start)
    context = {"form_id": "vision_feedback"}
    life.enrollments.append(tracer.close(life.calendar.anchor, JOURNEY, customer, None, context))
    if booked is not None:
        life.bookings.append(booked)
    elif rng.random() < 0.15:  # some book later, after the window
        life.bookings.append(form_at + _GOAL + timedelta(hours=rng.randrange(1, 900)))


def _ten_oclock(at: datetime) -> datetime:
    """The next 10:00 local time on a day from Monday to Saturday."""
    local = at.astimezone(ZONE)
    day = local.date() if local.time() < time(10) else local.date() + timedelta(days=1)
    while day.weekday() == 6:
        day += timedelta(days=1)
    return datetime.combine(day, time(10), ZONE)


def _play(tracer: Tracer, life: Life, start: datetime) -> datetime | None:
    rng = life.rng
    deadline = start + _GOAL
    ten = _ten_oclock(start)
    tracer.add(start, "first_touch", "wait", detail=f"until {local_iso(ten)}")
    done, delivered = send(
        tracer, life, ten, "tip", "parent_tip", ("wecom", "sms"), timedelta(days=1)
    )
    if not delivered:  # on_failure: call
        return _call(tracer, life, done, deadline)
    last = tracer.entries[-1]
    if last.channel == "sms" and rng.random() < 0.04:  # replies R: marketing SMS withdrawn
        life.consent(
            "marketing", "sms", done + timedelta(minutes=rng.randrange(2, 240)), granted=False
        )
    tracer.add(done, "give_time", "wait_for", event="appointment.booked")
    if rng.random() < BOOK_FIRST_WEEK:
        booked = done + timedelta(minutes=rng.randrange(60, 7 * 24 * 60))
        return _goal(tracer, booked, "give_time")
    split_at = done + timedelta(days=7)
    tracer.add(split_at, "give_time", "timeout")
    holdout = split_point(tracer.enrollment_id, "split_call", 100) >= 80
    tracer.variant = "holdout" if holdout else "call"
    tracer.add(split_at, "split_call", "split", variant=tracer.variant)
    if not holdout:
        return _call(tracer, life, split_at, deadline)
    if rng.random() < BOOK_HELD_OUT:
        window = int((deadline - split_at).total_seconds())
        return _goal(tracer, split_at + timedelta(seconds=rng.randrange(window)), "split_call")
    tracer.add(deadline, "split_call", "exit", reason="holdout")
    tracer.end(deadline, "exited", "holdout")
    return None


def _call(tracer: Tracer, life: Life, at: datetime, deadline: datetime) -> datetime | None:
    """The optometrist's call: the parent books while it is open, or declines."""
    rng = life.rng
    tracer.visit("call")
    task = tracer.handoff(at, "call", "optometrist", "parent_tip", timedelta(days=1))
    if rng.random() < BOOK_WITH_CALL:
        latest = int((deadline - at).total_seconds()) - 60
        booked = at + timedelta(seconds=min(int(rng.expovariate(1 / 72000)), latest))
        task.done_at, task.outcome = booked + timedelta(minutes=rng.randrange(5, 30)), "booked"
        return _goal(tracer, booked, "call")
    done = at + timedelta(minutes=30 + min(int(rng.expovariate(1 / 480)), 4000))
    task.done_at, task.outcome = done, "not_interested"
    tracer.add(done, "call", "handoff", outcome="not_interested")
    tracer.add(done, "done", "exit", reason="nurtured")
    tracer.end(done, "completed", "nurtured")
    return None


def _goal(tracer: Tracer, booked: datetime, step: str) -> datetime:
    tracer.add(booked, step, "goal", event="appointment.booked")
    tracer.end(booked, "converted", "goal")
    return booked
