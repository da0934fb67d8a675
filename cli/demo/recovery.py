"""``payment_recovery`` played for an appointment whose payment was cancelled.

The booking system tags the customer ``预约取消支付`` with the appointment in the
context; the journey (``examples/eye-clinic/journeys/payment_recovery.yaml``) reminds
them on WeChat (template, then subscribe message) or SMS, waits two days for an online
consultation, and hands them to an optometrist who calls. Paying the appointment within
seven days is the goal; cancelling it exits. The customer's own events (the
consultation, the payment, the cancellation) are added to their timeline at the times
the journey reacts to them, so the enrollment's outcome and the events agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cli.demo.calendar import ZONE
from cli.demo.chain import Package
from cli.demo.life import Life
from cli.demo.records import DemoTag
from cli.demo.sends import send
from cli.demo.tracing import Tracer, local_iso, workflow_id

__all__ = ["JOURNEY", "STEPS", "TAG", "Appointment", "recover"]

JOURNEY = "payment_recovery"
#: The steps this play follows: a deployed journey with other steps is not played.
STEPS = frozenset(("remind", "wait_consult", "nudge", "consult_tip", "call", "retry_later", "end"))
TAG = "预约取消支付"
_CHANNELS = ("wechat_template", "wechat_subscribe", "sms")


@dataclass(frozen=True, slots=True)
class Appointment:
    id: str
    package: Package
    clinic_id: str
    doctor_id: str
    booked_at: datetime
    visit_at: datetime

    def properties(self) -> dict[str, object]:
        return {"appointment_id": self.id, "amount": float(self.package.amount)}


def recover(life: Life, appointment: Appointment, cancelled_at: datetime) -> datetime | None:
    """Tag the customer, play the journey; when the appointment was paid (None: not)."""
    visit = appointment.visit_at.astimezone(ZONE)
    context = {
        "appointment_id": appointment.id,
        "package_name": appointment.package.name,
        "appointment_at": f"{visit:%Y-%m-%d %H:%M}",
    }
    life.tags.append(DemoTag(TAG, cancelled_at, context))
    customer = life.profile.survivor
    start = cancelled_at + timedelta(seconds=1)
    tracer = Tracer(workflow_id(JOURNEY, customer, appointment.id), start)
    paid = _play(tracer, life, appointment, start)
    enrollment = tracer.close(life.calendar.anchor, JOURNEY, customer, appointment.id, context)
    life.enrollments.append(enrollment)
    return paid


def _play(tracer: Tracer, life: Life, appointment: Appointment, start: datetime) -> datetime | None:
    rng = life.rng
    at, delivered = send(
        tracer, life, start, "remind", "payment_reminder", _CHANNELS, timedelta(minutes=30)
    )
    if delivered:
        tracer.add(at, "wait_consult", "wait_for", event="consultation.started")
        draw = rng.random()
        if draw < 0.30:  # pays after the reminder
            paid = at + timedelta(minutes=min(5 + int(rng.expovariate(1 / 360)), 2870))
            return _goal(tracer, life, appointment, paid, "wait_consult")
        if draw < 0.36:  # cancels the appointment instead
            gone = at + timedelta(minutes=rng.randrange(60, 2880))
            life.add(gone, "appointment.cancelled", appointment.properties(), life.member_via())
            why = "exit_when appointment.cancelled"
            tracer.add(gone, "wait_consult", "exit", event="appointment.cancelled", reason=why)
            tracer.end(gone, "exited", why)
            return None
        if draw < 0.54:  # opens a consultation: the optometrist calls at once
            at = at + timedelta(minutes=rng.randrange(30, 2880))
            properties = {"doctor_id": appointment.doctor_id}
            life.add(at, "consultation.started", properties, life.app_via())
            tracer.add(at, "wait_consult", "event", event="consultation.started")
        else:
            at = _nudge(tracer, life, at + timedelta(days=2))
    return _calls(tracer, life, appointment, at)


def _nudge(tracer: Tracer, life: Life, at: datetime) -> datetime:
    """Two days without a consultation: VIPs are called, parents get a tip first."""
    tracer.add(at, "wait_consult", "timeout")
    vip = life.profile.persona == "adult" and life.rng.random() < 0.15
    if vip or life.profile.persona != "parent":
        tracer.add(at, "nudge", "branch", goto="call")
        return at
    tracer.add(at, "nudge", "branch", goto="consult_tip")
    done, _ = send(tracer, life, at, "consult_tip", "consult_nudge", ("wechat_text", "sms"), None)
    return done


def _calls(tracer: Tracer, life: Life, appointment: Appointment, at: datetime) -> datetime | None:
    """The optometrist's call (again a day later when the patient was not reached)."""
    rng = life.rng
    for attempt in range(2):
        tracer.visit("call")
        task = tracer.handoff(at, "call", "optometrist", "payment_reminder", timedelta(hours=4))
        done = at + timedelta(minutes=20 + int(rng.expovariate(1 / 150)))
        due = at + timedelta(hours=4)
        if done > due:  # not worked within its 4 hours: the clinic manager's queue
            task.escalated_at, task.escalated_to = due, "clinic_manager"
            tracer.add(due, "call", "handoff", outcome="escalated", detail="clinic_manager")
        draw = rng.random()
        task.done_at = done
        if draw < (0.4 if attempt == 0 else 0.3):  # pays on the phone: the goal is met
            task.outcome = "booked"
            task.done_at = done + timedelta(minutes=rng.randrange(2, 15))
            return _goal(tracer, life, appointment, done, "call")
        task.outcome = "not_reached" if attempt == 0 and draw > 0.8 else "declined"
        tracer.add(done, "call", "handoff", outcome=task.outcome)
        if task.outcome == "declined":
            break
        at = done + timedelta(days=1)
        tracer.add(done, "retry_later", "wait", detail=f"until {local_iso(at)}")
    tracer.add(done, "end", "exit", reason="done")
    tracer.end(done, "completed", "done")
    if rng.random() < 0.5:
        gone = done + timedelta(hours=rng.randrange(2, 72))
        life.add(gone, "appointment.cancelled", appointment.properties(), life.member_via())
    return None


def _goal(
    tracer: Tracer, life: Life, appointment: Appointment, paid: datetime, step: str
) -> datetime:
    life.add(paid, "appointment.paid", appointment.properties(), life.member_via())
    tracer.add(paid, step, "goal", event="appointment.paid")
    tracer.end(paid, "converted", "goal")
    return paid
