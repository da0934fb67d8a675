"""Minors and guardians through the engine: who is a minor, the send activity
addressing a guardian with consent (never the child), and enrolling in a journey
that needs a guardian's consent."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.channels.registry import build_adapters
from activities.journey import JourneyActivities
from engine.compliance.guardians import guardian_consent_missing, is_minor
from engine.contracts.journey import SendInput, SendResult
from engine.dispatch.enroll import enroll
from engine.store import Customer, MemoryStore
from engine.workspace.loader import load_workspace
from rules.view import ConsentRecord
from simulators import ProviderSimulators

EXAMPLES = Path(__file__).parents[3] / "examples" / "eye-clinic"
T0 = datetime(2026, 9, 7, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai
CHILD_PHONE, MOTHER_PHONE = "+8613500000101", "+8613500000102"
keys = itertools.count(1)


def consent(purpose: str, channel: str | None = None, granted: bool = True) -> ConsentRecord:
    return ConsentRecord(purpose=purpose, channel=channel, granted=granted, at=T0)


def child(**attributes: object) -> Customer:
    return Customer(
        id="kid",
        attributes={"name": "小雨", "clinic_name": "南山店", "phone": CHILD_PHONE, **attributes},
        identities={"phone": CHILD_PHONE},
        consents=[consent("marketing", "sms"), consent("service", "sms")],
    )


@pytest.mark.parametrize(
    ("attributes", "minor"),
    [
        ({"birth_date": "2012-09-08"}, True),  # 14 tomorrow
        ({"birth_date": "2012-09-07"}, False),  # 14 today
        ({"birth_date": date(2016, 1, 1)}, True),
        ({"birth_date": "2016-01-01", "minor": False}, False),  # the clinic's word wins
        ({"minor": True}, True),
        ({"birth_date": "unknown"}, False),
        ({}, False),
    ],
)
def test_who_is_a_minor(attributes: dict[str, object], minor: bool) -> None:
    assert is_minor(child(**attributes), T0) is minor


@pytest.fixture(scope="module")
def sims() -> Iterator[ProviderSimulators]:
    with ProviderSimulators() as running:
        yield running


class Rig:
    def __init__(self, sims: ProviderSimulators, kid: Customer) -> None:
        sims.reset()
        self.sims, self.store = sims, MemoryStore()
        workspace = load_workspace(EXAMPLES)
        for journey in ("review_invitation", "glasses_ready"):
            self.store.put_bundle(workspace.bundle(journey, version=1))
        self.store.put_customer(kid)
        self.activities = JourneyActivities(self.store, build_adapters(sims.channel_settings()))

    def guardian(self, gid: str, phone: str, *consents: ConsentRecord) -> None:
        self.store.put_customer(
            Customer(id=gid, attributes={"name": gid}, identities={"phone": phone},
                     consents=list(consents))
        )  # fmt: skip
        self.store.link_guardian("kid", gid)

    def send(
        self, journey: str = "review_invitation", message: str = "review_invitation"
    ) -> SendResult:
        return self.activities.send_channel(
            SendInput(
                enrollment_id=f"e-{next(keys)}",
                journey_id=journey,
                version=1,
                customer_id="kid",
                step="invite",
                now=T0,
                context={"order_id": "O-1"},
                message=message,
                channel="sms",
                idempotency_key=f"k-{next(keys)}",
            )
        )

    def phones(self) -> list[str]:
        return [m.recipient for m in self.sims.sms.messages]


def test_a_minors_marketing_sms_goes_to_the_guardian_with_consent(sims: ProviderSimulators) -> None:
    rig = Rig(sims, child(birth_date="2016-04-01"))
    rig.guardian("father", "+8613500000103")  # linked first, no consent: passed over
    rig.guardian("mother", MOTHER_PHONE, consent("marketing", "sms"))
    result = rig.send()
    assert result.outcome == "accepted"
    assert result.detail.startswith("to guardian mother: ")
    assert rig.phones() == [MOTHER_PHONE]
    assert CHILD_PHONE not in " ".join(rig.phones())
    # The delivery record (what the audit trail reads) names the guardian too.
    [delivery] = rig.store.deliveries.values()
    assert delivery.customer_id == "kid" and delivery.detail.startswith("to guardian mother")
    # The caps count the guardian's messages: the guardian's daily marketing SMS is spent.
    assert [s.customer_id for s in rig.store.slots.values()] == ["mother"]


def test_without_a_consenting_guardian_nothing_is_sent(sims: ProviderSimulators) -> None:
    rig = Rig(sims, child(minor=True))
    alone = rig.send()
    assert (alone.outcome, alone.detail) == (
        "skipped",
        "minor: no guardian linked (never sent to a child's own contact)",
    )
    rig.guardian(
        "mother", MOTHER_PHONE, consent("marketing", "sms"), consent("marketing", None, False)
    )
    withdrawn = rig.send()
    assert withdrawn.detail == "minor: no guardian with marketing consent reachable by sms"
    assert rig.phones() == []


def test_a_service_message_for_a_minor_needs_the_guardians_service_consent(
    sims: ProviderSimulators,
) -> None:
    rig = Rig(sims, child(minor=True))
    rig.guardian("mother", MOTHER_PHONE, consent("marketing", "sms"))
    refused = rig.send("glasses_ready", "glasses_ready")
    assert refused.detail == "minor: no guardian with service consent reachable by sms"
    rig.guardian("father", "+8613500000103", consent("service"))
    sent = rig.send("glasses_ready", "glasses_ready")
    assert (sent.outcome, sent.detail.split(":")[0]) == ("accepted", "to guardian father")


def test_an_adult_is_sent_to_directly(sims: ProviderSimulators) -> None:
    rig = Rig(sims, child(birth_date="1990-01-01"))
    rig.guardian("mother", MOTHER_PHONE, consent("marketing", "sms"))
    result = rig.send()
    assert result.outcome == "accepted" and not result.detail.startswith("to guardian")
    assert [s.customer_id for s in rig.store.slots.values()] == ["kid"]


async def test_enrolling_in_a_school_screening_journey_needs_a_guardians_consent(
    time_env: WorkflowEnvironment,
) -> None:
    bundle = load_workspace(EXAMPLES).bundle("school_screening_parents", version=1)
    assert bundle.journey.guardian_consent == ["marketing"]
    store = MemoryStore()
    # The entry rule holds for the child (segment: two screenings and the form).
    history = [
        {"name": "school_screening.attended", "properties": {}, "at": T0},
        {"name": "school_screening.attended", "properties": {}, "at": T0},
        {"name": "form.submitted", "properties": {"form_id": "vision_feedback"}, "at": T0},
    ]
    kid = child(minor=True).model_copy(update={"tags": {}})
    kid = Customer.model_validate({**kid.model_dump(), "events": history})
    store.put_customer(kid)

    async def attempt() -> str:
        result = await enroll(
            time_env.client, store, bundle, "kid", {}, now=T0, task_queue="unused-queue"
        )
        return f"{result.status}: {result.detail}"

    assert await attempt() == "not_eligible: no guardian's marketing consent (minor)"
    store.put_customer(Customer(id="mother", consents=[consent("service")]))
    store.link_guardian("kid", "mother")
    assert await attempt() == "not_eligible: no guardian's marketing consent (minor)"
    store.put_customer(Customer(id="mother", consents=[consent("marketing", "wecom")]))
    # Met now (checked without starting a workflow nobody would run).
    assert guardian_consent_missing(["marketing"], kid, [store.get_customer("mother")], T0) is None
    # An adult enrolled on screening data is the parent: their own consent counts.
    parent = child(birth_date="1985-01-01")
    assert guardian_consent_missing(["marketing"], parent, [], T0) is None
    parent.consents = [consent("service")]
    assert guardian_consent_missing(["marketing"], parent, [], T0) == (
        "no guardian's marketing consent"
    )
