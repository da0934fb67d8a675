"""Which deployed segments can change when one customer's data changes.

Segments are indexed by the inputs their rules read directly: event names, tags,
top-level attribute keys, consent and first-touch source. A segment that refers to
other segments is re-evaluated after them whenever one of them is (``affected``
follows references to a fixed point and answers in dependency order), so its answer
reads their fresh membership. Built once per deployment, like the trigger index: an
event whose name no segment reads costs one dict lookup.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from engine.models.journey import Segment
from rules.deps import RuleDeps, dependencies

__all__ = ["EVERYTHING", "Needs", "SegmentIndex", "Touch"]


@dataclass(frozen=True)
class Touch:
    """What one change touched for one customer."""

    events: Iterable[str] = ()
    tags: Iterable[str] = ()
    attributes: Iterable[str] = ()  # keys or dotted paths
    consent: bool = False
    source: bool = False
    everything: bool = False  # a merge or an import: every segment may have changed


#: A merge or an import: any segment may have changed.
EVERYTHING = Touch(everything=True)


@dataclass(frozen=True)
class Needs:
    """The parts of a customer's profile that evaluating some segments reads."""

    events: frozenset[str] = frozenset()
    tags: bool = False
    attributes: bool = False
    consents: bool = False
    source: bool = False


def top_key(path: str) -> str:
    """The top-level attribute a dotted path lives under (``medical.axial`` → ``medical``)."""
    return path.split(".", 1)[0]


class SegmentIndex:
    """An immutable index of deployed segments by what they read."""

    def __init__(self, segments: Mapping[str, Segment]) -> None:
        self.segments = dict(segments)
        rules = {sid: seg.rule for sid, seg in self.segments.items()}
        self.direct: dict[str, RuleDeps] = {sid: dependencies(r) for sid, r in rules.items()}
        self.by_event: dict[str, set[str]] = defaultdict(set)
        self.by_tag: dict[str, set[str]] = defaultdict(set)
        self.by_attribute: dict[str, set[str]] = defaultdict(set)
        self.consent: set[str] = set()
        self.source: set[str] = set()
        self.dependents: dict[str, set[str]] = defaultdict(set)
        for sid, deps in self.direct.items():
            for name in deps.events:
                self.by_event[name].add(sid)
            for tag in deps.tags:
                self.by_tag[tag].add(sid)
            for path in deps.attributes:
                self.by_attribute[top_key(path)].add(sid)
            if deps.uses_consent:
                self.consent.add(sid)
            if deps.uses_source:
                self.source.add(sid)
            for ref in deps.segments:
                self.dependents[ref].add(sid)
        self.order = _dependency_order(self.direct)
        #: Segments whose answer changes as time passes (also through the segments they use).
        self.timed = frozenset(
            sid for sid, r in rules.items() if dependencies(r, rules).time_windows
        )

    def __bool__(self) -> bool:
        return bool(self.segments)

    def reads_event(self, name: str) -> bool:
        return name in self.by_event

    def affected(self, touch: Touch) -> list[str]:
        """The segments ``touch`` can change, referring segments after those they use."""
        if not self.segments:
            return []
        if touch.everything:
            return sorted(self.segments, key=self.order.__getitem__)
        hit: set[str] = set()
        for name in touch.events:
            hit |= self.by_event.get(name, set())
        for tag in touch.tags:
            hit |= self.by_tag.get(tag, set())
        for path in touch.attributes:
            hit |= self.by_attribute.get(top_key(path), set())
        if touch.consent:
            hit |= self.consent
        if touch.source:
            hit |= self.source
        return self.closure(hit)

    def closure(self, sids: Iterable[str]) -> list[str]:
        """``sids`` and every segment referring to them (transitively), in dependency order."""
        todo = [s for s in sids if s in self.segments]
        seen = set(todo)
        while todo:
            for dep in self.dependents.get(todo.pop(), ()):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return sorted(seen, key=self.order.__getitem__)

    def needs(self, sids: Iterable[str]) -> Needs:
        """What evaluating these segments reads (their own rules; referenced segments
        are read from the membership table)."""
        events: set[str] = set()
        tags = attributes = consents = source = False
        for sid in sids:
            deps = self.direct[sid]
            events |= deps.events
            tags = tags or bool(deps.tags)
            attributes = attributes or bool(deps.attributes)
            consents = consents or deps.uses_consent
            source = source or deps.uses_source
        return Needs(frozenset(events), tags, attributes, consents, source)


def _dependency_order(direct: Mapping[str, RuleDeps]) -> dict[str, int]:
    """Position of each segment such that the segments it uses come first (the
    validator refuses circles; a circle left anyway is broken arbitrarily)."""
    order: dict[str, int] = {}
    visiting: set[str] = set()

    def visit(sid: str) -> None:
        if sid in order or sid in visiting:
            return
        visiting.add(sid)
        for ref in sorted(direct[sid].segments):
            if ref in direct:
                visit(ref)
        visiting.discard(sid)
        order[sid] = len(order)

    for sid in sorted(direct):
        visit(sid)
    return order
