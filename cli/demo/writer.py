"""Writing a demo population through the store, the way production writes each thing.

- customers: ``identify`` with their identities and profile (a merge customer's
  earlier identity set first, on its own);
- events: the batch ingest path (``ingest_groups``, a few thousand events per
  transaction), each event its own group received at its own time. Triggers answer
  False: the demo dispatches nothing and starts no enrollment, and since its
  enrollments are written after the events, every event is stored as dispatched;
- touches: ``record_touches`` (each the first touch through ``set_source_once`` when the
  customer has none yet), in time order: callbacks' touches with what their code
  attributes (``resolve_touch``), UTM visits from the stored events (``utm_touches``);
- follows, consents and tags as their callbacks and requests write them; an added tag
  is marked dispatched at once (it started its journey in the demo's history);
- enrollments of deployed journeys the demo knows (``cli.demo.enrolling``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cli.demo.calendar import Calendar
from cli.demo.deploy import Deployed
from cli.demo.enrolling import write_enrollment
from cli.demo.records import DemoCustomer, Via
from cli.demo.recovery import JOURNEY as RECOVERY
from cli.demo.recovery import STEPS as RECOVERY_STEPS
from cli.demo.screening import JOURNEY as SCREENING
from cli.demo.screening import STEPS as SCREENING_STEPS
from engine.models.attribution import CodeKind, NewTouch, QrCodeRecord, resolve_touch, utm_touches
from engine.store.records import ConsentChange, Identities, IngestGroup, NewEvent, StoredEvent
from engine.store.sql import SqlStore

__all__ = ["BATCH", "Tally", "Writer"]

#: Events per ingest transaction.
BATCH = 2000
_SOURCE = "demo"


def _no_trigger(event: NewEvent) -> bool:
    """The demo starts no journey: its enrollments are written as history."""
    return False


class _Codes:
    """The demo's codes by scene, for ``resolve_touch`` (the store has them too; this
    saves a read per touch)."""

    def __init__(self, codes: Iterable[QrCodeRecord]) -> None:
        self._by_scene = {(c.kind, c.scene): c for c in codes}

    def find_qrcode(self, kind: CodeKind, scene: str) -> QrCodeRecord | None:
        return self._by_scene.get((kind, scene))


@dataclass(slots=True)
class Tally:
    """What was written so far."""

    customers: int = 0
    events: int = 0
    touches: int = 0
    consents: int = 0
    tags: int = 0
    enrollments: dict[str, int] = field(default_factory=dict)
    not_played: dict[str, int] = field(default_factory=dict)  # journey not deployed as known


def identities_of(customer: DemoCustomer) -> dict[Via, Identities]:
    """How each of the customer's events names them (``DemoEvent.via``)."""
    ids = customer.identities
    # The phone is read (phonenumbers) once; the other sets copy the validated value.
    phone = Identities(phone=ids.phone)
    out: dict[Via, Identities] = {"phone": phone}
    if ids.openid is not None:
        out["openid"] = Identities(wechat_openid=ids.openid, wechat_app_id=ids.app_id)
    if ids.user_id is not None:
        out["user"] = Identities(user_id=ids.user_id)
    if ids.wecom is not None:
        out["wecom"] = Identities(wecom_external_userid=ids.wecom)
        out["contact"] = Identities(
            wecom_external_userid=ids.wecom, wecom_owner_userid=ids.wecom_staff
        )
    early = customer.early
    if early is not None:
        out["early"] = Identities(wechat_openid=early.openid, wechat_app_id=early.app_id)
        both = {"wechat_openid": early.openid, "wechat_app_id": early.app_id}
        out["merge"] = phone.model_copy(update=both)
    return out


def everything_of(customer: DemoCustomer, phone: Identities) -> Identities:
    """All the customer's identities, with their own id: what creates them."""
    ids = customer.identities
    named = {
        "customer_id": customer.id,
        "wechat_openid": ids.openid,
        "wechat_app_id": ids.app_id if ids.openid else None,
        "user_id": ids.user_id,
        "wecom_external_userid": ids.wecom,
        "wecom_owner_userid": ids.wecom_staff if ids.wecom else None,
    }
    return phone.model_copy(update=named)


class Writer:
    """Writes customers chunk by chunk; ``tally`` says what went in."""

    def __init__(
        self,
        store: SqlStore,
        deployed: Deployed,
        calendar: Calendar,
        codes: Iterable[QrCodeRecord],
    ) -> None:
        self.store = store
        self.calendar = calendar
        self.codes = _Codes(codes)
        self.bundles = {
            RECOVERY: deployed.playable(RECOVERY, RECOVERY_STEPS),
            SCREENING: deployed.playable(SCREENING, SCREENING_STEPS),
        }
        self.tally = Tally()

    def write(self, customers: Sequence[DemoCustomer]) -> None:
        """Write a chunk of customers: identities and profiles, events, touches, then
        follows, consents, tags and enrollments."""
        who = [identities_of(customer) for customer in customers]
        for customer, named in zip(customers, who, strict=True):
            self._identify(customer, named["phone"])
        stored = self._ingest(customers, who)
        visits = {touch.message_id: touch for _, touch in utm_touches(stored)}
        touches = [t for c in customers for t in self._touches(c, visits)]
        self.tally.touches += self.store.record_touches(touches)
        for customer in customers:
            self._profile(customer)
            for enrollment in customer.enrollments:
                bundle = self.bundles.get(enrollment.journey_id)
                counts = self.tally.enrollments if bundle else self.tally.not_played
                counts[enrollment.journey_id] = counts.get(enrollment.journey_id, 0) + 1
                if bundle is not None:
                    anchor = self.calendar.anchor
                    write_enrollment(self.store, bundle, customer, enrollment, anchor)
        self.tally.customers += len(customers)

    def _identify(self, customer: DemoCustomer, phone: Identities) -> None:
        early = customer.early
        if early is not None:
            first = Identities(
                customer_id=early.id, wechat_openid=early.openid, wechat_app_id=early.app_id
            )
            self.store.identify(first, {}, at=early.at)
        everything = everything_of(customer, phone)
        self.store.identify(everything, customer.attributes, at=customer.created_at)

    def _ingest(
        self, customers: Sequence[DemoCustomer], identities: Sequence[dict[Via, Identities]]
    ) -> list[StoredEvent]:
        groups: list[IngestGroup] = []
        for customer, who in zip(customers, identities, strict=True):
            for e in customer.events:
                event = NewEvent(
                    message_id=e.message_id, name=e.name, properties=e.properties, at=e.at
                )
                groups.append(IngestGroup(items=[(who[e.via], event)], at=e.at))
        stored: list[StoredEvent] = []
        for i in range(0, len(groups), BATCH):
            for events in self.store.ingest_groups(groups[i : i + BATCH], triggers=_no_trigger):
                stored.extend(events)
        self.tally.events += sum(1 for s in stored if s.new)
        return stored

    def _touches(
        self, customer: DemoCustomer, visits: dict[str | None, NewTouch]
    ) -> list[tuple[str, NewTouch]]:
        """The customer's touches in time order, so the earliest becomes the first."""
        out: list[tuple[str, NewTouch]] = []
        for e in customer.events:
            touch = visits.get(e.message_id)
            if e.touch is not None:
                raw = e.touch
                touch = resolve_touch(
                    self.codes, raw.kind, raw.code_kind, raw.raw, at=e.at, message_id=e.message_id
                )
            if touch is not None:
                out.append((customer.survivor, touch))
        return out

    def _profile(self, customer: DemoCustomer) -> None:
        """Follows, consents and tags, under the customer's surviving id."""
        store, cid = self.store, customer.survivor
        if customer.follows:
            store.set_follows_wechat(cid, True)
        for consent in customer.consents:
            change = ConsentChange(
                purpose=consent.purpose,
                channel=consent.channel,
                granted=consent.granted,
                source=_SOURCE if consent.granted else "opt-out reply",
                text_version="demo-v1" if consent.granted else None,
                at=consent.at,
            )
            store.record_consent(cid, change)
        self.tally.consents += len(customer.consents)
        for tag in customer.tags:
            changes = store.tag(
                cid, [tag.tag], [], f"api:{_SOURCE}", at=tag.at, context=tag.context
            )
            ids = [c.history_id for c in changes if c.history_id is not None]
            store.mark_tags_dispatched(ids, at=tag.at)
            self.tally.tags += len(changes)
