"""客户 in Chromium, on the demo chain: searching by phone and by id, the profile's
sections, tags added and removed (the ``/v1`` API agrees), what staff may see (their
clinics only, phones masked, no changes but a refusal), axe and screenshots."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, Page, expect

from engine.store.records import Identities
from tests.browser.conftest import ConsoleServer, new_context, sign_in
from tests.browser.customer_fixtures import (
    DemoCustomer,
    api_get,
    other_customer,
    staff_customer,
)
from tests.browser.test_accessibility import WIDTHS, check, open_page

pytestmark = pytest.mark.browser
__all__ = ["other_customer", "staff_customer"]  # fixtures used by name

SECTIONS_ZH = ["身份标识", "属性", "标签", "同意记录", "监护人", "来源与触点", "事件", "旅程参与"]


async def search_for(page: Page, text: str) -> None:
    await page.goto("/customers")
    await page.get_by_label("手机号、姓名或客户 ID").fill(text)
    async with page.expect_navigation():
        await page.get_by_role("button", name="搜索", exact=True).click()


async def test_search_finds_a_customer_by_phone_and_by_id(
    page: Page, staff_customer: DemoCustomer
) -> None:
    await sign_in(page, "chen.admin")
    await search_for(page, staff_customer.national)
    rows = page.locator("table.data tbody tr")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(staff_customer.id)
    await expect(rows.first).to_contain_text(staff_customer.national)  # admins: in full

    await search_for(page, staff_customer.id)
    await expect(rows).to_have_count(1)
    await rows.first.get_by_role("link", name=staff_customer.id).click()
    await expect(page).to_have_url(
        f"{page.url.split('/customers')[0]}/customers/{staff_customer.id}"
    )

    await search_for(page, "13000000000")
    await expect(page.get_by_role("status")).to_contain_text("未找到客户")


async def test_search_by_the_beginning_of_a_name_keeps_to_the_users_clinics(
    page: Page, console: ConsoleServer
) -> None:
    surname = f"欧阳{uuid.uuid4().hex[:4]}"
    at = datetime.now(UTC)
    mine = console.store.identify(
        Identities(phone="13911110001"), {"name": f"{surname}明", "clinic_id": "c01"}, at=at
    ).customer_id
    theirs = console.store.identify(
        Identities(phone="13911110002"), {"name": f"{surname}亮", "clinic_id": "c09"}, at=at
    ).customer_id
    rows = page.locator("table.data tbody tr")
    await sign_in(page, "wang.desk")
    await search_for(page, surname)
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text(mine)
    await expect(rows.first).to_contain_text("139****0001")  # staff: masked
    await page.context.clear_cookies()
    await sign_in(page, "chen.admin")
    await search_for(page, surname)
    await expect(rows).to_have_count(2)  # by name: 亮 (U+4EAE) sorts before 明 (U+660E)
    await expect(rows.nth(0)).to_contain_text(theirs)
    await expect(rows.nth(1)).to_contain_text(mine)


async def test_the_profile_shows_its_sections(
    page: Page, console: ConsoleServer, staff_customer: DemoCustomer
) -> None:
    await sign_in(page, "li.ops")
    await page.goto(f"/customers/{staff_customer.id}")
    headings = page.get_by_role("heading", level=2)
    for title in [*SECTIONS_ZH, "审计记录"]:
        await expect(headings.filter(has_text=title)).to_have_count(1)
    await expect(page.locator('[data-kind="phone"]')).to_have_text(staff_customer.national)
    profile = await api_get(page, console, f"/customers/{staff_customer.id}")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(
        profile["attributes"]["name"]
    )
    events = await api_get(page, console, f"/customers/{staff_customer.id}/events?limit=20")
    names = page.locator(".event-name")
    await expect(names).to_have_count(len(events))
    await expect(names).to_have_text([e["name"] for e in events])  # newest first
    enrollments = await api_get(page, console, f"/customers/{staff_customer.id}/enrollments")
    await expect(page.locator("#enrollments tbody tr")).to_have_count(len(enrollments))


async def test_a_tag_is_added_and_removed_and_the_api_agrees(
    page: Page, console: ConsoleServer, staff_customer: DemoCustomer
) -> None:
    tag = f"回访-{uuid.uuid4().hex[:6]}"
    await sign_in(page, "chen.admin")
    await page.goto(f"/customers/{staff_customer.id}")
    await page.evaluate("window.stayedOnThePage = true")

    await page.get_by_label("新标签").fill(tag)
    await page.get_by_role("button", name="添加标签").click()
    await expect(page.get_by_role("status")).to_have_text("标签已添加。")
    item = page.locator(f'.tag[data-tag="{tag}"]')
    await expect(item).to_contain_text("console:chen.admin")
    assert await page.evaluate("window.stayedOnThePage === true")  # htmx: no navigation
    tags = {
        t["tag"]: t["source"]
        for t in (await api_get(page, console, f"/customers/{staff_customer.id}"))["tags"]
    }
    assert tags[tag] == "console:chen.admin"

    await item.get_by_role("button", name=f"移除标签 {tag}").click()
    await expect(page.get_by_role("status")).to_have_text("标签已移除。")
    await expect(item).to_have_count(0)
    profile = await api_get(page, console, f"/customers/{staff_customer.id}")
    assert tag not in {t["tag"] for t in profile["tags"]}
    trail = await api_get(page, console, f"/customers/{staff_customer.id}/audit")
    mine = [
        (e["kind"], e["actor"])
        for e in trail
        if e["kind"].startswith("customer.") and f"tag {tag}" == e["detail"]
    ]
    assert mine == [
        ("customer.tagged", "console:chen.admin"),
        ("customer.untagged", "console:chen.admin"),
    ]


async def test_tags_change_without_javascript(
    browser: Browser, console: ConsoleServer, staff_customer: DemoCustomer
) -> None:
    console.forget_failed_sign_ins()
    context = await new_context(browser, console, java_script_enabled=False)
    page = await context.new_page()
    try:
        tag = f"nojs-{uuid.uuid4().hex[:6]}"
        await sign_in(page, "li.ops")
        await page.goto(f"/customers/{staff_customer.id}")
        await page.get_by_label("新标签").fill(tag)
        async with page.expect_navigation():
            await page.get_by_role("button", name="添加标签").click()
        assert page.url.endswith("?done=tag_added")
        await expect(page.locator(f'.tag[data-tag="{tag}"]')).to_contain_text("console:li.ops")
        async with page.expect_navigation():
            await page.get_by_role("button", name=f"移除标签 {tag}").click()
        await expect(page.locator(f'.tag[data-tag="{tag}"]')).to_have_count(0)
    finally:
        await context.close()


async def test_staff_get_a_404_for_another_clinics_customer(
    page: Page, other_customer: DemoCustomer
) -> None:
    await sign_in(page, "wang.desk")
    answer = await page.goto(f"/customers/{other_customer.id}")
    assert answer is not None and answer.status == 404
    await expect(page.get_by_role("heading", level=1)).to_have_text("未找到客户")
    await expect(page.locator("body")).not_to_contain_text(other_customer.national)
    await search_for(page, other_customer.national)  # nor found by phone
    await expect(page.locator("table.data")).to_have_count(0)


async def test_staff_see_masked_phones_and_only_what_they_may_do(
    page: Page, staff_customer: DemoCustomer
) -> None:
    await sign_in(page, "wang.desk")
    await search_for(page, staff_customer.national)
    row = page.locator("table.data tbody tr")
    await expect(row).to_contain_text(staff_customer.masked)
    await expect(row).not_to_contain_text(staff_customer.national)

    await row.get_by_role("link", name=staff_customer.id).click()
    await expect(page.locator('[data-kind="phone"]')).to_have_text(staff_customer.masked)
    assert staff_customer.national not in await page.content()
    await expect(page.get_by_role("button", name="添加标签")).to_have_count(0)
    await expect(page.get_by_role("button", name="登记同意")).to_have_count(0)
    await expect(page.get_by_role("heading", name="审计记录")).to_have_count(0)
    await expect(page.get_by_role("button", name="登记拒绝自动化营销")).to_be_visible()


async def test_a_staff_post_of_an_admin_action_is_refused(
    page: Page, console: ConsoleServer, staff_customer: DemoCustomer
) -> None:
    await sign_in(page, "wang.desk")
    await page.goto(f"/customers/{staff_customer.id}")
    token = await page.locator("input[name=csrf_token]").first.input_value()
    answer = await page.request.post(
        f"/customers/{staff_customer.id}/tags", form={"csrf_token": token, "tag": "staff-tag"}
    )
    assert answer.status == 422
    assert "您的角色无权执行此操作" in await answer.text()
    assert "staff-tag" not in console.store.get_customer(staff_customer.id).tags
    refused = await page.request.post(f"/customers/{staff_customer.id}/tags", form={"tag": "x"})
    assert refused.status == 403  # no CSRF token


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_customers_pages_pass_axe(
    browser: Browser, console: ConsoleServer, staff_customer: DemoCustomer, width: int
) -> None:
    page = await open_page(browser, console, width)
    try:
        await sign_in(page, "chen.admin")
        await page.goto(f"/customers?q={staff_customer.national}")
        await expect(page.locator("table.data tbody tr")).to_have_count(1)
        await check(page, "customers", width)
        await page.goto(f"/customers/{staff_customer.id}")
        await check(page, "customer", width)
    finally:
        await page.context.close()


async def test_an_enrollment_is_started_and_cancelled(
    page: Page, console: ConsoleServer, other_customer: DemoCustomer
) -> None:
    await sign_in(page, "chen.admin")
    await page.goto(f"/customers/{other_customer.id}")
    path = f"/customers/{other_customer.id}/enrollments"
    before = {e["id"] for e in await api_get(page, console, path)}
    journeys = await page.locator("#enroll-journey option").evaluate_all(
        "options => options.map(o => o.value)"
    )
    for journey in journeys:  # the first whose entry this customer meets
        await page.locator("#enroll-journey").select_option(journey)
        # the last answer's message goes first, so the next one is this click's
        await page.evaluate("document.querySelectorAll('.done, .alert').forEach(e => e.remove())")
        await page.get_by_role("button", name="加入旅程").click()
        await expect(page.locator(".done, .alert")).to_be_visible()
        if await page.locator(".done").count():
            break
        await expect(page.get_by_role("alert")).not_to_be_empty()  # said on the page
    await expect(page.get_by_role("status")).to_contain_text("客户已加入旅程")
    after = await api_get(page, console, path)
    (new,) = [e for e in after if e["id"] not in before]
    row = page.locator(f'tr[data-enrollment="{new["id"]}"]')
    await expect(row).to_contain_text("进行中")
    await row.get_by_role("button").click()
    await expect(page.get_by_role("status")).to_contain_text("已要求停止该旅程参与")
