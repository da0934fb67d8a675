"""The outbox cannot jam or forget: what is accepted while Temporal is away is
delivered once it is back, with what it needs; an item whose dispatch fails is retried
with backoff and parked without holding up the others, and an operator sees, retries
or discards it (``/v1/outbox``); a trigger that hits a paused journey leaves a trace."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from cli.devserver import free_port
from engine.dispatch import attempts, events, segments, signals, tags
from engine.dispatch.dispatcher import Dispatcher
from engine.expressions.clock import utcnow
from engine.settings import Settings
from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

KEYED = {
    # One enrollment per appointment: the key needs the request's context.
    "id": "confirm",
    "trigger": {"tag_added": "预约"},
    "key": "{{ context.appointment_id }}",
    "steps": [{"id": "done", "exit": "confirmed"}],
}
WELCOME = {
    "id": "welcome_vip",
    "trigger": {"tag_added": "VIP"},
    "steps": [{"id": "done", "exit": "welcomed"}],
}
VISITED = {
    "id": "after_visit",
    "trigger": {"event": "visit.completed"},
    "steps": [{"id": "done", "exit": "thanked"}],
}
CALLBACK = {
    "id": "callback",
    "trigger": {"api": True},
    "steps": [
        {
            "id": "call",
            "handoff": {"queue": "optometrist", "outcomes": {"booked": "done"}},
        },
        {"id": "done", "exit": "called"},
    ],
}
WAITING = {
    "id": "waiting",
    "trigger": {"api": True},
    "steps": [{"id": "pause", "wait": {"duration": "30d"}}, {"id": "done", "exit": "waited"}],
}


@asynccontextmanager
async def temporal_down(api: Api, key: str = "admin") -> AsyncIterator[httpx.AsyncClient]:
    """The same store and keys, but a Temporal frontend that is not there."""
    down = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    app = create_app(api.store, Dispatcher(down, api.store, "nowhere"), Settings())
    headers = dict(getattr(api, key).headers)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://down.test", headers=headers
    ) as client:
        yield client


def enrollments(api: Api, customer_id: str, journey_id: str) -> list[Any]:
    return api.store.list_enrollments(customer_id=customer_id, journey_id=journey_id)


class Clock:
    """The service's clock, moved by the test (the sweep's backoff is in minutes)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.now = utcnow()
        for module in (attempts, events, segments, signals, tags):
            monkeypatch.setattr(module, "utcnow", lambda: self.now)

    def advance(self, until: datetime | None) -> None:
        assert until is not None
        self.now = max(self.now, until) + timedelta(milliseconds=1)


async def outbox(api: Api, **params: Any) -> list[dict[str, Any]]:
    r = await api.admin.get("/v1/outbox", params=params)
    assert r.status_code == 200, r.text
    return list(r.json()["items"])


async def test_a_tag_added_while_temporal_is_down_starts_its_journey_with_its_context(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [KEYED]))
    async with temporal_down(api, "ingest") as client:
        r = await client.post(
            "/v1/identify",
            json={
                "customer": {"phone": "13800007001"},
                "tags": ["预约"],
                "context": {"appointment_id": "A-17"},
            },
        )
    assert r.status_code == 202, r.text
    assert (r.json()["tags_added"], r.json()["dispatch_pending"]) == (["预约"], True)
    cid = r.json()["customer_id"]
    assert enrollments(api, cid, "confirm") == []

    # Temporal is back: the sweep starts the journey with the request's context.
    assert await api.dispatcher.sweep(older_than=0) == 1
    (enrollment,) = enrollments(api, cid, "confirm")
    assert enrollment.key == "A-17"
    assert (await api.result(enrollment.id)).exit_reason == "confirmed"
    assert await api.dispatcher.sweep(older_than=0) == 0  # once
    assert await outbox(api) == []


async def test_a_failing_tag_is_retried_with_backoff_then_parked_and_blocks_nothing(
    api: Api, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await deploy(api, workspace(tmp_path / "ws", [KEYED, WELCOME, VISITED]))
    async with temporal_down(api, "ingest") as client:
        # No appointment in the context: this tag's journey key cannot render.
        bad = await client.post(
            "/v1/identify", json={"customer": {"phone": "13800007002"}, "tags": ["预约"]}
        )
        assert bad.status_code == 202, bad.text
        bad_id = bad.json()["customer_id"]
        good = await client.post(
            "/v1/identify", json={"customer": {"phone": "13800007003"}, "tags": ["VIP"]}
        )
        good_id = good.json()["customer_id"]
        tracked = await client.post(
            "/v1/track",
            json={"customer": {"customer_id": good_id}, "event": "visit.completed",
                  "message_id": "visit-7003"},
        )  # fmt: skip
        assert tracked.json()["dispatch_pending"] is True

    clock = Clock(monkeypatch)
    assert await api.dispatcher.sweep(older_than=0) == 3
    # The tag and the event after the failing row went through.
    assert len(enrollments(api, good_id, "welcome_vip")) == 1
    assert len(enrollments(api, good_id, "after_visit")) == 1
    (item,) = await outbox(api)
    assert (item["kind"], item["customer_id"], item["state"], item["attempts"]) == (
        "tag", bad_id, "retrying", 1,
    )  # fmt: skip
    assert "appointment_id" in item["last_error"]
    first = datetime.fromisoformat(item["next_attempt_at"])
    assert timedelta(seconds=4) < first - clock.now <= timedelta(seconds=5)

    assert await api.dispatcher.sweep(older_than=0) == 0  # waiting out its backoff
    delays = []
    for attempt in range(2, 11):
        clock.advance(datetime.fromisoformat(item["next_attempt_at"]))
        assert await api.dispatcher.sweep(older_than=0) == 1
        (item,) = await outbox(api, state=["retrying", "parked"])
        assert item["attempts"] == attempt
        if item["next_attempt_at"]:
            delays.append(datetime.fromisoformat(item["next_attempt_at"]) - clock.now)
    assert [round(d.total_seconds()) for d in delays] == [10, 20, 40, 80, 160, 320, 600, 600]
    assert (item["state"], item["next_attempt_at"]) == ("parked", None)
    assert item["parked_at"] is not None
    clock.advance(clock.now + timedelta(days=1))
    assert await api.dispatcher.sweep(older_than=0) == 0  # parked: left alone

    # A retry by hand fails again (409 naming the error); the item stays parked.
    again = await api.admin.post(f"/v1/outbox/tag/{item['id']}/retry")
    assert again.status_code == 409, again.text
    assert "appointment_id" in again.json()["detail"]
    assert (await outbox(api, state="parked"))[0]["attempts"] == 11
    assert enrollments(api, bad_id, "confirm") == []


async def test_retry_after_a_fix_and_discard(api: Api, tmp_path: Path) -> None:
    await deploy(api, workspace(tmp_path / "ws", [KEYED]))
    ids = []
    for phone in ("13800007011", "13800007012"):
        r = await api.ingest.post(
            "/v1/identify", json={"customer": {"phone": phone}, "tags": ["预约"]}
        )
        # The key could not render: stored, answered, never a 500 after the write.
        assert (r.status_code, r.json()["dispatch_pending"]) == (202, True), r.text
        ids.append(r.json()["customer_id"])
    assert await api.dispatcher.sweep(older_than=0) == 2
    first, second = await outbox(api)
    assert [first["customer_id"], second["customer_id"]] == ids
    assert first["state"] == second["state"] == "retrying"

    # The journey is fixed (a key every customer has), then the first is retried at once.
    fixed = {**KEYED, "key": "{{ customer.id }}"}
    await deploy(api, workspace(tmp_path / "fixed", [fixed]))
    r = await api.admin.post(f"/v1/outbox/tag/{first['id']}/retry")
    assert r.status_code == 200, r.text
    assert (r.json()["dispatched"], r.json()["enrolled"]) == (True, ["confirm:started"])
    assert len(enrollments(api, ids[0], "confirm")) == 1

    d = await api.admin.post(f"/v1/outbox/tag/{second['id']}/discard")
    assert d.status_code == 200, d.text
    assert (d.json()["state"], d.json()["discarded_by"]) == ("discarded", "api:admin-test")
    assert await outbox(api) == []
    (kept,) = await outbox(api, state="discarded")
    assert kept["id"] == second["id"]
    assert await api.dispatcher.sweep(older_than=0) == 0
    assert enrollments(api, ids[1], "confirm") == []
    assert (await api.admin.post(f"/v1/outbox/tag/{second['id']}/discard")).status_code == 409
    assert (await api.admin.post(f"/v1/outbox/tag/{second['id']}/retry")).status_code == 409
    assert (await api.admin.post("/v1/outbox/tag/999999/retry")).status_code == 404
    assert (await api.staff.get("/v1/outbox")).status_code == 403


async def test_a_handoff_completed_while_temporal_is_down_resumes_when_it_is_back(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [CALLBACK]))
    cid = await identify(api, customer={"phone": "13800007021"})
    r = await api.admin.post(
        "/v1/journeys/callback/enrollments", json={"customer": {"customer_id": cid}}
    )
    enrollment_id = r.json()["enrollment_id"]

    async def listed() -> Any:
        return (await api.admin.get("/v1/handoffs")).json()

    (task,) = await api.wait_for("the handoff task", listed)
    async with temporal_down(api) as client:
        done = await client.post(f"/v1/handoffs/{task['id']}/complete", json={"outcome": "booked"})
        assert done.status_code == 202, done.text
        assert (done.json()["status"], done.json()["dispatch_pending"]) == ("done", True)
        again = await client.post(f"/v1/handoffs/{task['id']}/complete", json={"outcome": "booked"})
        assert again.status_code == 202, again.text  # a repeat is kept once
    assert (await api.admin.get("/v1/handoffs")).json() == []  # it left the queue
    assert api.store.get_enrollment(enrollment_id).status == "running"
    (pending,) = await outbox(api, kind="signal", min_age=0)
    assert pending["what"] == f"handoff_outcome to {enrollment_id}"

    assert await api.dispatcher.sweep(older_than=0) == 1
    assert (await api.result(enrollment_id)).exit_reason == "called"
    assert await api.dispatcher.sweep(older_than=0) == 0  # sent once
    handoffs = [e for e in api.store.get_trace(enrollment_id) if e.kind == "handoff"]
    assert [e.outcome for e in handoffs] == ["created", "booked"]


async def test_a_cancel_while_temporal_is_down_is_sent_when_it_is_back(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [WAITING]))
    cid = await identify(api, customer={"phone": "13800007031"})
    r = await api.admin.post(
        "/v1/journeys/waiting/enrollments", json={"customer": {"customer_id": cid}}
    )
    enrollment_id = r.json()["enrollment_id"]
    async with temporal_down(api) as client:
        c = await client.post(
            f"/v1/enrollments/{enrollment_id}/cancel", json={"reason": "patient moved"}
        )
    assert c.status_code == 202, c.text
    assert (c.json()["signalled"], c.json()["dispatch_pending"]) == (False, True)
    assert api.store.get_enrollment(enrollment_id).status == "running"

    assert await api.dispatcher.sweep(older_than=0) == 1
    result = await api.result(enrollment_id)
    assert (result.status, result.exit_reason) == ("exited", "patient moved")
    assert await api.dispatcher.sweep(older_than=0) == 0
    ok = await api.admin.post(f"/v1/enrollments/{enrollment_id}/cancel")
    assert (ok.status_code, ok.json()["dispatch_pending"]) == (202, False)


async def test_a_trigger_on_a_paused_journey_is_recorded_as_skipped(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [WELCOME, VISITED]))
    for journey in ("welcome_vip", "after_visit"):
        assert (await api.admin.post(f"/v1/journeys/{journey}/pause")).status_code == 200
    r = await api.ingest.post(
        "/v1/identify", json={"customer": {"phone": "13800007041"}, "tags": ["VIP"]}
    )
    assert r.json()["skipped"] == ["welcome_vip:paused"]
    cid = r.json()["customer_id"]
    t = await api.ingest.post(
        "/v1/track",
        json={"customer": {"customer_id": cid}, "event": "visit.completed", "message_id": "p-1"},
    )
    assert (t.json()["skipped"], t.json()["enrolled"]) == (["after_visit:paused"], [])
    assert api.store.list_enrollments(customer_id=cid) == []

    audit = (await api.admin.get(f"/v1/customers/{cid}/audit")).json()
    skipped = [(e["kind"], e["journey_id"], e["outcome"]) for e in audit]
    assert ("trigger_skipped", "welcome_vip", "paused") in skipped
    assert ("trigger_skipped", "after_visit", "paused") in skipped
    details = {e["detail"] for e in audit if e["kind"] == "trigger_skipped"}
    assert details == {
        "tag_added VIP: journey welcome_vip is paused",
        "event visit.completed: journey after_visit is paused",
    }
    # The sweep does not record it again.
    await api.dispatcher.sweep(older_than=0)
    audit = (await api.admin.get(f"/v1/customers/{cid}/audit")).json()
    assert sum(e["kind"] == "trigger_skipped" for e in audit) == 2


BOOKED_KEYED = {
    # Keyed on the appointment: an appointment.booked event without one cannot enroll.
    "id": "booked_keyed",
    "trigger": {"event": "appointment.booked"},
    "key": "{{ context.appointment_id }}",
    "steps": [{"id": "done", "exit": "confirmed"}],
}
BOOKED_THANKS = {
    "id": "booked_thanks",
    "trigger": {"event": "appointment.booked"},
    "steps": [{"id": "done", "exit": "thanked"}],
}


async def test_one_journey_that_cannot_enroll_holds_up_neither_the_others_nor_the_event(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path / "ws", [BOOKED_KEYED, BOOKED_THANKS, WAITING]))
    customer_id = await identify(api, customer={"phone": "13800007031"})
    started = await api.admin.post(
        "/v1/journeys/waiting/enrollments", json={"customer": {"customer_id": customer_id}}
    )
    assert started.status_code == 201, started.text
    waiting_id = started.json()["enrollment_id"]
    r = await api.ingest.post(
        "/v1/track",
        json={
            "customer": {"customer_id": customer_id},
            "event": "appointment.booked",
            "message_id": "booked-7031",
        },
    )
    assert r.status_code == 202, r.text
    body = r.json()
    # The other journey enrolled and the running enrollment heard the event; the
    # journey that could not enroll left the event for the sweep.
    assert body["enrolled"] == ["booked_thanks:started"]
    assert waiting_id in body["signalled"]
    assert body["dispatch_pending"] is True
    assert enrollments(api, customer_id, "booked_keyed") == []
    assert len(enrollments(api, customer_id, "booked_thanks")) == 1
    # The sweep tries it again, counts the failure, and enrolls nobody twice.
    assert await api.dispatcher.sweep(older_than=0) >= 1
    (item,) = [i for i in await outbox(api) if i["kind"] == "event"]
    assert item["attempts"] == 1 and "appointment_id" in item["last_error"]
    assert len(enrollments(api, customer_id, "booked_thanks")) == 1
