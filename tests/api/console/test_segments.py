"""分群 over the app (SqlStore, httpx over ASGI, a signed-in session per role): who may
see segments and export them, the list and a segment's page as ``/v1/segments``
answers them, member pages by cursor, and the CSV, byte for byte the API's, recorded
in the change log with who exported it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import cast

import httpx
import pytest
from fastapi import FastAPI
from temporalio.client import Client

from api.app import create_app
from api.console import segment_view
from api.console.segment_view import may_export, may_view, rule_text
from api.console.session import SESSION_COOKIE
from engine.dispatch.dispatcher import Dispatcher
from engine.models.journey import Segment
from engine.models.users import Role
from engine.settings import Settings
from engine.store.records import Identities
from engine.store.sql import SqlStore
from rules.models import parse_rule

pytestmark = pytest.mark.db

NOW = datetime.now(UTC)
USERS: dict[str, Role] = {"chen.admin": "admin", "li.ops": "operator", "wang.desk": "staff"}
BASE = "http://carepath.test"


@dataclass
class Pages:
    """The app over a fresh store: a client per console user, and an admin API client."""

    store: SqlStore
    app: FastAPI
    users: dict[str, httpx.AsyncClient]
    api: httpx.AsyncClient


def app_of(store: SqlStore) -> FastAPI:
    """The app as the server builds it; these pages never reach Temporal."""
    return create_app(store, Dispatcher(cast(Client, None), store, "console-test"), Settings())


@pytest.fixture
def sql_store(sql_url: str) -> Iterator[SqlStore]:
    store = SqlStore(sql_url)
    yield store
    store.close()


async def clients(store: SqlStore) -> Pages:
    """Sign in each of ``USERS`` (a session of the store, its cookie on the client)."""
    app = app_of(store)
    transport = httpx.ASGITransport(app=app)
    users = {}
    for username, role in USERS.items():
        clinics = ["c01"] if role == "staff" else []
        user = store.create_user(username, "sesame-street-42", role, clinics)
        token, session = store.open_session(user.id, timedelta(hours=1))
        users[username] = httpx.AsyncClient(
            transport=transport,
            base_url=BASE,
            cookies={SESSION_COOKIE: token},
            headers={"X-CSRF-Token": session.csrf_token},
        )
    _, secret = store.create_api_key("admin-test", ["admin"], [], at=NOW)
    api = httpx.AsyncClient(
        transport=transport, base_url=BASE, headers={"Authorization": f"Bearer {secret}"}
    )
    return Pages(store, app, users, api)


@pytest.fixture
async def pages(sql_store: SqlStore) -> AsyncIterator[Pages]:
    for i in range(5):
        sql_store.identify(
            Identities(phone=f"1380000100{i}"),
            {"name": f"客户{i}", "clinic_id": "c01" if i % 2 else "c02"},
            at=NOW,
        )
        if i < 3:
            found = sql_store.resolve(Identities(phone=f"1380000100{i}"), at=NOW)
            sql_store.tag(found.customer_id, ["VIP"], [], "test", at=NOW)
    vip = Segment(id="vip", name="VIP 客户", rule=parse_rule({"tag": "VIP"}))
    c01 = Segment(
        id="c01_people",
        rule=parse_rule({"attribute": "clinic_id", "eq": "c01"}),
        refresh="0 3 * * *",
    )
    sql_store.deploy_segments({"vip": vip, "c01_people": c01}, at=NOW)
    found = await clients(sql_store)
    yield found
    for client in [*found.users.values(), found.api]:
        await client.aclose()


@pytest.mark.parametrize(
    ("role", "view", "export"),
    [("admin", True, True), ("operator", True, False), ("staff", False, False)],
)
def test_admins_export_operators_only_look_staff_neither(
    role: str, view: bool, export: bool
) -> None:
    assert (may_view(role), may_export(role)) == (view, export)


def test_the_rule_reads_as_the_yaml_it_was_written_in() -> None:
    rule = {"all": [{"tag": "高意向"}, {"attribute": "age_group", "eq": "child"}]}
    assert rule_text(rule) == "all:\n- tag: 高意向\n- attribute: age_group\n  eq: child\n"


async def test_staff_are_refused_every_segment_page(pages: Pages) -> None:
    staff = pages.users["wang.desk"]
    for path in ("/segments", "/segments/vip", "/segments/vip/export", "/segments/nope"):
        answer = await staff.get(path)
        assert answer.status_code == 403, path
        assert "无权操作" in answer.text and "VIP 客户" not in answer.text


async def test_the_list_is_what_the_api_answers(pages: Pages) -> None:
    api = (await pages.api.get("/v1/segments")).json()
    assert {s["id"]: s["size"] for s in api} == {"c01_people": 2, "vip": 3}
    page = await pages.users["li.ops"].get("/segments")
    assert page.status_code == 200
    for segment in api:
        row = page.text.split(f'data-segment="{segment["id"]}"')[1].split("</tr>")[0]
        assert f'<td class="number">{segment["size"]}</td>' in row
        assert f'href="/segments/{segment["id"]}"' in row
    assert "VIP 客户" in page.text and "<code>0 3 * * *</code>" in page.text
    assert "/v1" not in page.text


async def test_a_segment_shows_its_rule_size_and_members_by_page(
    pages: Pages, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segment_view, "MEMBERS_PER_PAGE", 2)
    members = (await pages.api.get("/v1/segments/vip/members")).json()["members"]
    ids = [m["customer_id"] for m in members]
    assert len(ids) == 3
    ops = pages.users["li.ops"]
    first = await ops.get("/segments/vip")
    assert first.status_code == 200
    assert "<pre" in first.text and "tag: VIP" in first.text
    assert 'class="segment-size">3<' in first.text
    assert [i for i in ids if f'href="/customers/{i}"' in first.text] == ids[:2]
    assert f'href="/segments/vip?cursor={ids[1]}"' in first.text
    second = await ops.get("/segments/vip", params={"cursor": ids[1]})
    assert [i for i in ids if f'href="/customers/{i}"' in second.text] == ids[2:]
    assert "cursor=" not in second.text  # the last page
    assert 'href="/segments/vip">' in second.text  # back to the first page


async def test_an_unknown_segment_is_a_404_page(pages: Pages) -> None:
    for path in ("/segments/nope", "/segments/nope/export"):
        answer = await pages.users["chen.admin"].get(path)
        assert answer.status_code == 404, path
        assert "没有这个分群" in answer.text
    assert pages.store.list_changes(actions=["segment.exported"]) == []


async def test_operators_see_no_export_and_are_refused_it(pages: Pages) -> None:
    ops = pages.users["li.ops"]
    assert "/segments/vip/export" not in (await ops.get("/segments/vip")).text
    answer = await ops.get("/segments/vip/export")
    assert answer.status_code == 403 and "只有管理员可以导出" in answer.text
    assert pages.store.list_changes(actions=["segment.exported"]) == []


async def test_an_admins_export_is_the_apis_csv_and_is_recorded(pages: Pages) -> None:
    admin = pages.users["chen.admin"]
    assert 'href="/segments/vip/export"' in (await admin.get("/segments/vip")).text
    exported = await admin.get("/segments/vip/export")
    api = await pages.api.get("/v1/segments/vip/members", params={"format": "csv"})
    assert exported.status_code == api.status_code == 200
    assert exported.content == api.content
    assert exported.headers["content-type"] == api.headers["content-type"]
    assert exported.headers["content-disposition"] == 'attachment; filename="segment-vip.csv"'
    assert exported.text.count("\n") == 4  # the header and three members
    (change,) = pages.store.list_changes(actions=["segment.exported"])
    assert (change.actor, change.subject_kind, change.subject_id) == (
        "console:chen.admin",
        "segment",
        "vip",
    )
    assert change.detail == {"rows": 3, "format": "csv"}
