"""A journey's figures as they are summed: per step and per split arm, from the trace
queries and from the tallies alike (both give rows of the same shape)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from engine.store.metrics import ArmCount, ChannelSends, StepFigures
from engine.store.sql.sends import FAILED, NOT_TRIED


@dataclass
class Figures:
    """Per step and per split arm, summed over the parts of a cohort."""

    steps: dict[str, StepFigures] = field(default_factory=dict)
    draws: dict[str, dict[str, ArmCount]] = field(default_factory=dict)

    def at(self, step: str) -> StepFigures:
        return self.steps.setdefault(step, StepFigures())

    def send(self, step: str, kind: str, channel: str, outcome: str, reason: str, n: int) -> None:
        """``n`` attempts or receipts of one channel, outcome and skip reason."""
        sends = self.at(step).sends.setdefault(channel, ChannelSends())
        if kind == "attempt" and outcome in NOT_TRIED:
            sends.skipped[reason] = sends.skipped.get(reason, 0) + n
            return
        if kind == "attempt":
            sends.attempted += n
        if outcome == "delivered":
            sends.delivered += n
        elif outcome in FAILED:
            sends.failed += n

    def arm(
        self, step: str, variant: str, n: int, converted: int, running: int, last: datetime | None
    ) -> None:
        """``n`` first draws of ``variant`` at a split step."""
        arms = self.draws.setdefault(step, {})
        found = arms.get(variant)
        if found is None:
            found = arms[variant] = ArmCount(
                variant=variant, entered=0, converted=0, running=0, last_entry=None
            )
        found.entered += n
        found.converted += converted
        found.running += running
        if last is not None and (found.last_entry is None or last > found.last_entry):
            found.last_entry = last

    def arms(self) -> dict[str, list[ArmCount]]:
        """The arms that have entrants, per split step."""
        found = {step: [a for a in arms.values() if a.entered] for step, arms in self.draws.items()}
        return {step: arms for step, arms in found.items() if arms}
