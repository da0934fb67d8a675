"""What the trace says about sends: the classification the journey metrics and the
channels report share, as SQL expressions over ``trace`` rows.

The send step (``workflows/sending.py``) records one ``attempt`` entry per try of a
channel (a provider call, a phone task, a skip, a quiet-hours deferral) and, when it
waited for the provider's receipt, one ``receipt`` entry right after it (``delivered``,
``failed``, or ``timeout`` when none came in time). Each visit of a send step begins
with a ``send`` entry. Channel, outcome and detail are fields of the entry's JSON
payload.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, and_, case, exists, func
from sqlalchemy.orm import aliased

from engine.models.reports.channels import SKIP_REASON_NAMES
from engine.store.sql.tables import TraceRow

__all__ = [
    "FAILED",
    "NOT_TRIED",
    "OTHER",
    "QUIET_HOURS",
    "SKIP_REASONS",
    "SKIP_REASON_NAMES",
    "delivered_after_fallback",
    "skip_reason",
    "trace_text",
    "tried_before",
]

#: Outcomes of a try that reached the provider, or was meant to, and did not get there:
#: refused for this customer or this channel, failed, errored, or no receipt in time.
FAILED = (
    "failed",
    "rejected",
    "invalid",
    "recipient",
    "quota",
    "transient",
    "config",
    "timeout",
)
#: Attempt outcomes of a channel that was not tried: not eligible, or not now.
NOT_TRIED = ("skipped", "deferred")
#: A skip's stored detail -> its reason (one of ``SKIP_REASON_NAMES``). The details are
#: written by the eligibility checks and carry names and times, so they are matched by
#: pattern (lower-cased, first match wins); a deferral (quiet hours, a clinic holiday)
#: is ``quiet_hours``; a detail no pattern matches is ``other``.
SKIP_REASONS = (
    ("%marketing consent%", "consent"),
    ("%subscribe-message consent%", "subscribe_consent"),
    ("%circuit%", "circuit"),
    ("%follow the official account%", "not_following"),
    ("%cap%", "cap"),
    ("%guardian%", "guardian"),
    ("%window%", "service_window"),
    ("no %", "no_identity"),
)
QUIET_HOURS = "quiet_hours"
OTHER = "other"


def trace_text(field: str, entry: Any = TraceRow) -> ColumnElement[str]:
    """A field of a trace entry's payload as text (``entry``: TraceRow or an alias)."""
    text: ColumnElement[str] = entry.payload[field].as_string()
    return text


def skip_reason(
    outcome: SQLColumnExpression[str], detail: SQLColumnExpression[str]
) -> ColumnElement[str]:
    """The reason of a skipped or deferred attempt, from its outcome and detail."""
    lowered = func.lower(detail)
    by_detail = case(*[(lowered.like(p), name) for p, name in SKIP_REASONS], else_=OTHER)
    return case((outcome == "deferred", QUIET_HOURS), else_=by_detail)


def tried_before(
    enrollment_id: SQLColumnExpression[str],
    step: SQLColumnExpression[str | None],
    channel: SQLColumnExpression[str],
    seq: SQLColumnExpression[int] | None,
) -> ColumnElement[bool]:
    """Another channel was tried earlier in the same visit of the send step: an
    ``attempt`` of the enrollment and step on another channel before ``seq``, with no
    ``send`` entry between (a visit runs from its ``send`` entry to the next one).
    ``seq`` None: before everything stored (a send whose own entry is not stored yet)."""
    earlier, visit = aliased(TraceRow), aliased(TraceRow)
    before: list[ColumnElement[bool]] = [] if seq is None else [earlier.seq < seq]
    between: list[ColumnElement[bool]] = [] if seq is None else [visit.seq < seq]
    new_visit = exists().where(
        visit.enrollment_id == earlier.enrollment_id,
        visit.kind == "send",
        visit.seq > earlier.seq,
        *between,
    )
    # Correlated to the enclosing query's rows explicitly: the nested EXISTS refers to
    # both the earlier attempt and the row asked about.
    new_visit = new_visit.correlate_except(visit)
    return (
        exists()
        .where(
            earlier.enrollment_id == enrollment_id,
            earlier.step == step,
            earlier.kind == "attempt",
            trace_text("channel", earlier) != channel,
            *before,
            ~new_visit,
        )
        .correlate_except(earlier)
    )


def delivered_after_fallback(
    enrollment_id: SQLColumnExpression[str],
    step: SQLColumnExpression[str | None],
    channel: SQLColumnExpression[str],
    seq: SQLColumnExpression[int] | None,
    outcome: SQLColumnExpression[str | None],
) -> ColumnElement[bool]:
    """A fallback taken: delivered on this channel after an earlier channel of the same
    visit of the send step did not deliver (it was tried, and the send went on)."""
    return and_(outcome == "delivered", tried_before(enrollment_id, step, channel, seq))
