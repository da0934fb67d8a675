"""Which deployed journeys an event or a tag change starts, without scanning them all.

Journeys are indexed by trigger event name and by tag; an event costs one dict
lookup plus a ``where`` check per journey listening to that very name. Paused
journeys are indexed apart: they start nobody, but a trigger that matches one is
recorded as skipped (``paused``), so a pause is visible rather than silent.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from engine.models.journey import EventTrigger, SegmentEnteredTrigger, TagAddedTrigger
from engine.models.workspace import JourneyBundle
from rules.conditions import dump_where
from rules.match import match_where


class _ByTrigger:
    """Bundles by what starts them: event name (with its ``where``), tag, segment."""

    def __init__(self) -> None:
        self.by_event: dict[str, list[tuple[JourneyBundle, dict[str, Any] | None]]] = defaultdict(
            list
        )
        self.by_tag: dict[str, list[JourneyBundle]] = defaultdict(list)
        self.by_segment: dict[str, list[JourneyBundle]] = defaultdict(list)

    def add(self, bundle: JourneyBundle) -> None:
        trigger = bundle.journey.trigger
        if isinstance(trigger, EventTrigger):
            where = dump_where(trigger.where) if trigger.where else None
            self.by_event[trigger.event].append((bundle, where))
        elif isinstance(trigger, TagAddedTrigger):
            self.by_tag[trigger.tag_added].append(bundle)
        elif isinstance(trigger, SegmentEnteredTrigger):
            self.by_segment[trigger.segment_entered].append(bundle)

    def for_event(
        self, name: str, properties: dict[str, Any], now: datetime
    ) -> list[JourneyBundle]:
        return [
            bundle
            for bundle, where in self.by_event.get(name, ())
            if match_where(where, properties, now=now)
        ]


class TriggerIndex:
    """An immutable index of deployed journeys by what starts them; paused ones apart."""

    def __init__(self, bundles: Iterable[JourneyBundle], paused: Iterable[str] = ()) -> None:
        skip = set(paused)
        self._live = _ByTrigger()
        self._paused = _ByTrigger()
        self.by_event = self._live.by_event
        self.by_tag = self._live.by_tag
        self.by_segment = self._live.by_segment
        self.bundles: dict[str, JourneyBundle] = {}
        for bundle in bundles:
            self.bundles[bundle.journey.id] = bundle
            (self._paused if bundle.journey.id in skip else self._live).add(bundle)

    def for_event(
        self, name: str, properties: dict[str, Any], now: datetime
    ) -> list[JourneyBundle]:
        """Journeys whose event trigger matches this event."""
        return self._live.for_event(name, properties, now)

    def for_tag(self, tag: str) -> list[JourneyBundle]:
        """Journeys started when this tag is added."""
        return list(self.by_tag.get(tag, ()))

    def for_segment(self, segment_id: str) -> list[JourneyBundle]:
        """Journeys started when a customer enters this segment."""
        return list(self.by_segment.get(segment_id, ()))

    def paused_for_event(self, name: str, properties: dict[str, Any], now: datetime) -> list[str]:
        """Paused journeys whose event trigger matches this event (their ids)."""
        return [b.journey.id for b in self._paused.for_event(name, properties, now)]

    def paused_for_tag(self, tag: str) -> list[str]:
        """Paused journeys this added tag would start (their ids)."""
        return [b.journey.id for b in self._paused.by_tag.get(tag, ())]

    def paused_for_segment(self, segment_id: str) -> list[str]:
        """Paused journeys entering this segment would start (their ids)."""
        return [b.journey.id for b in self._paused.by_segment.get(segment_id, ())]
