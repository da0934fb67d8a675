"""旅程 in Chromium: the list shows every deployed journey of the demo; a journey's page
draws every step of its deployed definition; an event tracked through ``/v1/track``
moves the diagram's counts without a reload; a step's panel opens on a click; an
operator pauses and resumes, staff see no such buttons and are refused; a second
deploy shows as a version with its diff; the enrollments list filters and opens a
timeline; axe and screenshots at 1280 and 375 px."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from temporalio.testing import WorkflowEnvironment

from tests.browser.conftest import ConsoleServer, new_context, screenshot, sign_in
from tests.browser.journey_fixtures import WATCHED, JourneyRig, journey_rig
from tests.browser.test_accessibility import axe_violations, check
from tests.factories import workspace

pytestmark = pytest.mark.browser

WIDTHS = [1280, 375]


@pytest.fixture(scope="module")
async def rig(
    chromium: str, time_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[JourneyRig]:
    async with journey_rig(time_env, tmp_path_factory.mktemp("journeys")) as running:
        yield running


async def signed_in(
    browser: Browser, server: ConsoleServer, username: str, width: int = 1280, **options: object
) -> tuple[BrowserContext, Page]:
    """A fresh profile at ``width`` px, signed in as ``username``."""
    server.forget_failed_sign_ins()
    context = await new_context(
        browser, server, viewport={"width": width, "height": 900}, **options
    )
    page = await context.new_page()
    await sign_in(page, username)
    return context, page


async def test_the_list_shows_every_deployed_journey(
    browser: Browser, console: ConsoleServer
) -> None:
    deployed = console.store.list_journeys()
    assert deployed, "the demo deploys the example journeys"
    context, page = await signed_in(browser, console, "wang.desk")  # staff may read
    try:
        await page.get_by_role("link", name="旅程", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/journeys$"))
        rows = page.locator("table.journeys-table tbody tr")
        await expect(rows).to_have_count(len(deployed))
        for info in deployed:
            row = page.locator(f"tr[data-journey='{info.journey_id}']")
            await expect(row.get_by_role("link", name=info.name or info.journey_id)).to_be_visible()
            await expect(row).to_contain_text("已暂停" if info.paused else "进行中")
            await expect(row).to_contain_text(f"v{info.current_version}")
    finally:
        await context.close()


async def test_the_page_draws_every_step_of_the_deployed_definition(
    browser: Browser, console: ConsoleServer
) -> None:
    bundle = console.store.current_bundle("school_screening_parents")
    context, page = await signed_in(browser, console, "chen.admin")
    try:
        await page.goto("/journeys/school_screening_parents")
        nodes = page.locator("svg.journey-diagram g.jd-node")
        await expect(nodes).to_have_count(len(bundle.journey.steps))
        drawn = await nodes.evaluate_all("els => els.map(e => e.dataset.step)")
        assert drawn == [s.id for s in bundle.journey.steps]
        svg = page.get_by_role("img", name=re.compile("流程图"))
        await expect(svg).to_be_visible()
        # the same figures as a table; edges join the steps the definition names
        await expect(page.locator("table.steps-table tbody tr")).to_have_count(len(drawn))
        edge = page.locator("path.jd-edge[data-source='split_call'][data-target='call']")
        await expect(edge).to_have_count(1)
        # the split's experiment in words
        card = page.locator("article.experiment[data-step='split_call']")
        await expect(card).to_contain_text("对照组：holdout")
        await expect(card).to_contain_text(re.compile(r"个百分点|尚无法比较"))
        await expect(card).to_contain_text(re.compile(r"不显著|显著"))
        # a click on a step opens its panel in place
        await page.locator("g.jd-node[data-step='tip']").click()
        panel = page.locator("#step-panel")
        await expect(panel.get_by_role("heading", name="步骤 tip")).to_be_visible()
        await expect(panel).to_contain_text("各渠道发送")
        await expect(page).to_have_url(re.compile(r"/journeys/school_screening_parents/steps/tip"))
    finally:
        await context.close()


async def test_a_tracked_event_moves_the_counts_without_a_reload(
    browser: Browser, rig: JourneyRig
) -> None:
    context, page = await signed_in(browser, rig.server, "li.ops")
    try:
        await page.goto(f"/journeys/{WATCHED['id']}")
        reached = page.locator("#jd-reached-welcome")
        await expect(reached).to_have_text("0")
        await page.evaluate("window.__still_here = true")
        enrolled = await rig.track("13900001111")
        assert enrolled
        await expect(reached).to_have_text("1", timeout=20_000)
        await expect(page.locator("#jt-reached-welcome")).to_have_text("1")
        await expect(page.locator("#js-entered")).to_have_text("1")
        assert await page.evaluate("window.__still_here === true")  # no reload
    finally:
        await context.close()


async def test_an_operator_pauses_and_resumes_staff_cannot(
    browser: Browser, rig: JourneyRig
) -> None:
    journey_id = WATCHED["id"]
    context, page = await signed_in(browser, rig.server, "li.ops")
    try:
        await page.goto(f"/journeys/{journey_id}")
        await page.get_by_role("button", name="暂停旅程").click()
        status = page.locator("#journey-status")
        await expect(status.get_by_role("status")).to_contain_text("已暂停")
        assert next(i for i in rig.store.list_journeys() if i.journey_id == journey_id).paused
        assert await rig.track("13900002222") == []  # a paused journey enrolls no one
        await status.get_by_role("button", name="恢复旅程").click()
        await expect(status.get_by_role("status")).to_contain_text("已恢复")
        assert not next(i for i in rig.store.list_journeys() if i.journey_id == journey_id).paused
    finally:
        await context.close()
    context, page = await signed_in(browser, rig.server, "wang.desk")
    try:
        await page.goto(f"/journeys/{journey_id}")
        await expect(page.locator("#journey-status")).to_contain_text("进行中")
        await expect(
            page.get_by_role("button", name=re.compile("暂停旅程|恢复旅程"))
        ).to_have_count(0)
        token = await page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))")
        refused = await page.request.post(f"/journeys/{journey_id}/pause", headers=token)
        assert refused.status == 403
        assert not next(i for i in rig.store.list_journeys() if i.journey_id == journey_id).paused
    finally:
        await context.close()


async def test_an_unknown_journey_or_step_is_404(browser: Browser, console: ConsoleServer) -> None:
    context, page = await signed_in(browser, console, "chen.admin")
    try:
        for path in ("/journeys/nope", "/journeys/school_screening_parents/steps/nope"):
            response = await page.goto(path)
            assert response is not None and response.status == 404
            await expect(page.get_by_role("heading", name="没有这个旅程")).to_be_visible()
    finally:
        await context.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_axe_and_screenshots(browser: Browser, console: ConsoleServer, width: int) -> None:
    # axe is injected as an inline script, which the console's CSP refuses: bypass it here.
    context, page = await signed_in(browser, console, "chen.admin", width, bypass_csp=True)
    try:
        for path, name in (
            ("/journeys", "journeys"),
            ("/journeys/school_screening_parents/steps/tip", "journey"),
        ):
            await page.goto(path)
            await page.evaluate("document.fonts.ready")
            assert await axe_violations(page) == [], path
            wide = await page.evaluate("document.documentElement.scrollWidth")
            assert wide <= width, f"{path} is {wide} px wide at {width} px"
            await screenshot(page, name)
    finally:
        await context.close()


async def test_versions_show_each_deploy_and_the_diff_of_the_last_two(
    browser: Browser, rig: JourneyRig, tmp_path: Path
) -> None:
    changed = {**WATCHED, "name": "复查邀约（第二版）"}
    deployed = await rig.api.post(
        "/v1/journeys/deploy", json={"path": str(workspace(tmp_path / "ws", [changed]))}
    )
    assert deployed.status_code == 200, deployed.text
    context, page = await signed_in(browser, rig.server, "wang.desk")  # staff may read
    try:
        await page.goto(f"/journeys/{WATCHED['id']}")
        await page.get_by_role("link", name="版本与改动").click()
        await expect(page).to_have_url(re.compile(r"/versions$"))
        await expect(page.locator("table.versions-table tbody tr")).to_have_count(2)
        await expect(page.get_by_role("heading", name="版本 1 到版本 2 的改动")).to_be_visible()
        removed = page.locator("tr.diff-removed")
        added = page.locator("tr.diff-added")
        await expect(removed).to_have_count(1)
        await expect(removed).to_contain_text("-")
        await expect(removed.locator(".visually-hidden")).to_have_text("删除")
        await expect(removed).to_contain_text("name: 复查邀约")
        await expect(added).to_contain_text("name: 复查邀约（第二版）")
        await expect(added.locator(".visually-hidden")).to_have_text("新增")
        # the newest version's YAML is open; the first one's opens on a click
        first = page.locator("details#v-1")
        await first.locator("summary").click()
        await expect(first.locator("pre")).to_contain_text("id: recheck")
        # any two versions, in either order
        await page.locator("select[name=old]").select_option("2")
        await page.locator("select[name=new]").select_option("1")
        await page.get_by_role("button", name="对比").click()
        await expect(page.get_by_role("heading", name="版本 2 到版本 1 的改动")).to_be_visible()
        await expect(page.locator("tr.diff-added")).to_contain_text("name: 复查邀约")
    finally:
        await context.close()


async def _enroll(rig: JourneyRig, phone: str) -> str:
    """A new enrollment in ``WATCHED``: its id."""
    assert await rig.track(phone) == [f"{WATCHED['id']}:started"]
    [newest] = rig.store.list_enrollments(journey_id=WATCHED["id"], limit=1)
    return newest.id


async def test_enrollments_filter_and_open_a_timeline(browser: Browser, rig: JourneyRig) -> None:
    enrollment = await _enroll(rig, "13900003333")
    context, page = await signed_in(browser, rig.server, "li.ops")
    try:
        await page.goto(f"/journeys/{WATCHED['id']}")
        await page.get_by_role("link", name="旅程参与", exact=True).click()
        row = page.locator(f"tr[data-enrollment='{enrollment}']")
        await expect(row).to_contain_text("进行中")
        await page.locator("select[name=status]").select_option("completed")
        await page.get_by_role("button", name="筛选").click()
        await expect(page).to_have_url(re.compile(r"status=completed"))
        await expect(row).to_have_count(0)
        await page.get_by_role("link", name="清除筛选").click()
        await row.get_by_role("link", name=re.compile("时间线")).click()
        await expect(page).to_have_url(re.compile(f"/enrollments/{enrollment}$"))
        trace = page.locator("ol.trace")
        await expect(trace.locator("li").first).to_contain_text("进入旅程")
        await expect(trace).to_contain_text("到达步骤 welcome")
        await expect(trace).to_contain_text("分入")
        record = rig.store.get_enrollment(enrollment)
        customer = page.get_by_role("link", name=record.customer_id, exact=True)
        await expect(customer).to_have_attribute("href", f"/customers/{record.customer_id}")
    finally:
        await context.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_axe_and_screenshots_of_versions_and_enrollments(
    browser: Browser, rig: JourneyRig, width: int
) -> None:
    enrollment = await _enroll(rig, f"1390000{width:04d}")
    journey_id = WATCHED["id"]
    context, page = await signed_in(browser, rig.server, "chen.admin", width, bypass_csp=True)
    try:
        for path, name in (
            (f"/journeys/{journey_id}/versions", "journey-versions"),
            (f"/journeys/{journey_id}/enrollments", "journey-enrollments"),
            (f"/journeys/{journey_id}/enrollments/{enrollment}", "enrollment"),
        ):
            response = await page.goto(path)
            assert response is not None and response.status == 200, path
            await check(page, name, width)
    finally:
        await context.close()
