"""Every added tag reaches the ``tag_added`` triggers once: a tag a journey step adds in
the worker, and a tag added while Temporal could not be reached, through the sweep."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from api.app import create_app
from cli.devserver import free_port
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

TAGGER = {
    "id": "tagger",
    "trigger": {"api": True},
    "steps": [
        {"id": "mark", "tag": {"add": "VIP"}},
        {"id": "done", "exit": "tagged"},
    ],
}
WELCOME = {
    "id": "welcome_vip",
    "trigger": {"tag_added": "VIP"},
    "steps": [{"id": "done", "exit": "welcomed"}],
}


def journeys_of(api: Api, customer_id: str) -> list[str]:
    return [e.journey_id for e in api.store.list_enrollments(customer_id=customer_id)]


async def test_a_tag_added_by_a_journey_step_starts_the_tag_added_journey(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [TAGGER, WELCOME]))
    customer = {"phone": "13800005555"}
    cid = await identify(api, customer=customer)
    r = await api.admin.post("/v1/journeys/tagger/enrollments", json={"customer": customer})
    assert r.status_code == 201, r.text
    await api.result(r.json()["enrollment_id"])
    assert "VIP" in api.store.get_customer(cid).tags
    assert journeys_of(api, cid) == ["tagger"]  # the worker's tag waits for the sweep

    # A journey step's tag is not waited on: no request is dispatching it.
    assert await api.dispatcher.sweep(older_than=3600) == 1
    assert sorted(journeys_of(api, cid)) == ["tagger", "welcome_vip"]
    (welcome,) = api.store.list_enrollments(customer_id=cid, journey_id="welcome_vip")
    assert (await api.result(welcome.id)).exit_reason == "welcomed"
    assert await api.dispatcher.sweep(older_than=0) == 0  # told once


async def test_tags_added_while_temporal_is_down_enroll_when_it_is_back(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [TAGGER, WELCOME]))
    # The same store, but a Temporal frontend that is not there.
    down = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    app = create_app(api.store, Dispatcher(down, api.store, "nowhere"), Settings())
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://down.test",
        headers=dict(api.admin.headers),
    ) as client:
        r = await client.post(
            "/v1/identify", json={"customer": {"phone": "13800005556"}, "tags": ["VIP"]}
        )
        assert r.status_code == 202, r.text
        assert (r.json()["tags_added"], r.json()["dispatch_pending"]) == (["VIP"], True)
        cid = r.json()["customer_id"]
        removed = await client.post(f"/v1/customers/{cid}/tags", json={"remove": ["VIP"]})
        assert removed.status_code == 200, removed.text
    assert journeys_of(api, cid) == []
    pending = api.store.undispatched_tags(datetime.now(UTC))
    assert [(c.customer_id, c.tag, c.added) for c in pending] == [(cid, "VIP", True)]

    # Temporal is reachable again: the sweep enrolls the customer, once; a removal
    # starts nothing and is never pending.
    assert await api.dispatcher.sweep(older_than=0) == 1
    assert journeys_of(api, cid) == ["welcome_vip"]
    assert api.store.undispatched_tags(datetime.now(UTC)) == []


async def test_a_tag_added_through_the_api_is_dispatched_at_once_and_not_again(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path, [TAGGER, WELCOME]))
    cid = await identify(api, customer={"phone": "13800005557"}, tags=["VIP", "家长"])
    assert journeys_of(api, cid) == ["welcome_vip"]
    # Both added tags were marked, the one no journey listens to as well.
    assert api.store.undispatched_tags(datetime.now(UTC)) == []
    assert await api.dispatcher.sweep(older_than=0) == 0
