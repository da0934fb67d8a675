"""Demo customers for the customers pages' browser tests: one of the staff user's
clinics and one of another clinic, with their phones, and a ``/v1`` reader."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.async_api import Page

from tests.browser.conftest import STAFF_CLINICS, ConsoleServer


@dataclass(frozen=True)
class DemoCustomer:
    id: str
    clinic: str
    phone: str  # E.164, as stored

    @property
    def national(self) -> str:
        return self.phone.removeprefix("+86")

    @property
    def masked(self) -> str:
        return f"{self.national[:3]}****{self.national[-4:]}"


def _demo(console: ConsoleServer, mine: bool) -> DemoCustomer:
    ids = [f"demo-{i:06d}" for i in range(200)]
    for customer_id, clinic in console.store.customer_clinics(ids).items():
        if clinic is None or (clinic in STAFF_CLINICS) != mine:
            continue
        phones = [v for k, _, v in console.store.list_identities(customer_id) if k == "phone"]
        if phones and console.store.get_customer(customer_id).id == customer_id:
            return DemoCustomer(customer_id, clinic, phones[0])
    pytest.fail("the demo chain has no such customer")


@pytest.fixture
def staff_customer(console: ConsoleServer) -> DemoCustomer:
    """A demo customer of one of the staff user's clinics."""
    return _demo(console, mine=True)


@pytest.fixture
def other_customer(console: ConsoleServer) -> DemoCustomer:
    """A demo customer of a clinic the staff user does not work for."""
    return _demo(console, mine=False)


async def api_get(page: Page, console: ConsoleServer, path: str) -> Any:
    """``GET /v1<path>`` with a new admin key: what the API says."""
    at = dt.datetime.now(dt.UTC)
    _, secret = console.store.create_api_key(f"check-{uuid.uuid4().hex[:6]}", ["admin"], [], at=at)
    answer = await page.request.get(f"/v1{path}", headers={"Authorization": f"Bearer {secret}"})
    assert answer.status == 200, await answer.text()
    return await answer.json()
