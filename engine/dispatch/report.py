"""What one accepted change caused in journeys: the dispatcher's answer to the API."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class DispatchReport:
    """What one accepted change caused: enrollments started and signals sent.

    ``pending`` is set when part of it could not be dispatched now (an item whose
    dispatch failed is retried by the sweep, see ``engine.dispatch.attempts``)."""

    enrolled: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    signalled: list[str] = field(default_factory=list)
    enrollment_ids: list[str] = field(default_factory=list)
    pending: bool = False

    def merge(self, other: DispatchReport) -> None:
        """Add what ``other`` reports to this report."""
        self.enrolled += other.enrolled
        self.enrollment_ids += other.enrollment_ids
        self.skipped += other.skipped
        self.signalled += other.signalled
        self.pending = self.pending or other.pending
