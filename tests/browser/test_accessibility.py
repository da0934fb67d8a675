"""axe-core on the console's pages, at 1280 px and at 375 px: no violation of impact
serious or critical, nothing wider than the screen; a screenshot of each page and width
in ``var/screenshots/``."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import Browser, Page

from tests.browser.conftest import AXE, ConsoleServer, new_context, screenshot, sign_in

pytestmark = pytest.mark.browser

WIDTHS = [1280, 375]


async def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe's violations of impact serious or critical, with the nodes they are on."""
    await page.add_script_tag(path=str(AXE))
    result: dict[str, Any] = await page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "help": v["help"],
            "nodes": [n["target"] for n in v["nodes"]],
        }
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


async def open_page(browser: Browser, console: ConsoleServer, width: int) -> Page:
    console.forget_failed_sign_ins()
    # axe is injected as an inline script, which the console's CSP refuses: bypass it here.
    context = await new_context(
        browser, console, viewport={"width": width, "height": 900}, bypass_csp=True
    )
    return await context.new_page()


async def check(page: Page, name: str, width: int) -> None:
    await page.evaluate("document.fonts.ready")
    assert await axe_violations(page) == []
    wide = await page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, f"{name} is {wide} px wide at {width} px"
    await screenshot(page, name)


async def test_axe_finds_what_it_should(browser: Browser, console: ConsoleServer) -> None:
    """The check itself: an image without text and an unlabelled field are caught."""
    page = await open_page(browser, console, 1280)
    try:
        await page.set_content('<html lang="en"><body><main><img src="x.png"><input></main>')
        found = {v["id"] for v in await axe_violations(page)}
        assert {"image-alt", "label"} <= found
    finally:
        await page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_sign_in_page(browser: Browser, console: ConsoleServer, width: int) -> None:
    page = await open_page(browser, console, width)
    try:
        await page.goto("/login")
        await check(page, "login", width)
        # and with its error showing
        await sign_in(page, "chen.admin", "wrong-wrong-wrong")
        await check(page, "login-error", width)
    finally:
        await page.context.close()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_dashboard(browser: Browser, console: ConsoleServer, width: int) -> None:
    page = await open_page(browser, console, width)
    try:
        await sign_in(page, "wang.desk")
        await page.locator(".card").first.wait_for()
        await check(page, "dashboard", width)
        await page.get_by_role("link", name="English").click()
        await page.locator(".card").first.wait_for()
        await check(page, "dashboard-en", width)
    finally:
        await page.context.close()
