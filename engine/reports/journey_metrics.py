"""A journey's metrics and its experiments' results, from the store's aggregate counts
and the deployed definition (the splits' weights, the goal's window)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, Field

from engine.models.steps import SplitStep
from engine.models.workspace import JourneyBundle
from engine.reports.experiments import Comparison, SampleRatio, compare, rate, sample_ratio
from engine.store.metrics import ArmCount, JourneyCounts, StepFigures

HOLDOUT = "holdout"


class ArmResult(BaseModel):
    """One arm of a split: its counts and, for arms other than the control, the
    comparison with the control."""

    variant: str = Field(description="variant name, or holdout")
    weight: float | None = Field(description="configured weight; None: not in this version")
    n: int = Field(description="entered the arm (by entry cohort)")
    c: int = Field(description="converted: the journey's goal was met")
    p: float | None = Field(description="c / n; None for an empty arm")
    running: int = Field(description="still running")
    control: bool = Field(description="true for the arm the others are compared with")
    versus_control: Comparison | None = Field(description="None for the control itself")


class Experiment(BaseModel):
    """A split step's arms against its control (the holdout; without one, the first
    variant)."""

    step: str = Field(description="the split step's id")
    control: str = Field(description="the control arm's name")
    provisional: bool = Field(description="true until every entrant's goal window has closed")
    arms: list[ArmResult] = Field(description="configured arms first, in order")
    sample_ratio: SampleRatio = Field(description="arm sizes against the configured weights")


class JourneyMetrics(BaseModel):
    """A journey's cohort (entered in the range) and what became of it."""

    journey_id: str = Field(description="the journey's id")
    version: int | None = Field(description="the version counted; None: every version")
    entered: int = Field(description="enrollments that entered in the range")
    active_now: int = Field(description="of them, still running")
    completed: int = Field(description="reached the end of the journey")
    converted: int = Field(description="met the journey's goal")
    exited: dict[str, int] = Field(description="exit reason -> enrollments that exited")
    failed: dict[str, int] = Field(description="reason -> enrollments that failed")
    steps: dict[str, StepFigures] = Field(description="per step, in the journey's order")
    experiments: list[Experiment] = Field(description="one per split step with entrants")


def journey_metrics(
    bundle: JourneyBundle, counts: JourneyCounts, version: int | None, now: datetime
) -> JourneyMetrics:
    """The metrics of ``counts`` (the cohort), read against the deployed ``bundle``."""
    by_status: dict[str, dict[str, int]] = {}
    for row in counts.statuses:
        reasons = by_status.setdefault(row.status, {})
        reasons[row.reason or "(none)"] = reasons.get(row.reason or "(none)", 0) + row.count
    order = [s.id for s in bundle.journey.steps]
    order += sorted(set(counts.steps) - set(order))
    splits = {s.id: s for s in bundle.journey.steps if isinstance(s, SplitStep)}
    goal = bundle.journey.goal
    window = goal.within if goal is not None else None
    experiments = [
        experiment(step, splits.get(step), arms, window, now)
        for step, arms in sorted(counts.arms.items())
    ]
    return JourneyMetrics(
        journey_id=bundle.journey.id,
        version=version,
        entered=sum(r.count for r in counts.statuses),
        active_now=sum(by_status.get("running", {}).values()),
        completed=sum(by_status.get("completed", {}).values()),
        converted=sum(by_status.get("converted", {}).values()),
        exited=by_status.get("exited", {}),
        failed=by_status.get("failed", {}),
        steps={s: counts.steps.get(s, StepFigures()) for s in order},
        experiments=experiments,
    )


def experiment(
    step_id: str,
    step: SplitStep | None,
    counted: list[ArmCount],
    window: timedelta | None,
    now: datetime,
) -> Experiment:
    """One split's arms compared with its control, as the reports contract defines it."""
    weights: dict[str, float] = {}
    if step is not None:
        weights = {v.name: v.weight for v in step.split.variants}
        if step.split.holdout:
            weights[HOLDOUT] = step.split.holdout
    found = {a.variant: a for a in counted}
    names = list(weights) + sorted(set(found) - set(weights))
    control = HOLDOUT if HOLDOUT in names else names[0]
    empty = ArmCount(variant="", entered=0, converted=0, running=0, last_entry=None)
    arms = {name: found.get(name, empty) for name in names}
    last = max((a.last_entry for a in counted if a.last_entry is not None), default=None)
    # Open while anyone still runs (a holdout stays until its window closes) or while
    # the latest entrant's goal window has not yet passed.
    provisional = any(a.running for a in counted) or (
        window is not None and last is not None and last + window > now
    )
    base = arms[control]
    results = [
        ArmResult(
            variant=name,
            weight=weights.get(name),
            n=arm.entered,
            c=arm.converted,
            p=rate(arm.converted, arm.entered),
            running=arm.running,
            control=name == control,
            versus_control=None
            if name == control
            else compare(
                base.converted, base.entered, arm.converted, arm.entered, provisional=provisional
            ),
        )
        for name, arm in arms.items()
    ]
    configured = [n for n in names if n in weights]
    ratio = sample_ratio([arms[n].entered for n in configured], [weights[n] for n in configured])
    return Experiment(
        step=step_id, control=control, provisional=provisional, arms=results, sample_ratio=ratio
    )
