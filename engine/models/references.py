"""What a journey refers to: messages and segments, each with the path where it is named.

The paths (``("steps", 2, "send", "message")``) let the validator point at the line;
:func:`messages_used` and :func:`segments_used` give the plain sets a bundle needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from engine.models.journey import (
    ExitSegment,
    GoalSegment,
    Journey,
    ScheduleTrigger,
    Segment,
    SegmentEnteredTrigger,
)
from engine.models.steps import (
    BranchCase,
    BranchStep,
    HandoffStep,
    SendStep,
    SplitStep,
    WaitForStep,
    step_kind_of,
)
from rules.deps import dependencies
from rules.models import AllRule, AnyRule, NotRule, Rule, SegmentRule

__all__ = [
    "RefPath",
    "cycles",
    "step_edges",
    "message_refs",
    "messages_used",
    "rule_segment_refs",
    "rules_read",
    "segment_refs",
    "segments_used",
]

RefPath = tuple[str | int, ...]


def message_refs(journey: Journey) -> Iterator[tuple[RefPath, str]]:
    """(path, message id) for every send step and every handoff with a call script."""
    for i, step in enumerate(journey.steps):
        if isinstance(step, SendStep):
            yield ("steps", i, "send", "message"), step.send.message
        elif isinstance(step, HandoffStep) and step.handoff.message is not None:
            yield ("steps", i, "handoff", "message"), step.handoff.message


def rule_segment_refs(rule: Rule, path: RefPath = ()) -> Iterator[tuple[RefPath, str]]:
    """(path, segment id) for every ``segment`` atom in a rule, however deeply nested."""
    if isinstance(rule, SegmentRule):
        yield (*path, "segment"), rule.segment
    elif isinstance(rule, AllRule):
        for i, item in enumerate(rule.all):
            yield from rule_segment_refs(item, (*path, "all", i))
    elif isinstance(rule, AnyRule):
        for i, item in enumerate(rule.any):
            yield from rule_segment_refs(item, (*path, "any", i))
    elif isinstance(rule, NotRule):
        yield from rule_segment_refs(rule.not_, (*path, "not"))


def segment_refs(journey: Journey) -> Iterator[tuple[RefPath, str]]:
    """(path, segment id) for every segment a journey names directly."""
    trigger = journey.trigger
    if isinstance(trigger, SegmentEnteredTrigger):
        yield ("trigger", "segment_entered"), trigger.segment_entered
    elif isinstance(trigger, ScheduleTrigger):
        yield ("trigger", "schedule", "segment"), trigger.schedule.segment
    if journey.entry is not None:
        yield from rule_segment_refs(journey.entry, ("entry",))
    if isinstance(journey.goal, GoalSegment):
        yield ("goal", "segment_entered"), journey.goal.segment_entered
    for i, cond in enumerate(journey.exit_when):
        if isinstance(cond, ExitSegment):
            yield ("exit_when", i, "segment_exited"), cond.segment_exited
    for i, step in enumerate(journey.steps):
        if isinstance(step, BranchStep):
            for j, case in enumerate(step.branch):
                if isinstance(case, BranchCase):
                    yield from rule_segment_refs(case.when, ("steps", i, "branch", j, "when"))


def rules_read(journey: Journey, segments: Mapping[str, Rule]) -> list[Rule]:
    """The rules that decide who a journey enrolls and where they go: the entry rule,
    branch conditions, and the rule of every segment the journey names (trigger, goal,
    exits, rules); ids that name no segment are left out.

    Segments those rules reference in turn are not expanded here: a caller follows them
    with :func:`rules.deps.dependencies`, which reads through segment atoms.
    """
    rules: list[Rule] = []
    if journey.entry is not None:
        rules.append(journey.entry)
    for step in journey.steps:
        if isinstance(step, BranchStep):
            rules += [case.when for case in step.branch if isinstance(case, BranchCase)]
    rules += [segments[sid] for _, sid in segment_refs(journey) if sid in segments]
    return rules


def messages_used(journey: Journey) -> set[str]:
    """Ids of the messages a journey sends or hands to staff as a call script."""
    return {message_id for _, message_id in message_refs(journey)}


def segments_used(journey: Journey, segments: Mapping[str, Segment]) -> set[str]:
    """Ids of every segment a journey needs, following segments' own rules transitively.

    Ids that name no segment are included too, so a caller can tell they are missing.
    """
    rules = {sid: seg.rule for sid, seg in segments.items()}
    found: set[str] = set()
    for _, sid in segment_refs(journey):
        found.add(sid)
        if sid in rules:
            found |= dependencies(rules[sid], rules).segments
    return found


def step_edges(journey: Journey) -> list[tuple[RefPath, str, int]]:
    """(path of the reference, target step id, source step index) for every way onward.

    Unset ``next`` / ``on_*`` fall through to the following step (the last step's
    fall-through is ``exit: completed``, which is no edge); such an edge carries the path
    of the step itself. A handoff outcome that is not listed goes on the same way.
    """
    edges: list[tuple[RefPath, str, int]] = []
    steps = journey.steps
    for i, step in enumerate(steps):
        here: RefPath = ("steps", i)
        default: tuple[RefPath, str] | None = None
        if step.next:
            default = ((*here, "next"), step.next)
        elif i + 1 < len(steps):
            default = (here, steps[i + 1].id)
        named: list[tuple[RefPath, str | None]] = []
        falls_through = True
        if step_kind_of(step) == "exit":
            continue
        if isinstance(step, WaitForStep):
            named = [((*here, "on_event"), step.on_event), ((*here, "on_timeout"), step.on_timeout)]
            falls_through = False
        elif isinstance(step, BranchStep):
            for j, case in enumerate(step.branch):
                if isinstance(case, BranchCase):
                    named.append(((*here, "branch", j, "goto"), case.goto))
                else:
                    named.append(((*here, "branch", j, "else"), case.else_))
                    falls_through = False
        elif isinstance(step, SplitStep):
            variants = step.split.variants
            named = [
                ((*here, "split", "variants", j, "goto"), v.goto) for j, v in enumerate(variants)
            ]
            falls_through = False  # a holdout waits out the goal window, then exits
        elif isinstance(step, SendStep):
            named = [((*here, "on_failure"), step.on_failure)]
        elif isinstance(step, HandoffStep):
            outcomes = step.handoff.outcomes.items()
            named = [((*here, "handoff", "outcomes", key), t) for key, t in outcomes]
        for path, target in named:
            if target is not None:
                edges.append((path, target, i))
            elif default is not None:
                edges.append((*default, i))
        if falls_through and default is not None:
            edges.append((*default, i))
    return list(dict.fromkeys(edges))  # an unset on_failure and the fall-through coincide


def cycles(graph: dict[int, list[int]]) -> Iterator[list[int]]:
    """One cycle (as a list of nodes) per strongly connected component that has one."""
    order: list[int] = []
    done: set[int] = set()
    for root in sorted(graph):  # first pass: finishing order (iterative DFS)
        if root in done:
            continue
        done.add(root)
        stack = [(root, iter(graph[root]))]
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                stack.pop()
                order.append(node)
            elif nxt not in done:
                done.add(nxt)
                stack.append((nxt, iter(graph[nxt])))
    reverse: dict[int, list[int]] = {n: [] for n in graph}
    for n, targets in graph.items():
        for t in targets:
            reverse[t].append(n)
    assigned: set[int] = set()
    for root in reversed(order):  # second pass: components on the reversed graph
        if root in assigned:
            continue
        component = {root}
        todo = [root]
        while todo:
            for prev in reverse[todo.pop()]:
                if prev not in assigned and prev not in component:
                    component.add(prev)
                    todo.append(prev)
        assigned |= component
        start = min(component)
        if len(component) > 1 or start in graph[start]:
            yield _path_back(graph, component, start)


def _path_back(graph: dict[int, list[int]], component: set[int], start: int) -> list[int]:
    """A simple path from start back to start inside one component (breadth first)."""
    came: dict[int, int] = {}
    frontier = [start]
    while frontier:
        following: list[int] = []
        for node in frontier:
            for nxt in sorted(graph[node]):
                if nxt == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(came[path[-1]])
                    return list(reversed(path))
                if nxt in component and nxt not in came:
                    came[nxt] = node
                    following.append(nxt)
        frontier = following
    return [start]  # pragma: no cover - a component with a cycle always closes
