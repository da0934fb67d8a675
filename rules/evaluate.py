"""Evaluate a rule for one customer, in memory.

Value comparisons are defined once in :mod:`rules.match`. The rest:

``tag``
    The tag is in ``view.tags``.
``event``
    Count the events with that name whose properties match ``where`` and whose time is
    ``now - within <= at <= now`` (without ``within``: ``at <= now``; events after ``now``
    never count), then compare the number with ``count`` (default ``gte: 1``).
``source``
    Every written field matches the first-touch field of that name.
``segment``
    With ``segments`` given and holding the id: that segment's rule, recursively (a circle
    of references raises :class:`~rules.errors.SegmentCycleError` before anything is
    evaluated, whatever the data). Otherwise: the id is in ``view.segments``.
``consent``
    Recorded and not withdrawn. For a channel C of purpose P the records of P for C and
    the channel-less records of P count; the latest grant must be strictly later than the
    latest withdrawal (a withdrawal at the same time wins). Without a channel the rule
    holds when the channel-less records of P are granted or any channel of P is.
``context``
    The enrollment context (an empty one when not given).
``all`` / ``any`` / ``not``
    As in logic; evaluation is two-valued, so ``not`` is the exact complement.

Pure: no I/O, no clock (``now`` is passed in and must be timezone-aware).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from rules.deps import find_segment_cycle, segment_references
from rules.errors import RulesError, SegmentCycleError
from rules.match import lookup, match_value, match_where
from rules.models import (
    AllRule,
    AnyRule,
    AttributeRule,
    ConsentRule,
    ContextRule,
    EventRule,
    NotRule,
    Rule,
    SegmentRule,
    SourceRule,
    TagRule,
)
from rules.view import ConsentRecord, CustomerView

__all__ = ["consent_granted", "count_events", "evaluate"]


def evaluate(
    rule: Rule,
    view: CustomerView,
    *,
    now: datetime,
    segments: Mapping[str, Rule] | None = None,
    context: Mapping[str, Any] | None = None,
) -> bool:
    """Whether ``rule`` holds for the customer in ``view`` at ``now``."""
    if now.tzinfo is None:
        raise RulesError(f"now must be timezone-aware, got {now.isoformat()}")
    if segments:
        # Checked up front so a circle is an error whatever the data (all/any short-circuit).
        start = [sid for sid in segment_references(rule) if sid in segments]
        cycle = find_segment_cycle(segments, start=start)
        if cycle:
            raise SegmentCycleError(cycle)
    return _Evaluator(view, now, segments or {}, context or {}).holds(rule, ())


def count_events(view: CustomerView, rule: EventRule, now: datetime) -> int:
    """How many of the customer's events meet the name, ``where`` and ``within`` of ``rule``."""
    since = now - rule.within if rule.within is not None else None
    return sum(
        1
        for event in view.events
        if event.name == rule.event
        and event.at <= now
        and (since is None or since <= event.at)
        and match_where(rule.where, event.properties, now=now)
    )


def _latest_says_granted(records: Iterable[ConsentRecord]) -> bool:
    last_grant: datetime | None = None
    last_withdrawal: datetime | None = None
    for rec in records:
        if rec.granted:
            last_grant = rec.at if last_grant is None else max(last_grant, rec.at)
        else:
            last_withdrawal = rec.at if last_withdrawal is None else max(last_withdrawal, rec.at)
    if last_grant is None:
        return False
    return last_withdrawal is None or last_withdrawal < last_grant


def consent_granted(
    consents: Iterable[ConsentRecord], purpose: str, channel: str | None = None
) -> bool:
    """Whether consent for ``purpose`` (on ``channel``, or on any) is recorded and not withdrawn."""
    records = [rec for rec in consents if rec.purpose == purpose]
    if channel is not None:
        return _latest_says_granted(rec for rec in records if rec.channel in (channel, None))
    if _latest_says_granted(rec for rec in records if rec.channel is None):
        return True
    channels = sorted({rec.channel for rec in records if rec.channel is not None})
    return any(consent_granted(records, purpose, ch) for ch in channels)


_COUNT_CHECKS = {
    "eq": lambda n, k: n == k,
    "gte": lambda n, k: n >= k,
    "gt": lambda n, k: n > k,
    "lte": lambda n, k: n <= k,
    "lt": lambda n, k: n < k,
}


class _Evaluator:
    def __init__(
        self,
        view: CustomerView,
        now: datetime,
        segments: Mapping[str, Rule],
        context: Mapping[str, Any],
    ) -> None:
        self.view = view
        self.now = now
        self.segments = segments
        self.context = context
        self.memo: dict[str, bool] = {}  # a segment's answer does not depend on who asks

    def holds(self, rule: Rule, path: tuple[str, ...]) -> bool:
        if isinstance(rule, AttributeRule):
            return match_value(rule, lookup(self.view.attributes, rule.attribute), self.now)
        if isinstance(rule, ContextRule):
            return match_value(rule, lookup(self.context, rule.context), self.now)
        if isinstance(rule, TagRule):
            return rule.tag in self.view.tags
        if isinstance(rule, EventRule):
            op, k = rule.effective_count().operator()
            return bool(_COUNT_CHECKS[op](count_events(self.view, rule, self.now), k))
        if isinstance(rule, SourceRule):
            return all(
                match_value(spec, lookup(self.view.source, name), self.now)
                for name, spec in rule.source.conditions().items()
            )
        if isinstance(rule, SegmentRule):
            return self._segment(rule.segment, path)
        if isinstance(rule, ConsentRule):
            spec = rule.consent
            return consent_granted(self.view.consents, spec.purpose, spec.channel)
        if isinstance(rule, AllRule):
            return all(self.holds(item, path) for item in rule.all)
        if isinstance(rule, AnyRule):
            return any(self.holds(item, path) for item in rule.any)
        if isinstance(rule, NotRule):
            return not self.holds(rule.not_, path)
        raise RulesError(f"not a rule: {rule!r}")

    def _segment(self, sid: str, path: tuple[str, ...]) -> bool:
        if sid not in self.segments:
            return sid in self.view.segments
        if sid in path:  # caught up front by find_segment_cycle; kept as a guard
            raise SegmentCycleError([*path[path.index(sid) :], sid])
        if sid not in self.memo:
            self.memo[sid] = self.holds(self.segments[sid], (*path, sid))
        return self.memo[sid]
