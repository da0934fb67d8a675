"""看板 without a browser, over a small demo chain: the page answers with its parts to
load and the clinics of the filter, each part answers for each role with the numbers
the ``/v1`` reports answer (a staff user's those of a staff key of the same clinics),
and what needs attention shows up when a circuit opens or a task is overdue."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from cli.demo import DemoOptions, load_demo
from engine.dispatch.dispatcher import Dispatcher
from engine.models.attribution import NewTouch
from engine.models.users import Role
from engine.settings import Settings
from engine.store.circuits import ConfigCircuit
from engine.store.records import HandoffTask, Identities
from engine.store.sql import SqlStore
from tests.db import migrated_database

PASSWORD = "dashboard-test-password"
STAFF_CLINICS = ["c01", "c02"]
USERS: dict[str, tuple[Role, list[str]]] = {
    "admin": ("admin", []),
    "operator": ("operator", []),
    "staff": ("staff", STAFF_CLINICS),
}
PARTS = ["kpis", "trends", "sources", "attention"]


@pytest.fixture(scope="module")
def demo_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database(Path(tmp_path_factory.mktemp("dashboard"))) as url:
        store = SqlStore(url)
        try:
            load_demo(store, DemoOptions(customers=120, seed=3))
        finally:
            store.close()
        yield url


class Site:
    """The app, a client signed in as each role, and API keys of the same reach."""

    def __init__(self, store: SqlStore, app: Any) -> None:
        self.store = store
        self.transport = transport = httpx.ASGITransport(app=app)
        self.clients: dict[str, httpx.AsyncClient] = {}
        self.keys: dict[str, httpx.AsyncClient] = {}
        now = dt.datetime.now(dt.UTC)
        for role, (kind, clinics) in USERS.items():
            name = f"{role}-{uuid.uuid4().hex[:6]}"
            user = store.create_user(name, PASSWORD, kind, clinics, by="test")
            token, _ = store.open_session(user.id, dt.timedelta(hours=1))
            self.clients[role] = httpx.AsyncClient(
                transport=transport,
                base_url="https://console.test",
                cookies={"carepath_session": token},
            )
            scopes = ["staff"] if kind == "staff" else ["admin"]
            _, secret = store.create_api_key(name, scopes, clinics, at=now)
            self.keys[role] = httpx.AsyncClient(
                transport=transport,
                base_url="https://console.test",
                headers={"Authorization": f"Bearer {secret}"},
            )

    async def close(self) -> None:
        for client in [*self.clients.values(), *self.keys.values()]:
            await client.aclose()


@pytest.fixture(scope="module")
async def site(demo_url: str, time_env: WorkflowEnvironment) -> AsyncIterator[Site]:
    store = SqlStore(demo_url)
    dispatcher = Dispatcher(time_env.client, store, f"dashboard-{uuid.uuid4().hex[:8]}")
    found = Site(store, create_app(store, dispatcher, Settings()))
    try:
        yield found
    finally:
        await found.close()
        store.close()


def _range(html: str) -> tuple[dt.date, dt.date]:
    first = re.search(r'id="from" name="from" type="date" value="([\d-]+)"', html)
    last = re.search(r'id="to" name="to" type="date" value="([\d-]+)"', html)
    assert first and last
    return dt.date.fromisoformat(first[1]), dt.date.fromisoformat(last[1])


def _count(text: str) -> int:
    return int(text.replace(",", ""))


def _card(html: str, kpi: str) -> str:
    found = re.search(rf'data-kpi="{kpi}">.*?<p class="card-value">(.*?)</p>', html, re.S)
    assert found, f"no {kpi} card"
    return found[1].strip()


async def _page(site: Site, role: str, query: str = "") -> str:
    answer = await site.clients[role].get(f"/{query}")
    assert answer.status_code == 200
    return answer.text


async def _part(site: Site, role: str, part: str, first: dt.date, last: dt.date) -> str:
    query = {"from": first.isoformat(), "to": last.isoformat()}
    answer = await site.clients[role].get(
        f"/dashboard/{part}", params=query, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 200, answer.text[:300]
    return answer.text


async def _api(site: Site, role: str, path: str, first: dt.date, end: dt.date) -> Any:
    answer = await site.keys[role].get(
        path, params={"from": first.isoformat(), "to": end.isoformat()}
    )
    assert answer.status_code == 200, answer.text[:300]
    return answer.json()


@pytest.mark.parametrize("role", list(USERS))
async def test_the_page_answers_with_its_parts_to_load_and_no_figures(
    site: Site, role: str
) -> None:
    html = await _page(site, role)
    first, last = _range(html)
    assert (last - first).days == 29
    for part in PARTS:
        assert f'hx-get="/dashboard/{part}?from={first}&amp;to={last}"' in html
    assert 'hx-trigger="load"' in html and "data-kpi=" not in html
    clinics = re.findall(r'<option value="(c\d+)"', html)
    if role == "staff":
        assert clinics == STAFF_CLINICS
    else:  # the clinics the store knows of: the demo chain's twelve and more
        assert {"c01", "c02", "c12"} <= set(clinics) and clinics == sorted(clinics)


@pytest.mark.parametrize("role", list(USERS))
@pytest.mark.parametrize("part", PARTS)
async def test_each_part_answers_for_each_role(site: Site, role: str, part: str) -> None:
    first, last = _range(await _page(site, role))
    html = await _part(site, role, part, first, last)
    assert f'id="{part}-title"' in html
    assert "<html" not in html  # a fragment, not a page


@pytest.mark.parametrize("role", ["admin", "staff"])
async def test_the_cards_are_the_kpi_reports_totals(site: Site, role: str) -> None:
    first, last = _range(await _page(site, role))
    html = await _part(site, role, "kpis", first, last)
    total = (await _api(site, role, "/v1/reports/kpis", first, last + dt.timedelta(days=1)))[
        "total"
    ]
    assert total["traffic"] > 0
    assert _count(_card(html, "traffic")) == total["traffic"]
    assert _count(_card(html, "effective_traffic")) == total["effective_traffic"]
    if role == "staff":  # fewer than every clinic's
        everyone = await _api(site, "admin", "/v1/reports/kpis", first, last + dt.timedelta(days=1))
        assert total["traffic"] < everyone["total"]["traffic"]


def _trend_rows(html: str) -> dict[dt.date, tuple[int, int, int]]:
    rows = re.findall(
        r'<th scope="row"><time class="nowrap" datetime="([\d-]+)">.*?</th>\s*'
        r'<td class="num">([\d,]+)</td><td class="num">([\d,]+)</td><td class="num">([\d,]+)</td>',
        html,
        re.S,
    )
    return {dt.date.fromisoformat(d): (_count(a), _count(b), _count(c)) for d, a, b, c in rows}


@pytest.mark.parametrize("role", ["admin", "staff"])
async def test_the_trends_are_each_days_reports(site: Site, role: str) -> None:
    first, last = _range(await _page(site, role))
    rows = _trend_rows(await _part(site, role, "trends", first, last))
    assert sorted(rows) == [first + dt.timedelta(days=i) for i in range(30)]
    active = await _api(site, role, "/v1/reports/active", first, last + dt.timedelta(days=1))
    assert {dt.date.fromisoformat(r["date"]): r["dau"] for r in active["rows"]} == {
        day: figures[2] for day, figures in rows.items()
    }
    assert sum(f[0] for f in rows.values()) > 0
    whole = await _api(site, role, "/v1/reports/acquisition", first, last + dt.timedelta(days=1))
    assert sum(f[0] for f in rows.values()) == sum(r["new_customers"] for r in whole["rows"])
    busiest = max(rows, key=lambda day: rows[day][0])
    that_day = await _api(
        site, role, "/v1/reports/acquisition", busiest, busiest + dt.timedelta(days=1)
    )
    new = sum(r["new_customers"] for r in that_day["rows"])
    converted = sum(r["converted"] for r in that_day["rows"])
    assert rows[busiest][:2] == (new, converted)


@pytest.mark.parametrize("role", ["admin", "staff"])
async def test_the_top_sources_are_the_acquisition_reports_first_rows(
    site: Site, role: str
) -> None:
    first, last = _range(await _page(site, role))
    html = await _part(site, role, "sources", first, last)
    shown = re.findall(
        r'<tr data-source="([^"]+)">.*?data-figure="new_customers">([\d,]+)<', html, re.S
    )
    report = await _api(site, role, "/v1/reports/acquisition", first, last + dt.timedelta(days=1))
    expected = [(r["channel"], r["new_customers"]) for r in report["rows"] if r["new_customers"]]
    assert shown and [(c, _count(n)) for c, n in shown] == expected[: len(shown)]
    assert len(shown) == min(5, len(expected))


async def test_a_range_that_cannot_be_read_is_explained(site: Site) -> None:
    answer = await site.clients["admin"].get("/?from=2026-03-10&to=2026-03-01")
    assert answer.status_code == 422 and 'role="alert"' in answer.text
    assert "hx-trigger" not in answer.text
    part = await site.clients["admin"].get("/dashboard/kpis?from=nonsense")
    assert part.status_code == 422 and 'role="alert"' in part.text
    assert (await site.clients["admin"].get("/dashboard/elsewhere")).status_code == 404


async def test_without_javascript_every_part_is_in_the_page(site: Site) -> None:
    html = await _page(site, "admin", "?full=1")
    assert 'data-kpi="traffic"' in html and "data-chart=" in html and "data-source=" in html
    assert "hx-trigger" not in html


async def test_an_open_circuit_and_an_overdue_task_need_attention(site: Site) -> None:
    now = dt.datetime.now(dt.UTC)
    first, last = _range(await _page(site, "admin"))
    template = f"tpl-{uuid.uuid4().hex[:6]}"
    site.store.open_config_circuit(
        ConfigCircuit(
            channel="sms",
            template=template,
            error="template not approved",
            opened_at=now,
            digest="d",
        )
    )
    task_id = f"task-{uuid.uuid4().hex[:8]}"
    site.store.create_task(
        HandoffTask(
            id=task_id,
            enrollment_id=f"enr-{task_id}",
            customer_id="nobody",
            journey_id="school_screening_parents",
            step="call",
            queue="optometrist",
            clinic="c01",
            created_at=now - dt.timedelta(hours=5),
            due_at=now - dt.timedelta(hours=2, minutes=5),
        )
    )
    admin = await _part(site, "admin", "attention", first, last)
    assert 'data-attention="circuit"' in admin and template in admin
    assert 'href="/channels"' in admin
    assert 'data-attention="overdue"' in admin and f'href="/tasks/{task_id}"' in admin
    staff = await _part(site, "staff", "attention", first, last)
    assert f'href="/tasks/{task_id}"' in staff  # c01 is theirs
    assert 'data-attention="circuit"' not in staff  # channels are not staff's
    other = site.store.create_user(
        f"far-{uuid.uuid4().hex[:6]}", PASSWORD, "staff", ["c09"], by="test"
    )
    token, _ = site.store.open_session(other.id, dt.timedelta(hours=1))
    async with httpx.AsyncClient(
        transport=site.transport,
        base_url="https://console.test",
        cookies={"carepath_session": token},
    ) as elsewhere:
        far = await elsewhere.get("/dashboard/attention")
    assert far.status_code == 200 and task_id not in far.text
    site.store.complete_task(task_id, "reached")
    after = await _part(site, "admin", "attention", first, last)
    assert f'href="/tasks/{task_id}"' not in after


async def test_kept_figures_are_shown_until_counted_again(site: Site) -> None:
    first, last = _range(await _page(site, "admin"))
    before = await _part(site, "admin", "kpis", first, last)
    as_of = re.search(r'<p class="as-of muted">(.*?) · <a href="/\?(.*?)">', before)
    assert as_of and "fresh=1" in as_of[2]
    traffic = _count(_card(before, "traffic"))
    # A new customer whose first touch is today joins the range's traffic.
    found = site.store.identify(
        Identities(phone=f"139{uuid.uuid4().int % 10**8:08d}"),
        {"clinic_id": "c01"},
        at=dt.datetime.now(dt.UTC),
    )
    site.store.record_touch(
        found.customer_id,
        NewTouch(at=dt.datetime.now(dt.UTC), kind="utm_visit", fields={"utm_source": "baidu"}),
    )
    kept = await _part(site, "admin", "kpis", first, last)
    assert _count(_card(kept, "traffic")) == traffic  # the kept answer
    assert as_of[1] in kept
    answer = await site.clients["admin"].get(
        "/dashboard/kpis",
        params={"from": first.isoformat(), "to": last.isoformat(), "fresh": "1"},
        headers={"HX-Request": "true"},
    )
    assert _count(_card(answer.text, "traffic")) == traffic + 1
