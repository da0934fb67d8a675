"""渠道 in Chromium, on the demo chain: every provider channel is shown; a circuit opened
through the store shows with its cause and since when, an operator resets it with the
button (htmx, no navigation) and sees it gone, the reset listed with who made it and
recorded in the change log; staff are refused; axe and screenshots at 1280 and 375 px."""

from __future__ import annotations

import datetime as dt
import re
import uuid
from typing import Any

import pytest
from playwright.async_api import Page, expect

from api.console.channel_view import CHANNELS
from engine.store.circuits import ConfigCircuit
from tests.browser.conftest import ConsoleServer, sign_in
from tests.browser.test_accessibility import WIDTHS, check, open_page

pytestmark = pytest.mark.browser

TEMPLATE_ERROR = "FailedOperation.TemplateIncorrectOrUnapproved"


def open_circuit(console: ConsoleServer) -> str:
    """Open an SMS template's circuit as a provider's answer would; its template id."""
    template = f"t-{uuid.uuid4().hex[:6]}"
    circuit = ConfigCircuit(
        channel="sms",
        template=template,
        error=f"{TEMPLATE_ERROR}: 模板未审核通过",
        opened_at=dt.datetime.now(dt.UTC) - dt.timedelta(minutes=20),
        digest="browser",
    )
    assert console.store.open_config_circuit(circuit)
    return template


def close_circuit(console: ConsoleServer, template: str) -> None:
    console.store.reset_circuits("sms", template, by="test", at=dt.datetime.now(dt.UTC))


async def test_the_page_shows_every_channel_to_admins(page: Page) -> None:
    await sign_in(page, "chen.admin")
    await page.get_by_role("link", name="渠道", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/channels$"))
    cards = page.locator("li.channel")
    await expect(cards).to_have_count(len(CHANNELS))
    assert await cards.evaluate_all("els => els.map(e => e.dataset.channel)") == list(CHANNELS)
    await expect(page.locator("#skips tbody tr")).to_have_count(10)
    await expect(page.get_by_role("heading", name="最近退订")).to_be_visible()


async def test_an_operator_resets_a_circuit_and_sees_it_gone(
    page: Page, console: ConsoleServer
) -> None:
    template = open_circuit(console)
    try:
        await sign_in(page, "li.ops")
        await page.goto("/channels")
        await page.evaluate("window.stayedOnThePage = true")
        circuit = page.locator(f"li.circuit[data-template='{template}']")
        await expect(circuit).to_contain_text(f"模板 {template} 已熔断")
        await expect(circuit).to_contain_text(TEMPLATE_ERROR)
        await expect(circuit.locator("time")).to_have_count(1)

        await circuit.get_by_role("button", name=f"重置模板 {template}").click()
        await expect(page.get_by_role("status")).to_contain_text("短信 已重置")
        await expect(page.get_by_text(f"模板 {template} 已熔断")).to_have_count(0)
        await expect(circuit).to_contain_text("console:li.ops")  # closed, by whom
        assert await page.evaluate("window.stayedOnThePage === true")  # htmx: no navigation
        latest = page.locator("#resets tbody tr").first
        await expect(latest).to_contain_text("console:li.ops")
        await expect(latest).to_contain_text(f"模板 {template}")
    finally:
        close_circuit(console, template)
    (change, *_) = console.store.list_changes(actions=["channel.reset"])
    assert (change.actor, change.subject_id, change.detail["template"]) == (
        "console:li.ops",
        "sms",
        template,
    )


async def test_staff_are_refused(page: Page) -> None:
    await sign_in(page, "wang.desk")
    await expect(page.get_by_role("link", name="渠道", exact=True)).to_have_count(0)
    refused = await page.goto("/channels")
    assert refused is not None and refused.status == 403
    await expect(page.get_by_role("heading", name="无权操作")).to_be_visible()


@pytest.mark.parametrize("width", WIDTHS)
async def test_the_channels_page_passes_axe(
    browser: Any, console: ConsoleServer, width: int
) -> None:
    template = open_circuit(console)
    page = await open_page(browser, console, width)
    try:
        await sign_in(page, "li.ops")
        await page.goto("/channels")
        await page.locator(f"li.circuit[data-template='{template}']").wait_for()
        await check(page, "channels", width)
    finally:
        await page.context.close()
        close_circuit(console, template)
