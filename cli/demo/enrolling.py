"""Demo enrollments written through the store methods the journey activities use.

What the interpreter's activities would have stored as the enrollment ran: the
enrollment when it started (``record_enrollment``), each provider call before it was
made and its answer after (``begin_delivery``, ``end_delivery``), handoff tasks
(``create_task``, then ``escalate_task`` and ``complete_task`` as staff worked them),
the trace (``append_trace``), and how it ended (``finish_enrollment``). No workflow is
started: these are history, and a running one is running only in the database.
"""

from __future__ import annotations

from datetime import datetime

from cli.demo.records import DemoCustomer, DemoEnrollment, DemoTask
from engine.expressions.templating import render, scope_for
from engine.models.workspace import JourneyBundle
from engine.store.records import DeliveryRecord, EnrollmentRecord, HandoffTask
from engine.store.sql import SqlStore

__all__ = ["write_enrollment"]


def write_enrollment(
    store: SqlStore,
    bundle: JourneyBundle,
    customer: DemoCustomer,
    enrollment: DemoEnrollment,
    anchor: datetime,
) -> None:
    """Store ``enrollment`` of ``customer`` in the deployed ``bundle``'s version."""
    store.record_enrollment(
        EnrollmentRecord(
            id=enrollment.id,
            journey_id=enrollment.journey_id,
            version=bundle.version,
            customer_id=enrollment.customer_id,
            key=enrollment.key,
            started_at=enrollment.started_at,
        )
    )
    for delivery in enrollment.deliveries:
        record = DeliveryRecord(
            key=delivery.key,
            enrollment_id=enrollment.id,
            step=delivery.step,
            channel=delivery.channel,
            at=delivery.at,
            customer_id=enrollment.customer_id,
        )
        store.begin_delivery(record)
        store.end_delivery(delivery.key, delivery.outcome, delivery.detail, delivery.provider_ref)
    for task in enrollment.tasks:
        _task(store, bundle, customer, enrollment, task, anchor)
    if enrollment.status == "running" or enrollment.ended_at is None:
        store.append_trace(enrollment.id, enrollment.trace)
        return
    store.finish_enrollment(
        enrollment.id,
        enrollment.status,
        enrollment.reason,
        enrollment.variant,
        enrollment.ended_at,
        trace=enrollment.trace,
    )


def _task(
    store: SqlStore,
    bundle: JourneyBundle,
    customer: DemoCustomer,
    enrollment: DemoEnrollment,
    task: DemoTask,
    anchor: datetime,
) -> None:
    """The task as ``create_handoff`` made it (script rendered for the customer, the
    customer's clinic), then escalated and done as far as the anchor saw."""
    scope = scope_for(
        {**customer.attributes, "id": enrollment.customer_id, "tags": []},
        enrollment.context,
        {"id": bundle.journey.id, "name": bundle.journey.name, "version": bundle.version},
    )
    script = None
    message = bundle.messages.get(task.message or "")
    if message is not None and message.phone is not None:
        script = render(message.phone.script, scope)
    clinic = customer.attributes.get("clinic_id")
    store.create_task(
        HandoffTask(
            id=task.id,
            enrollment_id=enrollment.id,
            customer_id=enrollment.customer_id,
            journey_id=enrollment.journey_id,
            step=task.step,
            queue=task.queue,
            clinic=str(clinic) if clinic else None,
            script=script,
            created_at=task.created_at,
            due_at=task.due_at,
        )
    )
    if task.escalated_at is not None and task.escalated_at < anchor and task.escalated_to:
        store.escalate_task(task.id, task.escalated_to)
    if task.done_at is not None and task.done_at < anchor and task.outcome:
        store.complete_task(task.id, task.outcome)
