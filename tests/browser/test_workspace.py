"""工作区 in Chromium: an admin sees the server folder valid, deploys it and finds the
deploy at the top of the history; an upload that is not an archive is refused on the
page; an operator sees the validation without any deploy button; staff are refused;
axe and screenshots at 1280 and 375 px."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from playwright.async_api import Browser, expect
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from engine.store.sql import SqlStore
from tests.browser.conftest import ROOT, ConsoleServer, serving, sign_in
from tests.browser.test_accessibility import check, open_page

pytestmark = pytest.mark.browser

WIDTHS = [1280, 375]
EYE_CLINIC = ROOT / "examples" / "eye-clinic"


@pytest.fixture(scope="module")
def console(demo_url: str, time_env: WorkflowEnvironment) -> Iterator[ConsoleServer]:
    """The app over the demo database, its workspace folder the example clinic's."""
    store = SqlStore(demo_url)
    dispatcher = Dispatcher(time_env.client, store, f"console-{uuid.uuid4().hex[:8]}")
    app = create_app(store, dispatcher, Settings(workspace_folder=str(EYE_CLINIC)))
    try:
        with serving(app) as url:
            yield ConsoleServer(url, app, store)
    finally:
        store.close()


async def test_an_admin_deploys_the_server_folder_and_sees_it_in_the_history(
    browser: Browser, console: ConsoleServer
) -> None:
    page = await open_page(browser, console, 1280)
    try:
        await sign_in(page, "chen.admin")
        await page.get_by_role("link", name="工作区", exact=True).click()
        await expect(page).to_have_url(re.compile(r"/workspace$"))
        await expect(page.locator(".verdict-valid")).to_contain_text("校验通过：9 个旅程")
        await expect(
            page.get_by_role("table", name="找到的旅程").locator("tbody tr")
        ).to_have_count(9)
        before = await page.locator(".history-table tbody tr").count()

        await page.get_by_role("button", name="发布服务器文件夹").click()
        await expect(page).to_have_url(re.compile(r"/workspace\?deployed=1"))
        await expect(page.get_by_role("status")).to_contain_text("已发布")
        rows = page.locator(".history-table tbody tr")
        await expect(rows).to_have_count(min(before + 1, 20))
        newest = rows.first
        await expect(newest).to_contain_text("chen.admin")
        await expect(newest).to_contain_text(f"服务器文件夹 {EYE_CLINIC}")
        await expect(newest).to_contain_text("9 个未变")
        lines = console.store.list_changes(subject_kind="workspace", limit=1)
        assert lines[0].actor == "console:chen.admin"
    finally:
        await page.context.close()


async def test_an_upload_that_is_not_an_archive_is_refused_on_the_page(
    browser: Browser, console: ConsoleServer
) -> None:
    page = await open_page(browser, console, 1280)
    try:
        await sign_in(page, "chen.admin", path="/login?next=/workspace")
        await page.get_by_label("工作区压缩包（.zip 或 .tar.gz）").set_input_files(
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}
        )
        await page.get_by_role("button", name="上传并发布").click()
        await expect(page.get_by_role("alert")).to_contain_text(
            "notes.txt 不是 .zip 或 .tar.gz 文件。"
        )
        await expect(page.get_by_role("heading", name="未发布任何内容")).to_be_visible()
    finally:
        await page.context.close()


async def test_an_operator_sees_the_validation_but_no_deploy_button(
    browser: Browser, console: ConsoleServer
) -> None:
    page = await open_page(browser, console, 1280)
    try:
        await sign_in(page, "li.ops", path="/login?next=/workspace")
        await expect(page.locator(".verdict-valid")).to_be_visible()
        await expect(page.get_by_role("heading", name="发布记录")).to_be_visible()
        await expect(page.get_by_role("button", name="发布服务器文件夹")).to_have_count(0)
        await expect(page.get_by_role("button", name="上传并发布")).to_have_count(0)
    finally:
        await page.context.close()


async def test_staff_are_refused(browser: Browser, console: ConsoleServer) -> None:
    page = await open_page(browser, console, 1280)
    try:
        await sign_in(page, "wang.desk")
        await expect(page.get_by_role("link", name="工作区", exact=True)).to_have_count(0)
        response = await page.goto("/workspace")
        assert response is not None and response.status == 403
        await expect(page.get_by_role("heading", name="无权操作")).to_be_visible()
    finally:
        await page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_workspace_page_passes_axe(
    browser: Browser, console: ConsoleServer, width: int
) -> None:
    page = await open_page(browser, console, width)
    try:
        await sign_in(page, "chen.admin", path="/login?next=/workspace")
        await expect(page.locator(".verdict-valid")).to_be_visible()
        await check(page, "workspace", width)
        # and with a refused upload showing
        await page.get_by_label("工作区压缩包（.zip 或 .tar.gz）").set_input_files(
            {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}
        )
        await page.get_by_role("button", name="上传并发布").click()
        await expect(page.get_by_role("alert")).to_be_visible()
        await check(page, "workspace-refused", width)
    finally:
        await page.context.close()
