"""What a rule depends on: events, tags, attributes, segments, context, consent, time.

Validators use it (segments that do not exist, context keys outside a journey); the
real-time segment index uses it to know which changes can alter a membership.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from rules.conditions import Condition
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

__all__ = ["RuleDeps", "dependencies", "find_segment_cycle", "segment_references"]


@dataclass(frozen=True)
class RuleDeps:
    """The inputs a rule reads. ``time_windows``: the answer can change as time passes."""

    events: frozenset[str] = field(default_factory=frozenset)
    tags: frozenset[str] = field(default_factory=frozenset)
    attributes: frozenset[str] = field(default_factory=frozenset)
    segments: frozenset[str] = field(default_factory=frozenset)
    context_keys: frozenset[str] = field(default_factory=frozenset)
    uses_consent: bool = False
    uses_source: bool = False
    time_windows: bool = False

    def __or__(self, other: RuleDeps) -> RuleDeps:
        return RuleDeps(
            events=self.events | other.events,
            tags=self.tags | other.tags,
            attributes=self.attributes | other.attributes,
            segments=self.segments | other.segments,
            context_keys=self.context_keys | other.context_keys,
            uses_consent=self.uses_consent or other.uses_consent,
            uses_source=self.uses_source or other.uses_source,
            time_windows=self.time_windows or other.time_windows,
        )


def _timed(values: Iterable[object]) -> bool:
    return any(
        isinstance(v, Condition) and v.operator()[0] in ("within", "older_than") for v in values
    )


def _direct(rule: Rule) -> RuleDeps:
    """Dependencies of one rule, not following segment references."""
    if isinstance(rule, AttributeRule):
        op = rule.operator()[0]
        return RuleDeps(
            attributes=frozenset([rule.attribute]), time_windows=op in ("within", "older_than")
        )
    if isinstance(rule, ContextRule):
        op = rule.operator()[0]
        return RuleDeps(
            context_keys=frozenset([rule.context]), time_windows=op in ("within", "older_than")
        )
    if isinstance(rule, TagRule):
        return RuleDeps(tags=frozenset([rule.tag]))
    if isinstance(rule, EventRule):
        timed = rule.within is not None or _timed((rule.where or {}).values())
        return RuleDeps(events=frozenset([rule.event]), time_windows=timed)
    if isinstance(rule, SourceRule):
        return RuleDeps(uses_source=True, time_windows=_timed(rule.source.conditions().values()))
    if isinstance(rule, SegmentRule):
        return RuleDeps(segments=frozenset([rule.segment]))
    if isinstance(rule, ConsentRule):
        return RuleDeps(uses_consent=True)
    if isinstance(rule, AllRule | AnyRule):
        out = RuleDeps()
        for item in rule.all if isinstance(rule, AllRule) else rule.any:
            out = out | _direct(item)
        return out
    if isinstance(rule, NotRule):
        return _direct(rule.not_)
    raise TypeError(f"not a rule: {rule!r}")  # pragma: no cover


def dependencies(rule: Rule, segments: Mapping[str, Rule] | None = None) -> RuleDeps:
    """What ``rule`` reads; with ``segments``, also what the segments it uses read.

    ``segments`` in the result names every segment referred to (transitively when the
    definitions are given), including ones missing from ``segments``.
    """
    deps = _direct(rule)
    if segments is None:
        return deps
    seen: set[str] = set()
    todo = sorted(deps.segments)
    while todo:
        sid = todo.pop()
        if sid in seen:
            continue
        seen.add(sid)
        if sid in segments:
            more = _direct(segments[sid])
            deps = deps | more
            todo.extend(sorted(more.segments - seen))
    return deps


def segment_references(rule: Rule) -> frozenset[str]:
    """The segment ids a rule names directly."""
    return _direct(rule).segments


def find_segment_cycle(
    segments: Mapping[str, Rule], start: Iterable[str] | None = None
) -> list[str] | None:
    """A circle of segment references reachable from ``start`` (default: all), or None.

    The circle is returned closed, e.g. ``["a", "b", "a"]``; the search order is sorted,
    so the answer is the same on every run.
    """
    edges = {sid: sorted(segment_references(rule)) for sid, rule in segments.items()}
    done: set[str] = set()
    roots = sorted(segments) if start is None else sorted(start)
    for root in roots:
        if root in done or root not in edges:
            continue
        path: list[str] = [root]
        on_path = {root}
        stack = [iter(edges[root])]
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                stack.pop()
                finished = path.pop()
                on_path.discard(finished)
                done.add(finished)
                continue
            if nxt in on_path:
                return path[path.index(nxt) :] + [nxt]
            if nxt in done or nxt not in edges:
                continue
            path.append(nxt)
            on_path.add(nxt)
            stack.append(iter(edges[nxt]))
    return None
