"""``carepath validate [WORKSPACE]``: every problem, or one summary line per journey."""

from __future__ import annotations

import argparse

from engine.errors import Problem, ValidationFailed
from engine.models.journey import (
    ApiTrigger,
    EventTrigger,
    Journey,
    ScheduleTrigger,
    SegmentEnteredTrigger,
    TagAddedTrigger,
)
from engine.models.steps import HandoffStep, SendStep
from engine.workspace.loader import load_workspace

__all__ = ["describe_trigger", "format_problem", "main", "summary"]


def format_problem(problem: Problem) -> str:
    """``file:line: message (fix) [rule]``."""
    return f"{problem} [{problem.rule}]" if problem.rule else str(problem)


def describe_trigger(journey: Journey) -> str:
    """The trigger in one short phrase."""
    trigger = journey.trigger
    if isinstance(trigger, TagAddedTrigger):
        return f"tag_added {trigger.tag_added}"
    if isinstance(trigger, EventTrigger):
        return f"event {trigger.event}"
    if isinstance(trigger, SegmentEnteredTrigger):
        return f"segment_entered {trigger.segment_entered}"
    if isinstance(trigger, ScheduleTrigger):
        return f"schedule '{trigger.schedule.cron}' on {trigger.schedule.segment}"
    assert isinstance(trigger, ApiTrigger)
    return "api"


def summary(journey: Journey, version: int = 1) -> str:
    """One line: id, trigger, number of steps, channels used, version."""
    channels: list[str] = []
    for step in journey.steps:
        used = step.send.channels if isinstance(step, SendStep) else []
        if isinstance(step, HandoffStep):
            used = ["phone"]
        channels.extend(c for c in used if c not in channels)
    return (
        f"{journey.id}: trigger {describe_trigger(journey)}, {len(journey.steps)} steps, "
        f"channels {', '.join(channels) or 'none'}, version {version}"
    )


def main(args: argparse.Namespace) -> int:
    """Validate the workspace; 0 when valid, 2 when not."""
    try:
        ws = load_workspace(args.workspace)
    except ValidationFailed as exc:
        for problem in exc.problems:
            print(format_problem(problem))
        count = len(exc.problems)
        print(f"{count} problem{'s' if count != 1 else ''} found in {args.workspace}")
        return 2
    for journey in ws.journeys.values():
        print(summary(journey))
    tagging = ws.documents.get("tagging") or {}
    if tagging.get("rules"):
        tags = ", ".join(dict.fromkeys(r["tag"] for r in tagging["rules"]))
        print(f"tagging.yaml: {len(tagging['rules'])} keyword rules, tags {tags}")
    print(
        f"{len(ws.journeys)} journeys, {len(ws.messages)} messages, {len(ws.segments)} segments: OK"
    )
    return 0
