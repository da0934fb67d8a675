"""A deployed journey as a graph to draw: a node per step (its kind and the one detail
an operator looks for), an edge per way onward with what takes it, laid out by
``journey_layout``. Pure: no I/O; the page adds the figures.

The ways onward are the interpreter's (``engine.models.references.step_edges``, kept
here with what each one means): an unset ``next`` or ``on_*`` falls through to the
following step, the last step's fall-through ends the journey (no edge), a split's
holdout waits out the goal window and leaves (no edge), and a handoff outcome that is
not listed goes on the default way.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from api.console.journey_layout import Layout, Route, layered
from engine.models.journey import ExitSegment, GoalSegment, Journey
from engine.models.steps import (
    BranchCase,
    BranchStep,
    ExitStep,
    HandoffStep,
    SendStep,
    SplitStep,
    Step,
    TagStep,
    UpdateStep,
    WaitForStep,
    WaitStep,
    step_kind_of,
)
from engine.models.workspace import JourneyBundle
from rules.durations import format_duration

#: What takes an edge: the template words it.
WayKind = Literal[
    "next", "event", "timeout", "case", "else", "variant", "failure", "outcome", "other"
]


@dataclass(frozen=True)
class Way:
    """One reason to go from a step to another: its kind and, for cases, variants and
    outcomes, which one (a case's number, a variant's or an outcome's name)."""

    kind: WayKind
    name: str = ""


@dataclass(frozen=True)
class Node:
    """A step as the diagram shows it."""

    step: str
    kind: str
    detail: str
    index: int


@dataclass(frozen=True)
class Edge:
    """Every way from ``source`` to ``target`` (drawn once), its route and whether it is
    the only way into ``target`` (then its count is the target's reached count; the
    first step is also reached by entering, so no edge into it is its only way in)."""

    index: int
    source: str
    target: str
    ways: tuple[Way, ...]
    route: Route
    only_way_in: bool


@dataclass(frozen=True)
class Diagram:
    """A journey version's drawing."""

    journey_id: str
    version: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    layout: Layout

    def node(self, step: str) -> Node | None:
        return next((n for n in self.nodes if n.step == step), None)


def ways_out(journey: Journey) -> list[tuple[str, str, Way]]:
    """(source, target, way) for every way onward, in step order."""
    steps = journey.steps
    found: list[tuple[str, str, Way]] = []
    for i, step in enumerate(steps):
        default = step.next or (steps[i + 1].id if i + 1 < len(steps) else None)
        named, falls_through = _named_ways(step)
        for target, way in named:
            if target is None and falls_through:
                continue  # an unset on_failure: the same way as the fall-through
            chosen = target or default
            if chosen is not None:
                found.append((step.id, chosen, way))
        if falls_through and default is not None:
            # A handoff's fall-through is taken by the outcomes it does not list.
            listed = isinstance(step, HandoffStep) and step.handoff.outcomes
            found.append((step.id, default, Way("other" if listed else "next")))
    return list(dict.fromkeys(found))


def _named_ways(step: Step) -> tuple[list[tuple[str | None, Way]], bool]:
    """The step's named ways (an unset target: the default way) and whether it also
    falls through to the default."""
    if isinstance(step, ExitStep):
        return [], False
    if isinstance(step, WaitForStep):
        return [(step.on_event, Way("event")), (step.on_timeout, Way("timeout"))], False
    if isinstance(step, BranchStep):
        ways: list[tuple[str | None, Way]] = []
        for j, case in enumerate(step.branch, start=1):
            if isinstance(case, BranchCase):
                ways.append((case.goto, Way("case", str(j))))
            else:
                return [*ways, (case.else_, Way("else"))], False
        return ways, True
    if isinstance(step, SplitStep):
        return [(v.goto, Way("variant", v.name)) for v in step.split.variants], False
    if isinstance(step, SendStep):
        return [(step.on_failure, Way("failure"))], True
    if isinstance(step, HandoffStep):
        return [(t, Way("outcome", k)) for k, t in step.handoff.outcomes.items()], True
    return [], True


def detail_of(step: Step) -> str:
    """The one thing about a step an operator looks for, in the journey's own terms
    (ids, durations, names): no words to translate."""
    if isinstance(step, WaitStep):
        spec = step.wait
        if spec.duration is not None:
            return format_duration(spec.duration)
        if spec.until is not None:
            return spec.until
        field = spec.until_attribute or spec.until_context or ""
        if spec.offset is None:
            return field
        return f"{field} {'-' if spec.offset_negative else '+'}{format_duration(spec.offset)}"
    if isinstance(step, WaitForStep):
        return f"{step.wait_for.event} ≤ {format_duration(step.wait_for.timeout)}"
    if isinstance(step, SendStep):
        return step.send.message
    if isinstance(step, SplitStep):
        return " / ".join(v.name for v in step.split.variants)
    if isinstance(step, TagStep):
        return " ".join([*(f"+{t}" for t in step.tag.add), *(f"-{t}" for t in step.tag.remove)])
    if isinstance(step, UpdateStep):
        return ", ".join(step.update.set)
    if isinstance(step, HandoffStep):
        return step.handoff.queue
    if isinstance(step, ExitStep):
        return step.exit
    return ""


def diagram_of(bundle: JourneyBundle) -> Diagram:
    """The drawing of a deployed journey version (computed once per version)."""
    return _diagram(
        bundle.journey.id, bundle.version, bundle.journey.model_dump_json(by_alias=True)
    )


@cache
def _diagram(journey_id: str, version: int, definition: str) -> Diagram:
    journey = Journey.model_validate_json(definition)
    nodes = tuple(
        Node(s.id, step_kind_of(s) or "", detail_of(s), i) for i, s in enumerate(journey.steps)
    )
    grouped: dict[tuple[str, str], list[Way]] = {}
    for source, target, way in ways_out(journey):
        grouped.setdefault((source, target), []).append(way)
    layout = layered([n.step for n in nodes], list(grouped), journey.steps[0].id)
    # The first step is also reached by entering the journey: no edge is its only way in.
    ways_in: dict[str, int] = {journey.steps[0].id: 1}
    for _, target in grouped:
        ways_in[target] = ways_in.get(target, 0) + 1
    edges = tuple(
        Edge(i, source, target, tuple(ways), route, ways_in[target] == 1)
        for i, ((source, target), ways, route) in enumerate(
            zip(grouped, grouped.values(), layout.routes, strict=True)
        )
    )
    return Diagram(journey_id, version, nodes, edges, layout)


@dataclass(frozen=True)
class GoalText:
    """The journey's goal in its own terms: the event or segment, and the window."""

    name: str
    within: str | None


def goal_of(journey: Journey) -> GoalText | None:
    """What converts an enrollment (None: the journey has no goal)."""
    goal = journey.goal
    if goal is None:
        return None
    name = goal.segment_entered if isinstance(goal, GoalSegment) else goal.event
    return GoalText(name, None if goal.within is None else format_duration(goal.within))


def exits_of(journey: Journey) -> list[str]:
    """The events and segments whose arrival or departure ends an enrollment early."""
    return [c.segment_exited if isinstance(c, ExitSegment) else c.event for c in journey.exit_when]
