"""Helpers of the report pages' browser tests: an API key of a role, the API's answer
for a page's filters, and the figures a page shows."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlencode

from playwright.async_api import Page

from tests.browser.conftest import STAFF_CLINICS, ConsoleServer

Scope = Literal["admin", "staff"]
#: The report pages with a chart and a table, as ``/reports/<name>``.
REPORTS = ["active", "acquisition", "kpis", "channels", "doctors", "clinics"]


def api_key(console: ConsoleServer, role: Scope) -> str:
    """A fresh API key of ``role`` (staff: the staff user's clinics)."""
    clinics = STAFF_CLINICS if role == "staff" else []
    at = dt.datetime.now(dt.UTC)
    name = f"reports-{uuid.uuid4().hex[:6]}"
    _, secret = console.store.create_api_key(name, [role], clinics, at=at)
    return secret


async def page_range(page: Page) -> dict[str, str]:
    """The page's range as the API's query: ``from`` and the day after ``to``."""
    first = await page.locator("#from").input_value()
    last = dt.date.fromisoformat(await page.locator("#to").input_value())
    return {"from": first, "to": (last + dt.timedelta(days=1)).isoformat()}


async def api_get(
    page: Page, secret: str, name: str, params: dict[str, Any], *, csv: bool = False
) -> Any:
    """``GET /v1/reports/<name>``: its JSON, or its CSV text."""
    query = {**params, **({"format": "csv"} if csv else {})}
    answer = await page.request.get(
        f"/v1/reports/{name}?{urlencode(query, doseq=True)}",
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert answer.status == 200, await answer.text()
    return await answer.text() if csv else await answer.json()


def api_sum(rows: list[dict[str, Any]], key: str) -> Decimal:
    """The sum of a column of the API's rows (nulls left out)."""
    return sum((Decimal(str(r[key])) for r in rows if r.get(key) is not None), Decimal(0))


async def page_totals(page: Page) -> dict[str, Decimal]:
    """The total row of the page's table, by column (the raw figure behind each cell),
    once the figures are in the page."""
    await figures_in(page)
    cells = page.locator("tfoot [data-total]")
    out: dict[str, Decimal] = {}
    for i in range(await cells.count()):
        cell = cells.nth(i)
        key = await cell.get_attribute("data-total")
        value = await cell.get_attribute("data-value")
        if key and value not in (None, "None"):
            out[key] = Decimal(str(value))
    return out


async def figures_in(page: Page) -> None:
    """Wait until the page's figures are there (drawn in the page, or placed by htmx)."""
    await page.locator("#figures:not([aria-busy])").wait_for()


async def chart_drawn(page: Page) -> bool:
    """Whether ECharts drew the chart: its container holds a canvas (or an svg)."""
    await page.locator("#chart canvas, #chart svg").first.wait_for()
    return bool(
        await page.evaluate(
            "() => !!window.echarts && !!echarts.getInstanceByDom(document.getElementById('chart'))"
        )
    )
