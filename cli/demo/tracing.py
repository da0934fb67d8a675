"""An enrollment's history as the journey interpreter would have left it: trace entries
in order, the deliveries its sends began, the handoff tasks it created.

A journey of the demo is played to its end, whenever that is; :meth:`Tracer.close`
then keeps only what happened before the anchor, so an enrollment whose end lies
after it is still running, its tasks still open, its goal not yet met. The entries,
their kinds and fields are the interpreter's (``workflows/journey.py``, ``steps.py``,
``sending.py``); so are the delivery keys (``{enrollment}:{step}:{channel}:{visit}.0``),
the task ids (``activities/journey.py`` ``create_handoff``) and the split's draw.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from cli.demo.calendar import ZONE
from cli.demo.records import DemoDelivery, DemoEnrollment, DemoTask
from engine.contracts.journey import EnrollmentStatusName, TraceEntry
from engine.dispatch.enroll import workflow_id

__all__ = ["Tracer", "local_iso", "split_point", "workflow_id"]


def split_point(enrollment_id: str, step_id: str, total: float) -> float:
    """Where a ``split`` step's draw falls in ``[0, total)``: the interpreter's own
    (``workflows/steps.py`` ``run_split``), so a split is drawn as it would be."""
    digest = hashlib.sha256(f"{enrollment_id}:{step_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 * total


def local_iso(at: datetime) -> str:
    """A time as the trace's ``wait`` details write it (the customer's local time)."""
    return at.astimezone(ZONE).isoformat(timespec="seconds")


@dataclass(slots=True)
class Tracer:
    """One enrollment played through; ``close`` cuts it at the anchor."""

    enrollment_id: str
    started_at: datetime
    entries: list[TraceEntry] = field(default_factory=list)
    attempts: list[DemoDelivery] = field(default_factory=list)
    tasks: list[DemoTask] = field(default_factory=list)
    status: EnrollmentStatusName = "running"
    reason: str | None = None
    variant: str | None = None
    ended_at: datetime | None = None
    visits: dict[str, int] = field(default_factory=dict)

    def add(self, at: datetime, step: str, kind: str, **fields: Any) -> None:
        seq = len(self.entries) + 1
        self.entries.append(TraceEntry(seq=seq, at=at, step=step, kind=kind, **fields))

    def visit(self, step: str) -> int:
        """Enter ``step`` once more; its visit number (delivery keys carry it)."""
        self.visits[step] = self.visits.get(step, 0) + 1
        return self.visits[step]

    def attempt(
        self, at: datetime, step: str, channel: str, outcome: str, detail: str
    ) -> str | None:
        """A send attempt; one that reached the provider begins a delivery, whose
        provider reference comes back (for a receipt)."""
        self.add(at, step, "attempt", channel=channel, outcome=outcome, detail=detail)
        if outcome in ("skipped", "deferred"):
            return None
        key = f"{self.enrollment_id}:{step}:{channel}:{self.visits.get(step, 1)}.0"
        ref = None
        if outcome == "accepted":
            ref = hashlib.sha1(key.encode()).hexdigest()[:20]
        self.attempts.append(DemoDelivery(key, step, channel, at, outcome, detail, ref))
        return ref

    def handoff(
        self, at: datetime, step: str, queue: str, message: str, due: timedelta
    ) -> DemoTask:
        """A handoff task created now, as ``create_handoff`` names it."""
        digest = hashlib.sha1(f"{self.enrollment_id}|{step}|{at.isoformat()}".encode())
        task = DemoTask(f"T-{digest.hexdigest()[:10]}", step, queue, message, at, at + due)
        self.tasks.append(task)
        self.add(at, step, "handoff", outcome="created", detail=task.id)
        return task

    def end(self, at: datetime, status: EnrollmentStatusName, reason: str) -> None:
        self.status, self.reason, self.ended_at = status, reason, at

    def close(
        self,
        anchor: datetime,
        journey_id: str,
        customer_id: str,
        key: str | None,
        context: dict[str, Any],
    ) -> DemoEnrollment:
        """What of it had happened before ``anchor``: running when it ended later."""
        ended = self.ended_at is not None and self.ended_at < anchor
        return DemoEnrollment(
            id=self.enrollment_id,
            journey_id=journey_id,
            customer_id=customer_id,
            key=key,
            started_at=self.started_at,
            context=context,
            status=self.status if ended else "running",
            reason=self.reason if ended else None,
            variant=self.variant if ended else None,
            ended_at=self.ended_at if ended else None,
            trace=[e for e in self.entries if e.at < anchor],
            deliveries=[a for a in self.attempts if a.at < anchor],
            tasks=[t for t in self.tasks if t.created_at < anchor],
        )
