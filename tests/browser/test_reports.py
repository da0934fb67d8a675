"""报表 in Chromium, on the demo chain: the index, each report's page (its chart drawn by
ECharts, its table's totals the same as the API's ``/v1/reports/<name>`` for the same
filters, for an administrator and a clinic's staff), the CSV export (the API's own
CSV), the staff user's clinic filter, the funnel builder; axe and screenshots."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import (
    STAFF_CLINICS,
    ConsoleServer,
    new_context,
    screenshot,
    sign_in,
)
from tests.browser.report_fixtures import (
    REPORTS,
    Scope,
    api_get,
    api_key,
    api_sum,
    chart_drawn,
    page_range,
    page_totals,
)
from tests.browser.test_accessibility import axe_violations

pytestmark = pytest.mark.browser

USERS: dict[Scope, str] = {"admin": "chen.admin", "staff": "wang.desk"}


async def test_the_index_links_every_report(page: Page) -> None:
    await sign_in(page, "li.ops")
    await page.get_by_role("navigation", name="主导航").get_by_role("link", name="报表").click()

    await expect(page.get_by_role("heading", level=1)).to_have_text("报表")
    links = page.locator(".report-item h2 a")
    await expect(links).to_have_count(len(REPORTS) + 1)
    hrefs = [await links.nth(i).get_attribute("href") for i in range(len(REPORTS) + 1)]
    assert hrefs == [f"/reports/{name}" for name in [*REPORTS, "funnel"]]


@pytest.mark.parametrize("role", ["admin", "staff"])
async def test_active_customers_are_the_apis_per_day(
    page: Page, console: ConsoleServer, role: Scope
) -> None:
    await sign_in(page, USERS[role])
    await page.goto("/reports/active")

    assert await chart_drawn(page)
    answer = await api_get(page, api_key(console, role), "active", await page_range(page))
    rows = page.locator("tbody tr")
    await expect(rows).to_have_count(len(answer["rows"]))
    shown = [
        int((await rows.nth(i).locator('[data-column="dau"]').inner_text()).replace(",", ""))
        for i in range(len(answer["rows"]))
    ]
    assert shown == [r["dau"] for r in answer["rows"]]
    assert sum(shown) > 0


@pytest.mark.parametrize("role", ["admin", "staff"])
@pytest.mark.parametrize("name", ["acquisition", "channels", "doctors", "clinics"])
async def test_the_tables_totals_are_the_apis(
    page: Page, console: ConsoleServer, role: Scope, name: str
) -> None:
    await sign_in(page, USERS[role])
    await page.goto(f"/reports/{name}")

    assert await chart_drawn(page)
    answer = await api_get(page, api_key(console, role), name, await page_range(page))
    rows = answer["rows"]
    totals = await page_totals(page)
    assert totals, "the page shows a total row"
    for key, shown in totals.items():
        if key == "skipped_total":
            expected = sum((Decimal(sum(r["skipped"].values())) for r in rows), Decimal(0))
        else:
            expected = api_sum(rows, key)
        assert shown == expected, (name, key)
    assert any(v > 0 for v in totals.values())
    await expect(page.locator("tbody tr")).to_have_count(len(rows))


async def test_acquisition_groups_and_windows_as_the_api_does(
    page: Page, console: ConsoleServer
) -> None:
    await sign_in(page, "chen.admin")
    await page.goto("/reports/acquisition")
    await page.get_by_label("utm_source").check()
    await page.locator("#window").fill("30d")
    async with page.expect_navigation():
        await page.get_by_role("button", name="查询").click()
    assert "by=utm_source" in page.url and "window=30d" in page.url

    params = {**await page_range(page), "by": ["channel", "utm_source"], "window": "30d"}
    answer = await api_get(page, api_key(console, "admin"), "acquisition", params)
    await expect(page.locator("thead th")).to_contain_text(["渠道", "utm_source"])
    totals = await page_totals(page)
    assert totals["converted"] == api_sum(answer["rows"], "converted")
    assert totals["cost"] == api_sum(answer["rows"], "cost")
    await expect(page.locator("tbody tr")).to_have_count(len(answer["rows"]))


async def test_a_bad_window_is_explained(page: Page) -> None:
    await sign_in(page, "chen.admin")
    await page.goto("/reports/acquisition?window=forever")
    await expect(page.get_by_role("alert")).to_contain_text("转化窗口")
    await expect(page.locator("table")).to_have_count(0)


@pytest.mark.parametrize("role", ["admin", "staff"])
@pytest.mark.parametrize("name", REPORTS)
async def test_the_csv_is_the_apis(
    page: Page, console: ConsoleServer, role: Scope, name: str
) -> None:
    await sign_in(page, USERS[role])
    await page.goto(f"/reports/{name}")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="下载 CSV").click()
    download = await downloading.value
    path = await download.path()
    got = path.read_bytes().decode("utf-8")

    expected = await api_get(page, api_key(console, role), name, await page_range(page), csv=True)
    assert got == expected
    assert got.startswith("\ufeff") and got.count("\n") > 1


async def test_staff_choose_only_among_their_clinics(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, "wang.desk")
    await page.goto("/reports/clinics")
    options = page.locator("#clinic_id option")
    values = [await options.nth(i).get_attribute("value") for i in range(await options.count())]
    assert values == ["", *STAFF_CLINICS]
    shown = page.locator("tbody th")
    assert set(await shown.all_inner_texts()) <= set(STAFF_CLINICS)

    # Another clinic in the URL counts nothing, as for a staff key.
    await page.goto("/reports/clinics?clinic_id=c05")
    await expect(page.locator("tfoot")).to_have_count(0)


async def test_an_administrator_narrows_to_one_clinic(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, "chen.admin")
    await page.goto("/reports/doctors")
    await page.locator("#clinic_id").select_option("c01")
    async with page.expect_navigation():
        await page.get_by_role("button", name="查询").click()
    params = {**await page_range(page), "clinic_id": "c01"}
    answer = await api_get(page, api_key(console, "admin"), "doctors", params)
    totals = await page_totals(page)
    assert totals["bookings"] == api_sum(answer["rows"], "bookings")


@pytest.mark.parametrize("width", [1280, 375])
async def test_axe_and_screenshots(browser: Browser, console: ConsoleServer, width: int) -> None:
    console.forget_failed_sign_ins()
    context = await new_context(
        browser, console, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    page = await context.new_page()
    try:
        await sign_in(page, "wang.desk")
        for name in ["", *REPORTS, "funnel"]:
            if name == "funnel":
                await run_funnel(page, "page.viewed", "appointment.booked")
            else:
                await page.goto(f"/reports/{name}".rstrip("/"))
            if name:
                await chart_drawn(page)
            assert await axe_violations(page) == [], name
            wide = await page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{name or 'reports'} is {wide} px wide at {width} px"
            await screenshot(page, name or "reports")
    finally:
        await context.close()


async def run_funnel(page: Page, first: str, second: str) -> None:
    """Fill in the builder's first two steps and count the funnel."""
    await page.goto("/reports/funnel")
    await page.locator("#event_0").select_option(first)
    await page.locator("#event_1").select_option(second)
    await page.locator("#window").fill("30d")
    async with page.expect_navigation():
        await page.get_by_role("button", name="计算漏斗").click()


@pytest.mark.parametrize("role", ["admin", "staff"])
async def test_the_funnel_builder_counts_a_two_step_funnel(
    page: Page, console: ConsoleServer, role: Scope
) -> None:
    await sign_in(page, USERS[role])
    await run_funnel(page, "content.viewed", "appointment.booked")

    assert await chart_drawn(page)
    body = {
        **await page_range(page),
        "steps": [{"event": "content.viewed"}, {"event": "appointment.booked"}],
        "window": "30d",
    }
    answer = await page.request.post(
        "/v1/reports/funnel",
        data=body,
        headers={"Authorization": f"Bearer {api_key(console, role)}"},
    )
    assert answer.status == 200, await answer.text()
    expected = [s["customers"] for s in (await answer.json())["steps"]]
    cells = page.locator("#funnel-all").locator("xpath=..").locator('[data-column="customers"]')
    shown = [int(v) for v in await cells.evaluate_all("cs => cs.map(c => c.dataset.value)")]
    assert shown == expected
    assert expected[0] > 0


async def test_the_funnel_builder_shows_the_requests_errors(page: Page) -> None:
    await sign_in(page, "chen.admin")
    await page.goto("/reports/funnel")
    await page.locator("#event_1").select_option("")
    await page.locator("#window").fill("1000d")
    await page.get_by_role("button", name="计算漏斗").click()

    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("无法计算该漏斗")
    await expect(alert).to_contain_text("steps")
    await expect(alert).to_contain_text("window")
    await expect(page.locator("#chart")).to_have_count(0)


async def test_the_funnels_csv_is_the_apis(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, "wang.desk")
    await run_funnel(page, "content.viewed", "appointment.booked")
    async with page.expect_download() as downloading:
        await page.get_by_role("button", name="下载 CSV").click()
    got = (await (await downloading.value).path()).read_bytes().decode("utf-8")

    body = {
        **await page_range(page),
        "steps": [{"event": "content.viewed"}, {"event": "appointment.booked"}],
        "window": "30d",
    }
    answer = await page.request.post(
        "/v1/reports/funnel?format=csv",
        data=body,
        headers={"Authorization": f"Bearer {api_key(console, 'staff')}"},
    )
    assert answer.status == 200
    assert got == await answer.text()
    assert got.count("\n") == 3  # the header and the two steps


async def test_a_kept_answer_says_when_it_was_counted_and_can_be_counted_again(
    page: Page, console: ConsoleServer
) -> None:
    await sign_in(page, "chen.admin")
    await page.goto("/reports/channels")
    as_of = page.locator(".as-of")
    await expect(as_of).to_have_text(re.compile(r"^数据更新于 \d\d:\d\d:\d\d$"))
    first = await as_of.inner_text()
    totals = await page_totals(page)
    await page.goto("/reports/channels")  # again within two minutes: the kept answer
    await expect(as_of).to_have_text(first)
    await page.get_by_role("link", name="立即重新统计").click()
    await expect(page).to_have_url(re.compile(r"fresh=1"))
    assert await page_totals(page) == totals
    csv = await page.get_by_role("link", name="下载 CSV").get_attribute("href")
    assert csv is not None and "fresh" not in csv


@pytest.mark.parametrize("role", ["admin", "staff"])
async def test_the_key_figures_total_is_the_apis(
    page: Page, console: ConsoleServer, role: Scope
) -> None:
    await sign_in(page, USERS[role])
    await page.goto("/reports/kpis?by=channel")
    assert await chart_drawn(page)
    params = {**await page_range(page), "by": ["channel"]}
    answer = await api_get(page, api_key(console, role), "kpis", params)
    await expect(page.locator("tbody tr")).to_have_count(len(answer["rows"]))
    totals = await page_totals(page)
    expected = answer["total"]
    assert totals["traffic"] == expected["traffic"] > 0
    assert totals["sales"] == Decimal(str(expected["sales"]))
    for key in ("conversion_rate", "spread_rate"):
        if expected[key] is not None:
            assert totals[key] == Decimal(str(expected[key]))


async def test_a_page_answers_before_its_figures_and_they_follow(
    page: Page, console: ConsoleServer
) -> None:
    """A report not counted a moment ago: the page comes with its filters and a
    "counting" line at once, and htmx puts the figures in its place."""
    await sign_in(page, "chen.admin")
    asked = "/reports/doctors?from=2026-01-01&to=2026-01-31&clinic_id=c01"
    shell = await page.request.get(asked)
    body = await shell.text()
    assert shell.status == 200 and "统计中…" in body and "<table" not in body
    assert 'hx-get="/reports/doctors/figures?' in body
    await page.goto(asked)
    await expect(page.locator("#figures table.report-table")).to_have_count(1)
    await expect(page.locator("#figures[aria-busy]")).to_have_count(0)
    await expect(page.locator(".as-of")).to_have_text(re.compile(r"^数据更新于"))


async def test_without_javascript_the_figures_are_counted_in_the_page(
    browser: Browser, console: ConsoleServer
) -> None:
    context = await new_context(browser, console, java_script_enabled=False)
    page = await context.new_page()
    try:
        await sign_in(page, "chen.admin")
        await page.goto("/reports/clinics?from=2026-02-01&to=2026-02-28")
        await expect(page.locator("table.report-table")).to_have_count(0)
        await page.get_by_role("link", name="在本页显示数据（无需 JavaScript）").click()
        await expect(page).to_have_url(re.compile(r"full=1"))
        await expect(page.locator("table.report-table")).to_have_count(1)
        # The filter form keeps counting in the page.
        await page.get_by_role("button", name="查询").click()
        await expect(page).to_have_url(re.compile(r"full=1"))
        await expect(page.locator("table.report-table")).to_have_count(1)
    finally:
        await context.close()


async def test_a_bad_window_is_refused_before_anything_is_counted(page: Page) -> None:
    await sign_in(page, "chen.admin")
    answer = await page.request.get("/reports/kpis?window=0h")
    assert answer.status == 422
    body = await answer.text()
    assert "转化窗口" in body and "hx-get" not in body
