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
from engine.models.steps import BranchCase, BranchStep, HandoffStep, SendStep
from rules.deps import dependencies
from rules.models import AllRule, AnyRule, NotRule, Rule, SegmentRule

__all__ = [
    "RefPath",
    "message_refs",
    "messages_used",
    "rule_segment_refs",
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
