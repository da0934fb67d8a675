"""What a closed workflow's history shows: its size, its workflow tasks, the kinds of
its events; ``bench.enroll`` prints them beside each measurement's rate."""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from bench.stack import Stack

__all__ = ["SHAPE_SAMPLE", "history_counts", "shapes"]


async def history_counts(stack: Stack, workflow_id: str) -> tuple[int, int, int, str]:
    """(history events, workflow tasks completed, history bytes, event kinds) of one
    closed workflow."""
    history = await stack.client.get_workflow_handle(workflow_id).fetch_history()
    names = [EventType.Name(e.event_type).removeprefix("EVENT_TYPE_") for e in history.events]
    tasks = names.count("WORKFLOW_TASK_COMPLETED")
    size = sum(e.ByteSize() for e in history.events)
    return len(names), tasks, size, _runs(names)


SHAPE_SAMPLE = 40  # closed workflows per measurement whose histories are read


async def shapes(stack: Stack, ids: list[str]) -> str:
    """``5 tasks + timer x31, 4 tasks x9``: how many workflow tasks (and whether a
    timer) the histories of up to SHAPE_SAMPLE workflows, spread over the measurement,
    had. An event that arrives before the workflow starts waiting for it saves the
    wait's timer and a workflow task, so the shape is a race, decided per enrollment."""
    step = max(1, len(ids) // SHAPE_SAMPLE)
    found: dict[str, int] = {}
    for wid in ids[::step][:SHAPE_SAMPLE]:
        history = await stack.client.get_workflow_handle(wid).fetch_history()
        kinds = [e.event_type for e in history.events]
        tasks = kinds.count(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED)
        timer = EventType.EVENT_TYPE_TIMER_STARTED in kinds
        shape = f"{tasks} tasks" + (" + timer" if timer else "")
        found[shape] = found.get(shape, 0) + 1
    return ", ".join(f"{k} x{n}" for k, n in sorted(found.items(), key=lambda kv: -kv[1]))


def _runs(names: list[str]) -> str:
    """Event counts by kind, e.g. ``workflow task 9, activity 6, signal 2``."""
    kinds = {
        "WORKFLOW_TASK_": "workflow task",
        "ACTIVITY_TASK_": "activity",
        "TIMER_": "timer",
        "WORKFLOW_EXECUTION_SIGNALED": "signal",
        "MARKER_RECORDED": "marker",
    }
    counts: dict[str, int] = {}
    for name in names:
        kind = next((k for p, k in kinds.items() if name.startswith(p)), name.lower())
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{kind} {n}" for kind, n in counts.items())
