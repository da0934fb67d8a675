"""Checks across files, after every file has been read into its model.

The contract's "Validation refuses" list, each with a short rule code:

    E-goto-missing        next / goto / else / on_* / outcomes name no step
    E-unreachable         no path from the first step leads to a step
    E-loop-no-wait        a cycle of steps with no wait, wait_for or handoff in it
    E-message-missing     a send or handoff names no message
    E-segment-missing     a rule, trigger, goal or exit names no segment
    E-segment-cycle       segments that refer to each other in a circle
    E-channel-no-content  a send channel (or a handoff's phone script) the message lacks
    E-template-syntax     Jinja2 that does not parse (message content, key, clinic, update)
    E-where-template      templates other than {{ context.x }} in event matchers and rules
    E-cron / E-timezone   schedule cron, segment refresh, schedule timezone
    C-...                 compliance (engine.compliance.content)
"""

from __future__ import annotations

import difflib
import zoneinfo
from collections.abc import Collection, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

from croniter import croniter

from engine.compliance import guardians, health_data
from engine.compliance.content import check_message, load_rules
from engine.compliance.holidays import load_holidays
from engine.errors import Problem
from engine.expressions.context_refs import unsupported_templates
from engine.expressions.templating import check_syntax
from engine.models.journey import EventTrigger, Journey, ScheduleTrigger
from engine.models.message import Message
from engine.models.reading import Locate
from engine.models.references import (
    RefPath,
    cycles,
    message_refs,
    rule_segment_refs,
    segment_refs,
    step_edges,
)
from engine.models.steps import (
    BranchCase,
    BranchStep,
    HandoffStep,
    SendStep,
    UpdateStep,
    WaitForStep,
    WaitStep,
)
from engine.models.workspace import Workspace
from rules.deps import find_segment_cycle
from rules.models import dump_rule

__all__ = ["Locate", "validate_workspace"]

_WAITING = (WaitStep, WaitForStep, HandoffStep)


class _Report:
    """Collects problems for one file, turning paths into lines."""

    def __init__(self, file: str, locate: Locate, problems: list[Problem]) -> None:
        self.file, self.locate, self.problems = file, locate, problems

    def add(self, path: RefPath, message: str, fix: str, rule: str) -> None:
        self.problems.append(Problem(self.file, self.locate(self.file, path), message, fix, rule))


def _closest(word: str, choices: list[str], what: str) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.5)
    if close:
        return f"did you mean {close[0]!r}?"
    return f"the {what} are: {', '.join(sorted(choices))}" if choices else f"there are no {what}"


def _check_graph(journey: Journey, report: _Report) -> None:
    ids = journey.step_ids()
    index = {sid: i for i, sid in enumerate(ids)}
    graph: dict[int, list[int]] = {i: [] for i in range(len(ids))}
    broken = False
    for path, target, source in step_edges(journey):
        if target not in index:
            broken = True
            report.add(
                path,
                f"step {ids[source]!r} goes to {target!r}, which is not a step of this journey",
                _closest(target, ids, "steps"),
                "E-goto-missing",
            )
            continue
        graph[source].append(index[target])
    seen = {0}
    todo = [0]
    while todo:
        for nxt in graph[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    for i, sid in enumerate(ids):
        # With a target missing, what is reachable depends on the fix: say nothing yet.
        if i not in seen and not broken:
            report.add(
                ("steps", i),
                f"step {sid!r} can never be reached from the first step {ids[0]!r}",
                "point a next, goto, else or on_* of another step at it, or remove it",
                "E-unreachable",
            )
    instant = {i for i, step in enumerate(journey.steps) if not isinstance(step, _WAITING)}
    for cycle in cycles({i: [j for j in graph[i] if j in instant] for i in instant}):
        names = " -> ".join(ids[i] for i in [*cycle, cycle[0]])
        report.add(
            ("steps", cycle[0]),
            f"the steps {names} form a loop with no wait, wait_for or handoff in it: "
            "it would repeat forever without time passing",
            "add a wait step to the loop or give it a way out",
            "E-loop-no-wait",
        )


def _check_journey(
    ws: Workspace, journey: Journey, report: _Report, invalid: Collection[str]
) -> None:
    _check_graph(journey, report)
    for path, mid in message_refs(journey):
        if mid not in ws.messages and f"messages/{mid}" not in invalid:
            report.add(
                path,
                f"message {mid!r} does not exist",
                _closest(mid, list(ws.messages), "messages") + f" (or add messages/{mid}.yaml)",
                "E-message-missing",
            )
    for path, sid in segment_refs(journey):
        if sid not in ws.segments and f"segments/{sid}" not in invalid:
            report.add(
                path,
                f"segment {sid!r} does not exist",
                _closest(sid, list(ws.segments), "segments") + f" (or add segments/{sid}.yaml)",
                "E-segment-missing",
            )
    for i, step in enumerate(journey.steps):
        _check_step(ws, i, step, report)
    if journey.key is not None:
        _syntax(journey.key, ("key",), "key", report)
    _check_matchers(journey, report)
    trigger = journey.trigger
    if isinstance(trigger, ScheduleTrigger):
        _cron(trigger.schedule.cron, ("trigger", "schedule", "cron"), report)
        zone = trigger.schedule.timezone
        if zone is not None and zone != "customer" and zone not in _zones():
            report.add(
                ("trigger", "schedule", "timezone"),
                f"{zone!r} is not a known IANA timezone",
                _closest(zone, sorted(_zones()), "zones")
                + " (write e.g. Asia/Shanghai, or customer for each customer's own zone)",
                "E-timezone",
            )


def _check_step(ws: Workspace, i: int, step: Any, report: _Report) -> None:
    here: RefPath = ("steps", i)
    if isinstance(step, SendStep):
        message = ws.messages.get(step.send.message)
        if message is None:
            return
        have = message.channels()
        for j, channel in enumerate(step.send.channels):
            path = (*here, "send", "channels", j)
            if channel not in have:
                report.add(
                    path,
                    f"message {message.id} has no content for {channel}",
                    f"add a {channel} block to the message or drop the channel",
                    "E-channel-no-content",
                )
            elif channel == "wechat_template" and message.purpose == "marketing":
                report.add(
                    path,
                    f"message {message.id} is marketing and cannot go out as a wechat_template "
                    "(template messages are for service notices only)",
                    "use wechat_subscribe, wecom or sms for marketing",
                    "C-marketing-template",
                )
    elif isinstance(step, HandoffStep):
        mid = step.handoff.message
        message = ws.messages.get(mid) if mid is not None else None
        if message is not None and message.phone is None:
            report.add(
                (*here, "handoff", "message"),
                f"message {message.id} has no phone script for the handoff in step {step.id!r}",
                "add a phone: {script: ...} block to the message",
                "E-channel-no-content",
            )
        if step.handoff.clinic is not None:
            _syntax(step.handoff.clinic, (*here, "handoff", "clinic"), "clinic", report)
    elif isinstance(step, UpdateStep):
        for attr, value in step.update.set.items():
            for text in _strings(value):
                _syntax(text, (*here, "update", "set", attr), f"update of {attr}", report)


def _check_matchers(journey: Journey, report: _Report) -> None:
    """Event matchers and rules run in the workflow: only {{ context.x }} may be used."""
    wheres: list[tuple[RefPath, dict[str, Any] | None]] = []
    trigger = journey.trigger
    if isinstance(trigger, EventTrigger) and trigger.where:
        for key, value in trigger.where.items():
            for bad in _templates(_dump(value)):
                report.add(
                    ("trigger", "where", key),
                    f"trigger where value {bad!r} uses a template, but a trigger has no "
                    "enrollment context yet",
                    "write the literal value the event must have",
                    "E-where-template",
                )
    goal = journey.goal
    if goal is not None and hasattr(goal, "where"):
        wheres.append((("goal",), goal.where))
    for i, cond in enumerate(journey.exit_when):
        wheres.append((("exit_when", i), getattr(cond, "where", None)))
    for i, source in enumerate(journey.context_from):
        wheres.append((("context_from", i), source.where))
    for i, step in enumerate(journey.steps):
        if isinstance(step, WaitForStep):
            wheres.append((("steps", i, "wait_for"), step.wait_for.where))
    for base, where in wheres:
        for key, value in (where or {}).items():
            for bad in unsupported_templates(_dump(value)):
                _bad_ref(bad, (*base, "where", key), report)
    rules: list[tuple[RefPath, Any]] = [(("entry",), journey.entry)] if journey.entry else []
    for i, step in enumerate(journey.steps):
        if isinstance(step, BranchStep):
            for j, case in enumerate(step.branch):
                if isinstance(case, BranchCase):
                    rules.append((("steps", i, "branch", j, "when"), case.when))
    for path, rule in rules:
        for bad in unsupported_templates(dump_rule(rule)):
            _bad_ref(bad, path, report)


def _bad_ref(bad: str, path: RefPath, report: _Report) -> None:
    report.add(
        path,
        f"{bad!r} is not a plain context reference",
        "only {{ context.field }} can be used here, as the whole value or inside text",
        "E-where-template",
    )


def _dump(value: Any) -> Any:
    return (
        value.model_dump(mode="json", by_alias=True, exclude_none=True)
        if hasattr(value, "model_dump")
        else value
    )


def _templates(value: Any) -> list[str]:
    return [s for s in _strings(value) if "{{" in s or "{%" in s]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from _strings(v)


def _syntax(text: str, path: RefPath, what: str, report: _Report) -> None:
    error = check_syntax(text)
    if error is not None:
        report.add(
            path,
            f"template syntax error in {what}: {error}",
            "write {{ name }} for values and close every {{, {% and {#",
            "E-template-syntax",
        )


def _cron(expr: str, path: RefPath, report: _Report) -> None:
    if len(expr.split()) != 5 or not croniter.is_valid(expr):
        report.add(
            path,
            f"{expr!r} is not a valid cron expression",
            "write five fields: minute hour day-of-month month weekday, e.g. '0 10 * * 1'",
            "E-cron",
        )


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _check_message(message: Message, report: _Report) -> None:
    for channel in message.channels():
        content = getattr(message, channel)
        for field, value in content.model_dump(exclude_none=True).items():
            pairs: list[tuple[RefPath, Any]] = [((channel, field), value)]
            if isinstance(value, dict):
                pairs = [((channel, field, k), v) for k, v in value.items()]
            elif isinstance(value, list):
                pairs = [((channel, field, k), v) for k, v in enumerate(value)]
            for path, text in pairs:
                if isinstance(text, str):
                    _syntax(text, path, f"{channel} {field}", report)


def validate_workspace(
    ws: Workspace, locate: Locate, *, invalid: Collection[str] = ()
) -> list[Problem]:
    """Every cross-file and compliance problem of a loaded workspace.

    ``invalid`` names files that exist but failed to load (``"messages/<id>"``): references
    to them are not reported again as missing.
    """
    problems: list[Problem] = []

    def report_for(folder: str, item_id: str) -> _Report:
        file = ws.files.get(f"{folder}/{item_id}", str(Path(ws.root, folder, f"{item_id}.yaml")))
        return _Report(file, locate, problems)

    rules, rule_problems = load_rules(ws.root)
    problems.extend(rule_problems)
    holiday_doc, holiday_problems = load_holidays(ws.root)
    problems.extend(holiday_problems)
    # Validated here, deployed by the Dispatcher and read by the API, worker and simulator.
    ws.documents["compliance"] = rules.policy or {}
    ws.documents["holidays"] = holiday_doc
    seg_rules = {sid: seg.rule for sid, seg in ws.segments.items()}
    for jid, journey in ws.journeys.items():
        report = report_for("journeys", jid)
        _check_journey(ws, journey, report, invalid)
        medical = health_data.check(journey, seg_rules, rules.health_attributes)
        if medical is not None:
            where, attributes = medical
            report.add(
                where,
                f"the journey reads medical data ({attributes}) without health_data consent",
                "require it in entry: entry: {all: [{consent: {purpose: health_data}}, ...]} "
                "(PIPL: sensitive personal information needs separate consent)",
                "C-health-data-consent",
            )
        school = guardians.check_journey(
            journey, seg_rules, rules.school_attributes, rules.school_events
        )
        if school is not None:
            where, read = school
            report.add(
                where,
                f"the journey uses school-screening data ({read}) without guardian_consent",
                "name the guardian's consent it relies on: guardian_consent: marketing "
                "(student screening data needs the guardian's own consent)",
                "C-guardian-consent",
            )
    for mid, message in ws.messages.items():
        report = report_for("messages", mid)
        _check_message(message, report)
        problems.extend(check_message(message, rules, report.file, locate))
    for sid, segment in ws.segments.items():
        report = report_for("segments", sid)
        for path, ref in rule_segment_refs(segment.rule, ("rule",)):
            if ref not in ws.segments and f"segments/{ref}" not in invalid:
                report.add(
                    path,
                    f"segment {ref!r} does not exist",
                    _closest(ref, list(ws.segments), "segments"),
                    "E-segment-missing",
                )
        if segment.refresh is not None:
            _cron(segment.refresh, ("refresh",), report)
    reported: set[frozenset[str]] = set()
    for sid in sorted(seg_rules):
        cycle = find_segment_cycle(seg_rules, start=[sid])
        if cycle is None or frozenset(cycle) in reported:
            continue
        reported.add(frozenset(cycle))
        first, second = cycle[0], cycle[1]
        path = next(p for p, ref in rule_segment_refs(seg_rules[first], ("rule",)) if ref == second)
        report_for("segments", first).add(
            path,
            f"segments refer to each other in a circle: {' -> '.join(cycle)}",
            "a segment cannot contain itself: remove one of these references",
            "E-segment-cycle",
        )
    return problems
