"""看板 in Chromium, on the demo chain: the seed KPIs as cards, the same numbers the
API's ``GET /v1/reports/kpis`` answers, the trends drawn and the top sources listed
(each part loaded by htmx on its own), the filters with htmx and without JavaScript,
axe at both widths, and the English switch."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Browser, Page, expect

from tests.browser.conftest import STAFF_CLINICS, ConsoleServer, new_context, sign_in
from tests.browser.test_accessibility import WIDTHS, check, open_page

pytestmark = pytest.mark.browser

LABELS_ZH = ["流量", "转化率", "有效流量", "客单价", "销售额", "传播率", "流量成本"]
LABELS_EN = [
    "Traffic",
    "Conversion rate",
    "Effective traffic",
    "Average order value",
    "Sales",
    "Spread rate",
    "Traffic cost",
]


async def figure(page: Page, kpi: str) -> str:
    return (await page.locator(f'[data-kpi="{kpi}"] .card-value').inner_text()).strip()


async def traffic(page: Page) -> int:
    return int((await figure(page, "traffic")).replace(",", ""))


async def api_total(
    page: Page, console: ConsoleServer, scopes: list[str], clinics: list[str]
) -> dict[str, Any]:
    """The total row ``GET /v1/reports/kpis`` answers for the dashboard's range."""
    first = dt.date.fromisoformat(await page.locator("#from").input_value())
    last = dt.date.fromisoformat(await page.locator("#to").input_value())
    at = dt.datetime.now(dt.UTC)
    _, secret = console.store.create_api_key(f"kpis-{uuid.uuid4().hex[:6]}", scopes, clinics, at=at)
    answer = await page.request.get(
        "/v1/reports/kpis",
        params={"from": first.isoformat(), "to": (last + dt.timedelta(days=1)).isoformat()},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status == 200
    total: dict[str, Any] = (await answer.json())["total"]
    return total


async def test_the_cards_show_the_seed_kpis_of_the_last_30_days(
    page: Page, console: ConsoleServer
) -> None:
    await sign_in(page, "chen.admin")

    await expect(page.locator(".card-title")).to_have_text(LABELS_ZH)
    today = dt.date.fromisoformat(await page.locator("#to").input_value())
    first = dt.date.fromisoformat(await page.locator("#from").input_value())
    assert (today - first).days == 29
    expected = await api_total(page, console, ["admin"], [])
    assert expected["traffic"] > 0
    assert await traffic(page) == expected["traffic"]
    assert re.fullmatch(r"¥[\d,]+\.\d\d", await figure(page, "sales"))
    assert re.fullmatch(r"\d+\.\d\d%", await figure(page, "conversion_rate"))
    assert await figure(page, "conversion_rate") == f"{expected['conversion_rate']:.2%}"
    changes = page.locator(".card-change")
    await expect(changes.first).to_contain_text(re.compile(r"较上一期间 [+-]\d|无法比较"))


async def test_staff_see_only_their_clinics_numbers(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, "wang.desk")

    expected = await api_total(page, console, ["staff"], STAFF_CLINICS)
    everyone = await api_total(page, console, ["admin"], [])
    assert await traffic(page) == expected["traffic"] < everyone["traffic"]
    # Asking for another clinic in the URL counts nothing, as a staff key would.
    first, last = await page.locator("#from").input_value(), await page.locator("#to").input_value()
    await page.goto(f"/?from={first}&to={last}&clinic_id=c05")
    assert await traffic(page) == 0


async def test_the_date_filter_swaps_the_cards_without_a_reload(
    page: Page, console: ConsoleServer
) -> None:
    await sign_in(page, "chen.admin")
    last_30 = await traffic(page)
    await page.evaluate("window.stayedOnThePage = true")
    today = dt.date.fromisoformat(await page.locator("#to").input_value())
    first = (today - dt.timedelta(days=89)).isoformat()

    await page.locator("#from").fill(first)
    async with page.expect_response(
        lambda r: "from=" in r.url and r.request.headers.get("hx-request") == "true"
    ) as swapped:
        await page.get_by_role("button", name="查询").click()
    assert (await swapped.value).status == 200

    await expect(page.locator("#kpis-title")).to_contain_text(first)
    assert await traffic(page) > last_30
    assert await page.evaluate("window.stayedOnThePage === true")  # no navigation
    assert f"from={first}" in page.url  # the URL follows (hx-push-url)


async def test_the_filters_work_without_javascript(
    browser: Browser, console: ConsoleServer
) -> None:
    console.forget_failed_sign_ins()
    context = await new_context(browser, console, java_script_enabled=False)
    page = await context.new_page()
    try:
        await sign_in(page, "chen.admin")
        # Without JavaScript the parts cannot load themselves: a link draws them all.
        await expect(page.locator(".card")).to_have_count(0)
        await page.get_by_role("link", name="在本页显示全部数据（无需 JavaScript）").click()
        last_30 = await traffic(page)
        await expect(page.locator(".trend-days tbody tr")).to_have_count(30)
        today = dt.date.fromisoformat(await page.locator("#to").input_value())
        first = (today - dt.timedelta(days=89)).isoformat()
        await page.locator("#from").fill(first)
        await page.locator("#clinic_id").select_option("c01")
        async with page.expect_navigation():
            await page.get_by_role("button", name="查询").click()
        assert f"from={first}" in page.url and "clinic_id=c01" in page.url
        await expect(page.locator("#kpis-title")).to_contain_text(first)
        await expect(page.locator("#clinic_id")).to_have_value("c01")
        assert "full=1" in page.url  # the form keeps drawing every part
        assert await traffic(page) != last_30
    finally:
        await context.close()


async def test_a_range_that_ends_before_it_begins_is_explained(page: Page) -> None:
    await sign_in(page, "chen.admin")
    await page.goto("/?from=2026-03-10&to=2026-03-01")
    await expect(page.get_by_role("alert")).to_contain_text("结束日期早于开始日期")
    await expect(page.locator(".card")).to_have_count(0)


async def test_the_english_switch_shows_english_labels(page: Page, console: ConsoleServer) -> None:
    await sign_in(page, "li.ops")
    await page.get_by_role("link", name="English").click()

    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    await expect(page.locator(".card-title")).to_have_text(LABELS_EN)
    await expect(page.get_by_role("banner").locator(".role")).to_have_text("Operator")
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    await page.reload()  # the choice is remembered (the lang cookie)
    await expect(page.get_by_role("heading", level=1)).to_have_text("Dashboard")
    refused = await page.request.post("/logout")
    assert refused.status == 403 and "This request was refused" in await refused.text()

    await page.get_by_role("link", name="中文").click()
    await expect(page.get_by_role("heading", level=1)).to_have_text("看板")


async def test_an_english_browser_gets_english_pages(
    browser: Browser, console: ConsoleServer
) -> None:
    context = await new_context(browser, console, locale="en-US")
    page = await context.new_page()
    try:
        await page.goto("/login")
        await expect(page.locator("html")).to_have_attribute("lang", "en")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to carepath")
    finally:
        await context.close()


async def test_the_trends_are_drawn_and_the_top_sources_listed(
    page: Page, console: ConsoleServer
) -> None:
    await sign_in(page, "chen.admin")

    charts = page.locator('.trend-chart[data-drawn="true"]')
    await expect(charts).to_have_count(3)
    await expect(page.locator(".trend-chart canvas")).to_have_count(3)
    days = page.locator(".trend-days tbody tr")
    await expect(days).to_have_count(30)
    summary = page.locator('[data-trend="new_customers"] .trend-summary')
    await expect(summary).to_contain_text(re.compile(r"期间合计 [\d,]+"))
    # The new customers of the days add up to the cards' traffic (both the reports').
    cells = await page.locator(".trend-days tbody tr td:nth-child(2)").all_text_contents()
    assert sum(int(c.replace(",", "")) for c in cells) == await traffic(page) > 0

    sources = page.locator("#sources tbody tr")
    await expect(sources.first).to_be_visible()
    assert 1 <= await sources.count() <= 5
    listed = [
        int(n.replace(",", ""))
        for n in await page.locator('#sources [data-figure="new_customers"]').all_inner_texts()
    ]
    assert listed == sorted(listed, reverse=True) and listed[0] > 0
    await expect(page.locator("#attention-title")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_whole_dashboard_passes_axe(
    browser: Browser, console: ConsoleServer, width: int
) -> None:
    page = await open_page(browser, console, width)
    try:
        await sign_in(page, "chen.admin")
        await expect(page.locator('.trend-chart[data-drawn="true"]')).to_have_count(3)
        await expect(page.locator("#sources tbody tr").first).to_be_visible()
        await expect(page.locator("#attention .loading")).to_have_count(0)
        await page.locator(".trend-days summary").click()  # the table open, checked too
        await check(page, "dashboard-admin", width)
    finally:
        await page.context.close()
