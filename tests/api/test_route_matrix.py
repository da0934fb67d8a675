"""Every operation of the OpenAPI document, called with every kind of key.

One table below decides, per (method, path), the scope a route needs and what a good
call answers. Each operation is called, in the table's order, with no key, an unknown
key, the ingest key, the sz-01 staff key on bj-01's data, the sz-01 staff key on its own
data, and the admin key (on bj-01's data: admin keys see every clinic). An operation
missing from the table, or an entry naming none, fails: a new route needs a decision.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from api.app import create_app
from engine.settings import Settings
from tests.api.helpers import Api, ClinicData, TwoClinics, two_clinics

pytestmark = pytest.mark.db

Body = Callable[[TwoClinics, ClinicData, int], Any]


@dataclass(frozen=True)
class Rule:
    """What one operation needs and answers."""

    scope: Literal["admin", "staff", "ingest"]
    ok: int = 200  # a good call with the scope (admin on bj-01's data)
    own: int | None = None  # sz-01 staff on its own data, when not ``ok``
    other: int = 404  # sz-01 staff on bj-01's data (staff routes): as if it did not exist
    body: Body | None = None
    params: Callable[[ClinicData], dict[str, str]] | None = None


def _track(w: TwoClinics, c: ClinicData, n: int) -> Any:
    return {"customer": {"customer_id": c.customer}, "event": "x.seen", "message_id": f"mx-{n}"}


def _chat(w: TwoClinics, c: ClinicData, n: int) -> Any:
    line = {"kind": "wecom", "msgid": f"c-{n}", "external_userid": f"wm-{n}"}
    return {"messages": [{**line, "staff_userid": "zhang", "sender": "customer", "text": "hi"}]}


def _const(value: Any) -> Body:
    return lambda w, c, n: value


def _range(c: ClinicData) -> dict[str, str]:
    return {"from": "2026-03-01", "to": "2026-03-08", "clinic_id": c.clinic}


CUSTOMER = "/v1/customers/{customer_id}"
TABLE: dict[tuple[str, str], Rule] = {
    # ingest: what other systems send (ingest keys, and admin)
    ("post", "/v1/track"): Rule("ingest", ok=202, body=_track),
    ("post", "/v1/identify"): Rule(
        "ingest", body=lambda w, c, n: {"customer": {"customer_id": c.customer}}
    ),
    ("post", "/v1/chats"): Rule("ingest", ok=202, body=_chat),
    # customers: staff of the customer's clinic read them and record a PIPL refusal
    ("get", CUSTOMER): Rule("staff"),
    ("get", CUSTOMER + "/identities"): Rule("staff"),
    ("get", CUSTOMER + "/events"): Rule("staff"),
    ("get", CUSTOMER + "/enrollments"): Rule("staff"),
    ("get", CUSTOMER + "/guardians"): Rule("staff"),
    ("get", CUSTOMER + "/touches"): Rule("staff"),
    ("post", CUSTOMER + "/refuse-automated-marketing"): Rule("staff"),
    ("get", "/v1/merges"): Rule("staff", params=lambda c: {"customer": c.customer}),
    # changing customers, consents and links, and the audit trail: admin keys
    ("post", CUSTOMER + "/tags"): Rule("admin", body=_const({"add": ["VIP"]})),
    ("post", CUSTOMER + "/consents"): Rule(
        "admin", body=_const({"purpose": "marketing", "channel": "sms", "granted": True})
    ),
    ("post", CUSTOMER + "/subscribe-consents"): Rule(
        "admin", body=_const({"template_id": "SUB_0001"})
    ),
    ("get", CUSTOMER + "/audit"): Rule("admin"),
    ("post", CUSTOMER + "/guardians"): Rule(
        "admin", body=_const({"identities": {"phone": "13700137999"}, "relation": "father"})
    ),
    ("delete", CUSTOMER + "/guardians/{guardian_id}"): Rule("admin"),
    # handoff tasks: staff of the task's clinic
    ("get", "/v1/handoffs"): Rule("staff", other=403, params=lambda c: {"clinic": c.clinic}),
    ("post", "/v1/handoffs/{task_id}/claim"): Rule("staff"),
    ("post", "/v1/handoffs/{task_id}/complete"): Rule("staff", body=_const({"outcome": "booked"})),
    # journeys, enrollments, segments, QR codes, reports: admin keys
    ("get", "/v1/journeys"): Rule("admin"),
    ("post", "/v1/journeys/deploy"): Rule("admin", body=lambda w, c, n: {"path": str(w.workspace)}),
    ("get", "/v1/journeys/{journey_id}"): Rule("admin"),
    ("get", "/v1/journeys/{journey_id}/steps"): Rule("admin"),
    ("get", "/v1/journeys/{journey_id}/metrics"): Rule(
        "staff", other=200, params=lambda c: {"clinic_id": c.clinic}
    ),
    ("get", "/v1/journeys/{journey_id}/runs"): Rule("admin", ok=404),  # no schedule trigger
    ("post", "/v1/journeys/{journey_id}/enrollments"): Rule(
        "admin", body=lambda w, c, n: {"customer": {"customer_id": c.guardian}}, ok=201
    ),
    ("post", "/v1/journeys/{journey_id}/pause"): Rule("admin"),
    ("post", "/v1/journeys/{journey_id}/resume"): Rule("admin"),
    ("get", "/v1/enrollments/{enrollment_id}"): Rule("admin"),
    ("post", "/v1/enrollments/{enrollment_id}/cancel"): Rule("admin", ok=202),
    ("get", "/v1/segments"): Rule("admin"),
    ("post", "/v1/segments/preview"): Rule("admin", body=_const({"rule": {"tag": "VIP"}})),
    ("get", "/v1/segments/{segment_id}"): Rule("admin"),
    ("get", "/v1/segments/{segment_id}/members"): Rule("admin"),
    ("post", "/v1/qrcodes"): Rule(
        "admin", ok=201, body=lambda w, c, n: {"kind": "wechat", "clinic": c.clinic}
    ),
    ("get", "/v1/qrcodes"): Rule("admin"),
    ("get", "/v1/reports/sources"): Rule("admin"),
    # the outbox of work not yet dispatched: admin keys (operators)
    ("get", "/v1/outbox"): Rule("admin"),
    ("post", "/v1/outbox/{kind}/{item_id}/retry"): Rule("admin", ok=404),  # nothing parked
    ("post", "/v1/outbox/{kind}/{item_id}/discard"): Rule("admin", ok=404),
    # channels: circuits and quota windows (admin keys: operators)
    ("get", "/v1/channels"): Rule("admin"),
    ("post", "/v1/channels/{channel}/reset"): Rule("admin"),
    # costs from ad platforms (admin keys: marketing operators)
    ("post", "/v1/costs"): Rule(
        "admin", body=_const({"rows": [{"date": "2026-03-01", "amount": "120.50"}]})
    ),
    ("get", "/v1/costs"): Rule("admin"),
    # reports: staff keys see their clinics' figures (another clinic's: no customers)
    ("get", "/v1/reports/active"): Rule("staff", other=200, params=lambda c: _range(c)),
    ("post", "/v1/reports/funnel"): Rule(
        "staff",
        other=200,
        body=lambda w, c, n: {
            **_range(c),
            "steps": [{"event": "page.viewed"}, {"event": "x.seen"}],
            "window": "7d",
        },
    ),
    ("get", "/v1/reports/channels"): Rule("staff", other=200, params=lambda c: _range(c)),
    ("get", "/v1/reports/acquisition"): Rule("staff", other=200, params=lambda c: _range(c)),
    ("get", "/v1/reports/kpis"): Rule("staff", other=200, params=lambda c: _range(c)),
    ("get", "/v1/reports/doctors"): Rule("staff", other=200, params=lambda c: _range(c)),
    ("get", "/v1/reports/clinics"): Rule("staff", other=200, params=lambda c: _range(c)),
}

#: Operations outside /v1, each with its own authentication, tested in its own module.
EXCEPTIONS: dict[tuple[str, str], str] = {
    ("get", "/callbacks/wechat"): "WeChat's address check: the token's signature",
    ("post", "/callbacks/wechat"): "WeChat pushes: the token's signature (and AES)",
    ("get", "/callbacks/wecom"): "WeCom's address check: signature and AES",
    ("post", "/callbacks/wecom"): "WeCom pushes: signature and AES",
    ("post", "/callbacks/tencent-sms"): "Tencent SMS receipts: the callback secret",
    ("post", "/callbacks/tencent-sms/replies"): "Tencent SMS replies: the callback secret",
    ("post", "/segment/v1/batch"): "Segment's API: the ingest key as write key (test_segment.py)",
    ("post", "/segment/v1/track"): "Segment's API: the ingest key as write key (test_segment.py)",
    ("post", "/segment/v1/identify"): "Segment's API: the ingest key as write key",
    ("post", "/segment/v1/page"): "Segment's API: the ingest key as write key (test_segment.py)",
    ("get", "/healthz"): "liveness for load balancers: no auth, says nothing",
    ("get", "/readyz"): "readiness for orchestrators: no auth",
}


@pytest.fixture
async def clients(api: Api) -> AsyncIterator[dict[str, httpx.AsyncClient]]:
    """The test's keys on an app whose platform calls reach the simulators."""
    app = create_app(api.store, api.dispatcher, Settings(channels=api.sims.channel_settings()))
    transport = httpx.ASGITransport(app=app)
    keys = {name: getattr(api, name).headers for name in ("admin", "ingest", "staff")}
    keys["anonymous"] = httpx.Headers()
    keys["wrong"] = httpx.Headers({"Authorization": "Bearer cp_not-a-key"})
    made = {
        name: httpx.AsyncClient(transport=transport, base_url="http://carepath.test", headers=h)
        for name, h in keys.items()
    }
    yield made
    for client in made.values():
        await client.aclose()


def operations(document: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in document["paths"].items() for method in item}


async def test_every_operation_has_a_decided_answer(api: Api) -> None:
    found = operations((await api.anonymous.get("/openapi.json")).json())
    versioned = {op for op in found if op[1].startswith("/v1/")}
    assert versioned - set(TABLE) == set(), "add these routes to TABLE"
    assert set(TABLE) - versioned == set(), "these TABLE entries name no route"
    assert found - versioned <= set(EXCEPTIONS), "a route outside /v1 needs a stated reason"


def _url(path: str, world: TwoClinics, c: ClinicData) -> str:
    values = {
        "customer_id": c.customer,
        "task_id": c.task,
        "enrollment_id": c.enrollment,
        "guardian_id": c.guardian,
        "journey_id": "callback",
        "segment_id": "sz_patients",
        "kind": "event",
        "item_id": "999999",
        "channel": "sms",
    }
    return path.format(**values)


def _expected(rule: Rule, who: str) -> int:
    if who in ("anonymous", "wrong"):
        return 401
    if who == "admin":
        return rule.ok
    if who == "ingest":
        return rule.ok if rule.scope == "ingest" else 403
    if rule.scope != "staff":
        return 403
    return rule.other if who == "staff-other" else (rule.own or rule.ok)


async def test_each_key_gets_the_documented_answer_on_every_operation(
    api: Api, tmp_path: Path, clients: dict[str, httpx.AsyncClient]
) -> None:
    world = await two_clinics(api, tmp_path)
    found = operations((await api.anonymous.get("/openapi.json")).json())
    counter = itertools.count(1)
    wrong: list[str] = []
    calls = (
        ("anonymous", world.bj),
        ("wrong", world.bj),
        ("ingest", world.bj),
        ("staff-other", world.bj),
        ("staff-own", world.sz),
        ("admin", world.bj),
    )
    for (method, path), rule in TABLE.items():
        if (method, path) not in found:
            continue  # the test above names it
        for who, data in calls:
            client = clients[who.split("-")[0]]
            response = await client.request(
                method.upper(),
                _url(path, world, data),
                json=rule.body(world, data, next(counter)) if rule.body else None,
                params=rule.params(data) if rule.params else None,
            )
            want = _expected(rule, who)
            if response.status_code != want:
                wrong.append(
                    f"{method.upper()} {path} as {who}: {response.status_code}, "
                    f"expected {want}: {response.text[:200]}"
                )
    assert wrong == [], "\n".join(wrong)
