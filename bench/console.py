"""The console's pages on the report benchmark's population: each page's server time.

    python -m bench.console [--rounds 20] [--database-url URL | --use URL]

The app is the API process's own (``api.app.create_app`` over the kept population of
``bench.reports``, 100,000 demo customers, and a dispatcher over Temporal's test
server), called in-process through httpx's ASGI transport, so a page's time is the
server's: routing, the session, the services, the templates; no network, no browser.
An admin and a staff user of one clinic (``bench-admin``, ``bench-staff-<clinic>``, created
once in that database) each ask every page ``--rounds`` times, alternating with the
``/v1`` call that answers the same question where there is one (the yardstick: the
page's time over the API's is what the page itself adds). Printed per page: p50 and
p95 of the page, p50 of its yardstick, and the ratio of the medians; the target is a
p95 of 300 ms.

A report page answers with its filters, and htmx then asks for its figures
(``/reports/<name>/figures``), which count the report: both are measured. Parts drawn
from a report keep its answer for two minutes (``api.console.report_cache``): each of
them is measured twice, "counted" (every round asks ``fresh=1``, so the report
is computed every time, what the first visitor of a scope waits) and "kept" (what
everyone after them waits). Pages only admins and operators see are measured for the
admin only.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import time
from dataclasses import dataclass

import httpx
from sqlalchemy import text

from api.app import create_app
from bench.measure import machine, percentile
from bench.report_population import ANCHOR, kept_population
from cli.simulation import start_test_server
from engine.dispatch.dispatcher import Dispatcher
from engine.errors import NotFound
from engine.settings import Settings
from engine.store.sql import SqlStore

TARGET_MS = 300.0
JOURNEY = "school_screening_parents"
PASSWORD = "bench-console-password"  # noqa: S105 - a benchmark's own throwaway users


@dataclass(frozen=True)
class Page:
    """A page, and the API call that answers the same question (None: no yardstick)."""

    name: str
    path: str
    api: str | None = None
    #: drawn from a report whose answer is kept (measured counted and kept)
    kept: bool = False
    #: only admins and operators may open it
    admin_only: bool = False


def _pages(customer: str, phone: str, clinic: str, name: str, enrollment: str) -> list[Page]:
    start, end = ANCHOR - dt.timedelta(days=30), ANCHOR - dt.timedelta(days=1)
    days = f"from={start}&to={end}"  # the console's "to" is the last day, the API's the end
    api = f"from={start}&to={ANCHOR}"
    return [
        # The page answers with its filters; htmx then loads each part on its own.
        Page("看板 (dashboard)", f"/?{days}"),
        Page("看板, one clinic", f"/?{days}&clinic_id={clinic}"),
        Page("看板 key figures", f"/dashboard/kpis?{days}", f"/v1/reports/kpis?{api}", True),
        Page("看板 trends", f"/dashboard/trends?{days}", f"/v1/reports/active?{api}", True),
        Page(
            "看板 top sources",
            f"/dashboard/sources?{days}",
            f"/v1/reports/acquisition?{api}",
            True,
        ),
        Page("看板 needs attention", "/dashboard/attention", "/v1/handoffs"),
        Page("旅程 (journeys)", "/journeys", "/v1/journeys"),
        Page("journey diagram", f"/journeys/{JOURNEY}", f"/v1/journeys/{JOURNEY}/metrics"),
        Page("journey figures (poll)", f"/journeys/{JOURNEY}/figures"),
        Page("journey versions", f"/journeys/{JOURNEY}/versions", f"/v1/journeys/{JOURNEY}"),
        Page("journey enrollments", f"/journeys/{JOURNEY}/enrollments"),
        Page(
            "enrollment timeline",
            f"/journeys/{JOURNEY}/enrollments/{enrollment}",
            f"/v1/enrollments/{enrollment}",
        ),
        Page("客户 search by phone", f"/customers?q={phone}"),
        Page("客户 search by name", f"/customers?q={name}"),
        Page("customer profile", f"/customers/{customer}", f"/v1/customers/{customer}"),
        Page("工作台 (tasks)", "/tasks", "/v1/handoffs"),
        Page("分群 (segments)", "/segments", "/v1/segments", admin_only=True),
        Page("渠道 (channels)", "/channels", "/v1/channels", admin_only=True),
        Page("工作区 (workspace)", "/workspace", admin_only=True),
        *(
            page
            for report, extra in (
                ("active", ""),
                ("acquisition", "&by=utm_source"),
                ("kpis", "&by=channel"),
                ("channels", ""),
                ("doctors", ""),
                ("clinics", ""),
            )
            for page in (
                # The page answers with its filters (and the figures when they are kept);
                # htmx then asks for the figures, which count the report.
                Page(f"报表 {report}", f"/reports/{report}?{days}{extra}"),
                Page(
                    f"报表 {report} figures",
                    f"/reports/{report}/figures?{days}{extra}",
                    f"/v1/reports/{report}?{api}{extra}",
                    True,
                ),
            )
        ),
    ]


def _sample(store: SqlStore) -> tuple[str, str, str, str, str]:
    """A customer with a phone and a clinic, the first character of their name (a
    surname: many customers), and an enrollment of the journey, from the population."""
    with store._db.engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT c.id, i.value, c.attributes FROM customers c "
                "JOIN identities i ON i.customer_id = c.id AND i.kind = 'phone' "
                "WHERE c.merged_into IS NULL ORDER BY c.id LIMIT 1"
            )
        ).one()
        enrollment = conn.execute(
            text("SELECT id FROM enrollments WHERE journey_id = :j ORDER BY id LIMIT 1"),
            {"j": JOURNEY},
        ).scalar_one()
    attributes = row[2] if isinstance(row[2], dict) else json.loads(row[2] or "{}")
    surname = str(attributes.get("name") or "张")[:1]
    clinic = str(attributes.get("clinic_id", "c01"))
    return str(row[0]), str(row[1]), clinic, surname, str(enrollment)


def _user(store: SqlStore, username: str, role: str, clinics: list[str]) -> str:
    """A session token for the user (created once in this database)."""
    try:
        user = store.get_user(username)
    except NotFound:
        user = store.create_user(username, PASSWORD, role, clinics, by="bench")  # type: ignore[arg-type]
    token, _ = store.open_session(user.id, dt.timedelta(hours=1))
    return token


async def _time(client: httpx.AsyncClient, path: str, headers: dict[str, str]) -> float | None:
    """Milliseconds to answer ``path``; None when the caller may not ask it (403)."""
    started = time.perf_counter()
    answer = await client.get(path, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code == 403:
        return None
    if answer.status_code != 200:
        raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
    return elapsed


async def _measure(url: str, rounds: int, only: list[str] | None = None) -> None:
    store = SqlStore(url)
    env = await start_test_server()
    try:
        customer, phone, clinic, surname, enrollment = _sample(store)
        _, key = store.create_api_key("bench-console", ["admin"], [], at=dt.datetime.now(dt.UTC))
        _, staff_key = store.create_api_key(
            "bench-console-staff", ["staff"], [clinic], at=dt.datetime.now(dt.UTC)
        )
        tokens = {
            "admin": (_user(store, "bench-admin", "admin", []), key),
            "staff": (_user(store, f"bench-staff-{clinic}", "staff", [clinic]), staff_key),
        }
        app = create_app(store, Dispatcher(env.client, store, "bench-console"), Settings())
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
            print(f"{'page':<34} {'who':<6} {'p50':>8} {'p95':>8} {'api p50':>8} {'ratio':>6}")
            for page in _pages(customer, phone, clinic, surname, enrollment):
                if only and not any(part in page.name for part in only):
                    continue
                for who, (token, api_key) in tokens.items():
                    if page.admin_only and who != "admin":
                        continue
                    if page.kept:
                        counted = f"{page.path}{'&' if '?' in page.path else '?'}fresh=1"
                        await _one(client, page, who, token, api_key, rounds, counted, "counted")
                        await _one(client, page, who, token, api_key, rounds, page.path, "kept")
                    else:
                        await _one(client, page, who, token, api_key, rounds, page.path)
    finally:
        store.close()
        await env.shutdown()


async def _one(
    client: httpx.AsyncClient,
    page: Page,
    who: str,
    token: str,
    api_key: str,
    rounds: int,
    path: str,
    how: str = "",
) -> None:
    cookie = {"cookie": f"carepath_session={token}"}
    bearer = {"authorization": f"Bearer {api_key}"}
    mine: list[float] = []
    theirs: list[float] = []
    await _time(client, path, cookie)  # warm
    for _ in range(rounds):
        took = await _time(client, path, cookie)
        if took is None:
            raise SystemExit(f"{path}: refused to {who}")
        mine.append(took)
        if page.api is not None and (api_took := await _time(client, page.api, bearer)):
            theirs.append(api_took)
    p50, p95 = percentile(mine, 50), percentile(mine, 95)
    api = percentile(theirs, 50) if theirs else None
    ratio = f"{p50 / api:6.2f}" if api else "     -"
    api_text = f"{api:8.1f}" if api is not None else "       -"
    miss = "  misses p95 > 300 ms" if p95 > TARGET_MS else ""
    name = f"{page.name} ({how})" if how else page.name
    print(f"{name:<34} {who:<6} {p50:8.1f} {p95:8.1f} {api_text} {ratio}{miss}", flush=True)


def main(args: argparse.Namespace) -> None:
    print(f"bench.console; {machine()}", flush=True)
    url = args.use or kept_population(
        args.customers, args.seed, args.enrollments, args.database_url, False
    )
    asyncio.run(_measure(url, args.rounds, args.only))
    print(f"{machine()} at the end")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--enrollments", type=int, default=100_000)
    parser.add_argument("--database-url", default=None, help="PostgreSQL (a kept schema)")
    parser.add_argument("--use", default=None, help="any migrated database with demo data")
    parser.add_argument(
        "--only",
        type=lambda s: s.split(","),
        default=None,
        help="pages whose name contains one of these (comma-separated), e.g. journey",
    )
    return parser


if __name__ == "__main__":
    main(_parser().parse_args())
