"""The audit trail of one customer, read from records that are only ever appended.

Nothing is written for it: every send, skip and receipt is in the enrollments' trace
(inserted once per sequence number, never updated), consents are a ledger, merges a
log, and changes made by hand are the change log's lines for the customer (with who
made them). The trail puts them in time order, so a clinic can answer "what did you send
this patient, when, why, and what did they agree to" from one place.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from engine.store.records import AuditEntry
from engine.store.sql.common import SqlPart, follow_id
from engine.store.sql.outbox import trigger_skip_entries
from engine.store.sql.tables import (
    ChangeRow,
    ConsentRow,
    EnrollmentRow,
    GuardianLinkRow,
    MergeRow,
    TraceRow,
)

#: Trace entries worth auditing, by kind: a channel attempt (sent, skipped, deferred,
#: refused), a delivery receipt, a handoff created or answered, an exit.
AUDITED_TRACE = ("attempt", "receipt", "handoff", "exit", "goal")


class AuditPart(SqlPart):
    def audit_trail(self, customer_id: str, limit: int = 1000) -> list[AuditEntry]:
        """The customer's audit trail (the survivor's, merged ids included), oldest
        first, at most ``limit`` entries (the most recent)."""
        with self._db.read() as s, s.begin():
            cid = follow_id(s, customer_id)
            merged = [
                cid,
                *s.scalars(select(MergeRow.merged_id).where(MergeRow.survivor_id == cid)),
            ]
            entries: list[AuditEntry] = []
            trace = (
                select(TraceRow, EnrollmentRow.journey_id)
                .join(EnrollmentRow, EnrollmentRow.id == TraceRow.enrollment_id)
                .where(EnrollmentRow.customer_id == cid, TraceRow.kind.in_(AUDITED_TRACE))
            )
            for row, journey_id in s.execute(trace):
                payload = dict(row.payload)
                kind = row.kind
                if kind == "attempt":
                    outcome = payload.get("outcome")
                    kind = {"skipped": "skip", "deferred": "defer"}.get(str(outcome), "send")
                entries.append(
                    AuditEntry(
                        at=row.at,
                        kind=kind,
                        enrollment_id=row.enrollment_id,
                        journey_id=journey_id,
                        step=row.step,
                        channel=payload.get("channel"),
                        outcome=payload.get("outcome"),
                        detail=str(payload.get("detail") or payload.get("reason") or ""),
                    )
                )
            for c in s.scalars(select(ConsentRow).where(ConsentRow.customer_id == cid)):
                entries.append(
                    AuditEntry(
                        at=c.at,
                        kind="consent" if c.granted else "consent_withdrawn",
                        channel=c.channel,
                        outcome=c.purpose,
                        detail=f"source {c.source}"
                        + (f", text {c.text_version}" if c.text_version else ""),
                    )
                )
            # Who could receive a minor's messages, and since when (engine.compliance.guardians).
            links = select(GuardianLinkRow).where(GuardianLinkRow.customer_id.in_(merged))
            for g in s.scalars(links):
                said = f"guardian {g.guardian_id}" + (f" ({g.relation})" if g.relation else "")
                entries.append(
                    AuditEntry(
                        at=g.linked_at, kind="guardian_linked", detail=f"{said}, by {g.source}"
                    )
                )
                if g.unlinked_at is not None:
                    entries.append(
                        AuditEntry(at=g.unlinked_at, kind="guardian_unlinked", detail=said)
                    )
            merges = select(MergeRow).where(
                or_(MergeRow.survivor_id.in_(merged), MergeRow.merged_id.in_(merged))
            )
            for m in s.scalars(merges):
                entries.append(
                    AuditEntry(
                        at=m.at,
                        kind="merge",
                        detail=f"{m.merged_id} merged into {m.survivor_id}: {m.reason}",
                    )
                )
            entries += trigger_skip_entries(s, merged)  # triggers of paused journeys
            # Changes made by hand (console, API, command line), with who made them.
            changed = select(ChangeRow).where(ChangeRow.customer_id.in_(merged))
            for line in s.scalars(changed):
                entries.append(
                    AuditEntry(
                        at=line.at,
                        kind=line.action,
                        actor=line.actor,
                        enrollment_id=line.subject_id
                        if line.subject_kind == "enrollment"
                        else None,
                        journey_id=line.detail.get("journey_id"),
                        detail=", ".join(f"{k} {v}" for k, v in sorted(line.detail.items())),
                    )
                )
        entries.sort(key=lambda e: e.at)
        return entries[-limit:]
