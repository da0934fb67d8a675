"""Which deployed journeys an event or a tag change starts, without scanning them all.

Journeys are indexed by trigger event name and by tag; an event costs one dict
lookup plus a ``where`` check per journey listening to that very name.
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


class TriggerIndex:
    """An immutable index of deployed, unpaused journeys by what starts them."""

    def __init__(self, bundles: Iterable[JourneyBundle], paused: Iterable[str] = ()) -> None:
        skip = set(paused)
        self.by_event: dict[str, list[tuple[JourneyBundle, dict[str, Any] | None]]] = defaultdict(
            list
        )
        self.by_tag: dict[str, list[JourneyBundle]] = defaultdict(list)
        self.by_segment: dict[str, list[JourneyBundle]] = defaultdict(list)
        self.bundles: dict[str, JourneyBundle] = {}
        for bundle in bundles:
            journey = bundle.journey
            self.bundles[journey.id] = bundle
            if journey.id in skip:
                continue
            trigger = journey.trigger
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
        """Journeys whose event trigger matches this event."""
        return [
            bundle
            for bundle, where in self.by_event.get(name, ())
            if match_where(where, properties, now=now)
        ]

    def for_tag(self, tag: str) -> list[JourneyBundle]:
        """Journeys started when this tag is added."""
        return list(self.by_tag.get(tag, ()))

    def for_segment(self, segment_id: str) -> list[JourneyBundle]:
        """Journeys started when a customer enters this segment."""
        return list(self.by_segment.get(segment_id, ()))
