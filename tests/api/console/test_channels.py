"""渠道 over the app: staff refused, the circuits and quota windows as ``/v1/channels``
answers them, a reset recorded with the console user (and the API's with its key),
CSRF and unknown templates refused, the latest opt-outs, and skips by reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from api.console.channel_view import has_open, skip_lines
from api.schemas.channels import ChannelPublic
from engine.models.reports.channels import SKIP_REASON_NAMES, ChannelRow, ChannelsReport
from engine.store.circuits import ConfigCircuit
from engine.store.records import Identities
from engine.store.sql import SqlStore
from tests.api.console.test_segments import Pages, clients, sql_store

pytestmark = pytest.mark.db
__all__ = ["sql_store"]  # the fixture, used by name

NOW = datetime.now(UTC)
TEMPLATE_ERROR = "FailedOperation.TemplateIncorrectOrUnapproved"


def _open(store: SqlStore, template: str, minutes_ago: int = 30) -> None:
    circuit = ConfigCircuit(
        channel="sms",
        template=template,
        error=f"{TEMPLATE_ERROR}: template {template}",
        opened_at=NOW - timedelta(minutes=minutes_ago),
        digest="d-1",
    )
    assert store.open_config_circuit(circuit)


@pytest.fixture
async def pages(sql_store: SqlStore) -> AsyncIterator[Pages]:
    _open(sql_store, "100")
    found = await clients(sql_store)
    yield found
    for client in [*found.users.values(), found.api]:
        await client.aclose()


def _sms_card(html: str) -> str:
    return html.split('data-channel="sms"')[1].split("</li>\n    <li")[0]


async def test_staff_are_refused_the_page_and_the_reset(pages: Pages) -> None:
    staff = pages.users["wang.desk"]
    page = await staff.get("/channels")
    assert page.status_code == 403 and "无权操作" in page.text and TEMPLATE_ERROR not in page.text
    answer = await staff.post("/channels/sms/reset")
    assert answer.status_code == 403
    (sms,) = [c for c in pages.store.config_circuits() if c.channel == "sms"]
    assert sms.closed_at is None


async def test_the_page_shows_what_the_api_answers(pages: Pages) -> None:
    api = (await pages.api.get("/v1/channels")).json()["channels"]
    (sms,) = [c for c in api if c["channel"] == "sms"]
    assert [(c["template"], c["state"]) for c in sms["circuits"]] == [("100", "open")]
    page = await pages.users["li.ops"].get("/channels")
    assert page.status_code == 200
    card = _sms_card(page.text)
    assert "模板 100 已熔断" in card and f"{TEMPLATE_ERROR}: template 100" in card
    assert 'action="/channels/sms/reset"' in card
    # the other channels have nothing open: no reset button
    assert page.text.count('class="channel-reset"') == 2  # the template's and the channel's
    assert "还没有重置过任何渠道" in page.text


async def test_a_reset_closes_the_circuit_and_is_recorded_with_the_user(pages: Pages) -> None:
    ops = pages.users["li.ops"]
    answer = await ops.post("/channels/sms/reset", data={"template": "100"})
    assert answer.status_code == 303 and answer.headers["location"] == "/channels?done=sms"
    (circuit,) = [c for c in pages.store.config_circuits() if c.channel == "sms"]
    assert circuit.closed_at is not None and circuit.closed_by == "console:li.ops"
    (change,) = pages.store.list_changes(actions=["channel.reset"])
    assert (change.actor, change.subject_kind, change.subject_id) == (
        "console:li.ops",
        "channel",
        "sms",
    )
    assert change.detail == {"template": "100", "closed": ["100"], "quota_reset": False}
    page = await ops.get("/channels?done=sms")
    assert "短信 已重置" in page.text
    assert "模板 100 已熔断" not in page.text and 'class="channel-reset"' not in page.text
    resets = page.text.split('id="resets"')[1].split("</table>")[0]
    assert "console:li.ops" in resets and "模板 100" in resets


async def test_a_channel_reset_ends_its_quota_window(pages: Pages) -> None:
    pages.store.open_circuit("sms", NOW + timedelta(hours=2), "FailedOperation.Quota", NOW)
    assert "额度已用完" in _sms_card((await pages.users["chen.admin"].get("/channels")).text)
    answer = await pages.users["chen.admin"].post("/channels/sms/reset")
    assert answer.status_code == 303
    (change,) = pages.store.list_changes(actions=["channel.reset"])
    assert change.actor == "console:chen.admin"
    assert change.detail == {"template": None, "closed": ["100"], "quota_reset": True}
    assert "额度已用完" not in (await pages.users["chen.admin"].get("/channels")).text


async def test_the_apis_reset_is_recorded_with_its_key(pages: Pages) -> None:
    answer = await pages.api.post("/v1/channels/sms/reset", json={"template": "100"})
    assert answer.status_code == 200, answer.text
    (key,) = pages.store.list_api_keys()
    (change,) = pages.store.list_changes(actions=["channel.reset"])
    assert (change.actor, change.subject_id) == (f"key:{key.id}", "sms")
    assert change.detail["closed"] == ["100"]


async def test_a_reset_without_the_csrf_token_changes_nothing(pages: Pages) -> None:
    ops = pages.users["li.ops"]
    answer = await ops.post("/channels/sms/reset", headers={"X-CSRF-Token": "forged"})
    assert answer.status_code == 403
    (circuit,) = [c for c in pages.store.config_circuits() if c.channel == "sms"]
    assert circuit.closed_at is None
    assert pages.store.list_changes(actions=["channel.reset"]) == []


async def test_an_unknown_template_or_channel_is_refused_on_the_page(pages: Pages) -> None:
    ops = pages.users["li.ops"]
    answer = await ops.post("/channels/sms/reset", data={"template": "999"})
    assert answer.status_code == 422
    assert "模板 999 在短信上从未熔断过" in answer.text and 'id="channel-board"' in answer.text
    answer = await ops.post("/channels/fax/reset")
    assert answer.status_code == 404
    (circuit,) = [c for c in pages.store.config_circuits() if c.channel == "sms"]
    assert circuit.closed_at is None
    assert pages.store.list_changes(actions=["channel.reset"]) == []


async def test_the_latest_opt_outs_link_to_their_customers(pages: Pages) -> None:
    store = pages.store
    ids = []
    for i in range(3):
        found = store.identify(Identities(phone=f"1390000200{i}"), {"name": f"退订{i}"}, at=NOW)
        ids.append(found.customer_id)
        at = NOW - timedelta(hours=3 - i)
        store.withdraw_consent(found.customer_id, "marketing", "sms", "reply:TD", at)
    assert [o.customer_id for o in store.recent_opt_outs()] == ids[::-1]
    page = await pages.users["li.ops"].get("/channels")
    table = page.text.split('id="opt-outs"')[1].split("</table>")[0]
    positions = [table.index(f'href="/customers/{i}"') for i in ids[::-1]]
    assert positions == sorted(positions)  # newest first
    assert "退订2" in table and "reply:TD" in table and "营销" in table


def test_skips_are_summed_by_reason_across_channels() -> None:
    report = ChannelsReport(
        rows=[
            ChannelRow(channel="sms", skipped={**dict.fromkeys(SKIP_REASON_NAMES, 0), "cap": 2}),
            ChannelRow(
                channel="wechat_template",
                skipped={**dict.fromkeys(SKIP_REASON_NAMES, 0), "cap": 5, "not_following": 1},
            ),
        ]
    )
    lines = {line.reason: line for line in skip_lines(report)}
    assert list(lines) == list(SKIP_REASON_NAMES)
    assert (lines["cap"].total, lines["cap"].by_channel) == (
        7,
        [("wechat_template", 5), ("sms", 2)],
    )
    assert lines["not_following"].by_channel == [("wechat_template", 1)]
    assert (lines["consent"].total, lines["consent"].by_channel) == (0, [])


def test_a_channel_is_open_while_anything_of_it_stops_sends() -> None:
    quiet = {"channel": "sms", "state": "closed", "since": None, "error": None, "quota": None}
    assert not has_open(ChannelPublic.model_validate({**quiet, "circuits": []}))
    closed = {
        "template": "1",
        "state": "closed",
        "since": NOW,
        "error": "x",
        "closed_at": NOW,
        "closed_by": "deploy",
    }
    assert not has_open(ChannelPublic.model_validate({**quiet, "circuits": [closed]}))
    template = {**closed, "state": "open", "closed_at": None, "closed_by": None}
    assert has_open(ChannelPublic.model_validate({**quiet, "circuits": [template]}))
    quota = {"state": "open", "until": NOW, "since": NOW, "error": "q"}
    assert has_open(ChannelPublic.model_validate({**quiet, "circuits": [], "quota": quota}))
