"""One customer's life in the demo, as it is drawn: the identities they have, the days
they are around, and the events they leave, each with the identity it arrives with.

``Life`` is the builder the drawing modules share (``acquisition``, ``browsing``,
``commerce``, ``screening``, ``recovery``): they add events; :meth:`Life.seal` drops what
lies after the anchor, orders the rest and gives each its message id.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from random import Random
from typing import Any

from cli.demo.calendar import Calendar
from cli.demo.people import Profile
from cli.demo.records import (
    CallbackTouch,
    DemoConsent,
    DemoEnrollment,
    DemoEvent,
    DemoIdentities,
    DemoTag,
    Via,
)
from cli.demo.world import World

__all__ = ["Life"]


@dataclass(slots=True)
class Life:
    world: World
    rng: Random
    profile: Profile
    ids: DemoIdentities
    first_at: datetime  # the first touch (or, without one, the first event)
    last_day: int  # the last day of the customer's engagement
    follows: bool = False
    events: list[DemoEvent] = field(default_factory=list)
    consents: list[DemoConsent] = field(default_factory=list)
    tags: list[DemoTag] = field(default_factory=list)
    enrollments: list[DemoEnrollment] = field(default_factory=list)
    consulted: bool = False
    saw_mall: bool = False
    filled_form: bool = False
    #: Days of the customer's enrolled goal window: no booking of their own there.
    blocked: tuple[datetime, datetime] | None = None
    #: Bookings a journey decided (the goal met, or a booking after the window).
    bookings: list[datetime] = field(default_factory=list)

    @property
    def calendar(self) -> Calendar:
        return self.world.calendar

    @property
    def first_day(self) -> int:
        return self.calendar.day_of(self.first_at)

    def add(
        self,
        at: datetime,
        name: str,
        properties: dict[str, Any],
        via: Via | None = None,
        touch: CallbackTouch | None = None,
    ) -> DemoEvent:
        event = DemoEvent(at, name, properties, via or self.app_via(), touch)
        self.events.append(event)
        return event

    def app_via(self) -> Via:
        """How a page or content view arrives: the mini-program knows the openid, the
        member area the member id, the rest the phone."""
        if self.ids.openid is not None and self.rng.random() < 0.5:
            return "openid"
        return "user" if self.ids.user_id is not None else "phone"

    def member_via(self) -> Via:
        """How bookings and orders arrive: by member id when there is one."""
        return "user" if self.ids.user_id is not None else "phone"

    def later(self, at: datetime, low: timedelta, high: timedelta) -> datetime:
        """A time between ``at + low`` and ``at + high``, to the second."""
        span = int((high - low).total_seconds())
        return at + low + timedelta(seconds=self.rng.randrange(max(span, 1)))

    def day_between(self, lo: int, hi: int) -> int:
        return self.calendar.pick_day(self.rng, lo, hi + 1)

    def consent(
        self, purpose: str, channel: str | None, at: datetime, *, granted: bool = True
    ) -> None:
        self.consents.append(DemoConsent(purpose, channel, at, granted))

    def free(self, at: datetime) -> bool:
        """Whether the customer may book of their own accord at ``at`` (not inside a
        journey's goal window, whose bookings the journey decides)."""
        return self.blocked is None or not (self.blocked[0] <= at < self.blocked[1])

    def seal(self, customer_id: str) -> list[DemoEvent]:
        """The events before the anchor, in time order, each with its message id."""
        anchor = self.calendar.anchor
        kept = sorted((e for e in self.events if e.at < anchor), key=lambda e: e.at)
        for n, event in enumerate(kept):
            event.message_id = f"demo:{customer_id}:{n:04d}"
        return kept
