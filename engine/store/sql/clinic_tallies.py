"""Journey tallies per clinic, kept under the clinic each enrollment's customer is of.

A clinic's staff count only their clinics' customers (``Cohort.clinics``): the customer's
``clinic_id`` attribute as text, ``customer_clinic()``, read when the figures are
asked for. ``journey_clinic_tallies`` keeps a journey's figures per clinic so that
they need not read the clinic's trace; for that to count the same enrollments, each
enrollment's figures must be under its customer's clinic *now*:

- ``record_enrollment`` records the customer's clinic on the enrollment
  (``EnrollmentRow.clinic``, ``""`` for none) and every tally of its trace goes there
  (``engine.store.sql.tallies``);
- when a customer's ``clinic_id`` may have changed (an attribute write naming it, a
  merge, whose survivor takes the enrollments of the other and perhaps its clinic),
  :func:`follow_clinic` moves the figures of every enrollment of the customer whose
  recorded clinic is another: its whole figures out of the old clinic, into the new.

On PostgreSQL the moves and the trace's writes take turns on the enrollment's row (a
trace write locks it first, ``follow_clinic`` locks the customer's enrollments), and
``record_enrollment`` reads the clinic with a share lock on the customer's row, so that
a change being written is either seen or waits for the enrollment to be recorded.

Customers without a clinic (``""``) have no tallies, and are counted from the trace, as
before these tallies, as is a clinic whose id is over 63 characters (its key could be
another's prefix).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from engine.store.sql.attributes import CLINIC, customer_clinic
from engine.store.sql.tables import CustomerRow, EnrollmentRow
from engine.store.sql.tallies import KEY_WIDTH, add_figures, enrolled_rows, figures

__all__ = ["clinic_key", "clinic_moved", "clinic_of", "follow_clinic", "kept_exactly"]

_MISSING = object()


def clinic_key(clinic: str | None) -> str:
    """The clinic as the tallies keep it: ``""`` for none."""
    return "" if clinic is None else clinic[:KEY_WIDTH]


def kept_exactly(clinics: Iterable[str]) -> bool:
    """Whether the tallies of these clinics are theirs alone: not the key of customers
    without a clinic, and shorter than a truncated key (whose prefix it could be)."""
    return all(0 < len(c) < KEY_WIDTH for c in clinics)


def clinic_moved(before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
    """Whether attributes written over ``before`` may have changed the clinic: its value
    is not the same JSON (``7`` and ``7.0`` are equal in Python, not as text)."""
    old, new = before.get(CLINIC, _MISSING), after.get(CLINIC, _MISSING)
    return type(old) is not type(new) or old != new


def _dialect(s: Session) -> str:
    return s.get_bind().dialect.name


def clinic_of(s: Session, customer_id: str) -> str:
    """The customer's clinic key, read under a share lock of its row on PostgreSQL (a
    concurrent change of it commits first, or waits for this transaction)."""
    stmt = select(customer_clinic()).where(CustomerRow.id == customer_id)
    if _dialect(s) == "postgresql":
        stmt = stmt.with_for_update(read=True, of=CustomerRow)
    return clinic_key(s.scalar(stmt))


def follow_clinic(s: Session, customer_id: str) -> None:
    """Move the figures of the customer's enrollments kept under another clinic than its
    own now (after its attributes are flushed) to its own."""
    now = clinic_of(s, customer_id)  # its row is the caller's, locked by the write
    stmt = (
        select(EnrollmentRow.id)
        .where(EnrollmentRow.customer_id == customer_id, EnrollmentRow.clinic != now)
        .order_by(EnrollmentRow.id)
    )
    dialect = _dialect(s)
    if dialect == "postgresql":
        stmt = stmt.with_for_update(of=EnrollmentRow)
    moving = list(s.scalars(stmt))
    for enrollment in enrolled_rows(s, moving):  # locked above: none moved meanwhile
        kept = {k: n for k, n in figures(enrollment.trace, enrollment.status).items() if n}
        add_figures(dialect, s, enrollment, {k: -n for k, n in kept.items()}, enrollment.clinic)
        add_figures(dialect, s, enrollment, kept, now)
    if moving:
        s.execute(
            update(EnrollmentRow)
            .where(EnrollmentRow.id.in_(moving))
            .values(clinic=now)
            .execution_options(synchronize_session=False)
        )
