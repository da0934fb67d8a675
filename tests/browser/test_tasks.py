"""工作台 in Chromium: staff work the call tasks a journey's handoff step creates, on a
phone (375 px): claim, call (the number shows in full only then), record the outcome,
and the waiting enrollment completes. Other clinics' staff neither see nor open the
task; a new task appears without a reload; axe and screenshots at 1280 and 375 px."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect
from temporalio.testing import WorkflowEnvironment

from api.console.tasks import POLL_SECONDS
from tests.browser.conftest import new_context, screenshot, sign_in
from tests.browser.task_fixtures import TaskRig, task_rig
from tests.browser.test_accessibility import axe_violations

pytestmark = pytest.mark.browser

PHONE = 375


@pytest.fixture(scope="module")
async def rig(
    chromium: str, time_env: WorkflowEnvironment, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[TaskRig]:
    async with task_rig(time_env, tmp_path_factory.mktemp("tasks")) as running:
        yield running


async def signed_in(
    browser: Browser, rig: TaskRig, username: str, width: int = PHONE, **options: object
) -> tuple[BrowserContext, Page]:
    """A fresh profile at ``width`` px, signed in as ``username``, on /tasks."""
    rig.server.forget_failed_sign_ins()
    context = await new_context(
        browser, rig.server, viewport={"width": width, "height": 800}, **options
    )
    page = await context.new_page()
    await sign_in(page, username)
    await page.goto("/tasks")
    return context, page


async def test_staff_claim_call_and_complete_a_task_on_a_phone(
    browser: Browser, rig: TaskRig
) -> None:
    customer = rig.customer("张三", "13800001234", "c01")
    enrollment_id = await rig.enroll(customer)
    task = await rig.task_of(enrollment_id)
    context, page = await signed_in(browser, rig, "wang.desk")
    try:
        card = page.locator(f"#task-{task.id}")
        await expect(card.get_by_role("heading", name="张三")).to_be_visible()
        await expect(card).to_contain_text("请致电张三")  # the message's call script
        await expect(card).to_contain_text(re.compile(r"剩余 (3 小时 5\d|4 小时 0) 分钟"))
        # Masked before the claim: no number, no call link.
        await expect(card.locator(".task-masked")).to_have_text("138****1234")
        await expect(card.get_by_role("link", name=re.compile("拨打"))).to_have_count(0)
        assert "13800001234" not in await page.content()

        await card.get_by_role("button", name="领取此任务").click()
        call = card.get_by_role("link", name="拨打 13800001234")
        await expect(call).to_have_attribute("href", "tel:+8613800001234")
        await expect(call).to_be_focused()
        assert rig.store.get_task(task.id).claimed_by == "api:console:wang.desk"

        await card.get_by_label("备注（可选）").fill("周三上午复查")
        await card.get_by_role("button", name="记录结果：booked").click()
        await expect(card).to_contain_text("已完成：booked")
        await expect(card.get_by_role("button")).to_have_count(0)

        assert (rig.store.get_task(task.id).status, rig.store.get_task(task.id).outcome) == (
            "done",
            "booked",
        )
        result = await rig.result(enrollment_id)
        assert result.status == "completed"
        record = rig.store.get_enrollment(enrollment_id)
        assert record.status == "completed"
        # The change log holds the claim, the reveal of the phone and the outcome, by her.
        lines = rig.store.list_changes(subject_kind="task", subject_id=task.id)
        assert [(c.action, c.actor) for c in lines] == [
            ("task.completed", "console:wang.desk"),
            ("phone.revealed", "console:wang.desk"),
            ("task.claimed", "console:wang.desk"),
        ]
        assert lines[0].detail["outcome"] == "booked" and lines[0].customer_id == customer
        await page.reload()  # done tasks leave the open list
        await expect(page.locator(f"#task-{task.id}")).to_have_count(0)
    finally:
        await context.close()


async def test_staff_of_another_clinic_neither_see_nor_open_the_task(
    browser: Browser, rig: TaskRig
) -> None:
    task = await rig.task_of(await rig.enroll(rig.customer("李四", "13900002222", "c02")))
    context, page = await signed_in(browser, rig, "zhao.desk")
    try:
        await expect(page.locator(".task-count")).to_have_text("未完成任务：0")
        await expect(page.locator(f"#task-{task.id}")).to_have_count(0)
        response = await page.goto(f"/tasks/{task.id}")
        assert response is not None and response.status == 404
        await expect(page.get_by_role("heading", level=1)).to_have_text("没有这个任务")
        assert "李四" not in await page.content()
        # Nor can they claim it by posting the form themselves.
        token = await page.evaluate(
            "JSON.parse(document.body.getAttribute('hx-headers'))['X-CSRF-Token']"
        )
        claimed = await page.request.post(
            f"/tasks/{task.id}/claim", form={"csrf_token": token}, max_redirects=0
        )
        assert claimed.status == 404
        assert rig.store.get_task(task.id).status == "open"
    finally:
        await context.close()
    # The staff of its clinic open it by its address.
    context, page = await signed_in(browser, rig, "wang.desk")
    try:
        await page.goto(f"/tasks/{task.id}")
        await expect(page.get_by_role("heading", name="李四")).to_be_visible()
    finally:
        await context.close()


async def test_a_task_claimed_by_someone_else_first_is_refused(
    browser: Browser, rig: TaskRig
) -> None:
    task = await rig.task_of(await rig.enroll(rig.customer("王五", "13700003333", "c01")))
    context, page = await signed_in(browser, rig, "wang.desk")
    try:
        card = page.locator(f"#task-{task.id}")
        await expect(card.get_by_role("button", name="领取此任务")).to_be_visible()
        rig.store.claim_task(task.id, "api:console:li.ops")  # a colleague was quicker
        await card.get_by_role("button", name="领取此任务").click()
        await expect(card.get_by_role("alert")).to_have_text("李运营 已先领取了这个任务。")
        await expect(card).to_contain_text("已被 李运营 领取")
        await expect(card.locator(".task-masked")).to_have_text("137****3333")
        await expect(card.get_by_role("button")).to_have_count(0)
        assert rig.store.get_task(task.id).claimed_by == "api:console:li.ops"
    finally:
        await context.close()


async def test_a_new_task_appears_without_a_reload(browser: Browser, rig: TaskRig) -> None:
    context, page = await signed_in(browser, rig, "wang.desk")
    try:
        await page.evaluate("window.stayedOnThePage = true")
        task = await rig.task_of(await rig.enroll(rig.customer("赵六", "13600004444", "c02")))
        card = page.locator(f"#task-{task.id}")
        await expect(card).to_be_visible(timeout=(POLL_SECONDS * 2 + 5) * 1000)
        await expect(card.get_by_role("heading", name="赵六")).to_be_visible()
        assert await page.evaluate("window.stayedOnThePage === true")  # no navigation
    finally:
        await context.close()


@pytest.mark.parametrize("width", [1280, PHONE])
async def test_the_page_passes_axe_and_fits_the_screen(
    browser: Browser, rig: TaskRig, width: int
) -> None:
    if not rig.store.list_open_tasks(clinics=["c01"]):
        await rig.task_of(await rig.enroll(rig.customer("钱七", "13500005555", "c01")))
    child = rig.customer("小明", f"1330000{width:04d}", "c01", birth_date="2016-05-01")
    mother = rig.customer("小明妈妈", f"1331111{width:04d}", "c01")
    rig.store.link_guardian(child, mother, relation="母亲", at=datetime.now(UTC))
    mine = await rig.task_of(await rig.enroll(child))
    rig.store.claim_task(mine.id, "api:console:wang.desk")
    # axe is injected as an inline script, which the console's CSP refuses: bypass it here.
    context, page = await signed_in(browser, rig, "wang.desk", width, bypass_csp=True)
    try:
        card = page.locator(f"#task-{mine.id}")
        await expect(card).to_contain_text(re.compile(r"\d+ 岁 · 未成年人"))
        await expect(card).to_contain_text("小明妈妈 (母亲)")
        await expect(card.get_by_role("link", name=f"拨打 1331111{width:04d}")).to_be_visible()
        await page.evaluate("document.fonts.ready")
        assert await axe_violations(page) == []
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= width, f"/tasks is {wide} px wide at {width} px"
        if width == PHONE:  # one column: each card as wide as the list
            boxes = [await c.bounding_box() for c in await page.locator(".task").all()]
            assert len({round(b["x"]) for b in boxes if b}) == 1
        await screenshot(page, "tasks")
    finally:
        await context.close()
