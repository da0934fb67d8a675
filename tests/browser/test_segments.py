"""分群 in Chromium, on the demo chain: the list shows the demo's deployed segments with
the sizes the API answers, a segment's page its rule and members (each a link to the
customer), an admin's CSV export is the API's file, operators see no export and staff
are refused; axe and screenshots at 1280 and 375 px."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import ConsoleServer, sign_in
from tests.browser.test_accessibility import WIDTHS, check, open_page

pytestmark = pytest.mark.browser


async def api(page: Page, console: ConsoleServer, path: str) -> Any:
    """``GET /v1<path>`` with a new admin key: the response, checked to be 200."""
    at = dt.datetime.now(dt.UTC)
    _, secret = console.store.create_api_key(f"seg-{uuid.uuid4().hex[:6]}", ["admin"], [], at=at)
    answer = await page.request.get(f"/v1{path}", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200, await answer.text()
    return answer


async def largest(page: Page, console: ConsoleServer) -> dict[str, Any]:
    """The demo's segment with the most members now (as the API says)."""
    segments = await (await api(page, console, "/segments")).json()
    assert segments, "the demo deploys the example workspace's segments"
    return dict(max(segments, key=lambda s: s["size"]))


async def test_the_list_shows_the_demos_segments_with_the_apis_sizes(
    page: Page, console: ConsoleServer
) -> None:
    await sign_in(page, "li.ops")
    await page.get_by_role("link", name="分群", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/segments$"))
    segments = await (await api(page, console, "/segments")).json()
    rows = page.locator("table.segment-table tbody tr")
    await expect(rows).to_have_count(len(segments))
    for segment in segments:
        row = page.locator(f"tr[data-segment='{segment['id']}']")
        await expect(row.get_by_role("link", name=segment["name"] or segment["id"])).to_be_visible()
        await expect(row.locator("td.number")).to_have_text(f"{segment['size']:,}")


async def test_a_segment_shows_its_rule_and_members_linking_to_customers(
    page: Page, console: ConsoleServer
) -> None:
    await sign_in(page, "li.ops")
    segment = await largest(page, console)
    assert segment["size"] > 0
    await page.goto("/segments")
    await page.get_by_role("link", name=segment["name"] or segment["id"]).click()
    await expect(page.locator(".segment-size")).to_have_text(f"{segment['size']:,}")
    await expect(page.locator("pre.segment-rule")).not_to_be_empty()
    members = await (await api(page, console, f"/segments/{segment['id']}/members?limit=50")).json()
    links = page.locator("table.segment-members tbody a")
    await expect(links).to_have_text([m["customer_id"] for m in members["members"]])
    await expect(page.get_by_role("link", name="导出 CSV")).to_have_count(0)  # operators
    if members["next_cursor"]:
        await page.get_by_role("link", name="下一页").click()
        await expect(page).to_have_url(re.compile(r"cursor="))
        await expect(links.first).not_to_have_text(members["members"][0]["customer_id"])
        await page.get_by_role("link", name="第一页").click()
    first = members["members"][0]["customer_id"]
    await links.first.click()
    await expect(page).to_have_url(re.compile(f"/customers/{first}$"))


async def test_an_admin_exports_the_apis_csv_and_an_operator_is_refused(
    page: Page, console: ConsoleServer
) -> None:
    await sign_in(page, "chen.admin")
    segment = await largest(page, console)
    await page.goto(f"/segments/{segment['id']}")
    async with page.expect_download() as downloading:
        await page.get_by_role("link", name="导出 CSV").click()
    download = await downloading.value
    got = (await download.path()).read_bytes()
    expected = await (
        await api(page, console, f"/segments/{segment['id']}/members?format=csv")
    ).body()
    assert got == expected and got.count(b"\n") == segment["size"] + 1
    changes = console.store.list_changes(actions=["segment.exported"], subject_id=segment["id"])
    assert changes[0].actor == "console:chen.admin"

    await page.context.clear_cookies()
    await sign_in(page, "li.ops")
    refused = await page.goto(f"/segments/{segment['id']}/export")
    assert refused is not None and refused.status == 403
    await expect(page.get_by_role("heading", name="无权操作")).to_be_visible()


async def test_staff_are_refused(page: Page) -> None:
    await sign_in(page, "wang.desk")
    await expect(page.get_by_role("link", name="分群", exact=True)).to_have_count(0)
    refused = await page.goto("/segments")
    assert refused is not None and refused.status == 403
    await expect(page.get_by_role("heading", name="无权操作")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_segment_pages_pass_axe(browser: Any, console: ConsoleServer, width: int) -> None:
    page = await open_page(browser, console, width)
    try:
        await sign_in(page, "chen.admin")
        await page.goto("/segments")
        await page.locator("table.segment-table").wait_for()
        await check(page, "segments", width)
        segment = await largest(page, console)
        await page.goto(f"/segments/{segment['id']}")
        await page.locator("table.segment-members").wait_for()
        await check(page, "segment", width)
    finally:
        await page.context.close()
