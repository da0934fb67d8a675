"""The customers pages' parts that need no browser: phones as each role sees them,
fields shown with phones masked, the timeline's page number, and who changes are
attributed to."""

from __future__ import annotations

import datetime as dt

import pytest

from api.console.customer_page import acting, page_number
from api.console.customer_view import fields_shown, mask_phone, phone_shown
from api.console.session import Console
from api.deps import Caller
from engine.models.users import ConsoleSession, User
from engine.store.access import principal_of


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+8613800000000", "138****0000"),
        ("+8615012345678", "150****5678"),
        ("+14155550123", "141****0123"),
        ("+86123", "****"),
    ],
)
def test_staff_see_the_first_three_and_last_four_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_admins_and_operators_see_the_whole_number() -> None:
    assert phone_shown("+8613800000000", full=True) == "13800000000"
    assert phone_shown("+14155550123", full=True) == "+14155550123"
    assert phone_shown("+8613800000000", full=False) == "138****0000"


def test_fields_named_phone_are_masked_for_staff_only() -> None:
    fields = {"contact_phone": "13912345678", "clinic_id": "c01", "age": 7, "ok": True}
    assert fields_shown(fields, full=False) == [
        ("age", "7"),
        ("clinic_id", "c01"),
        ("contact_phone", "139****5678"),
        ("ok", "true"),
    ]
    assert ("contact_phone", "13912345678") in fields_shown(fields, full=True)


@pytest.mark.parametrize(
    ("text", "page"), [(None, 1), ("", 1), ("3", 3), ("0", 1), ("-2", 1), ("x", 1), ("99999", 1)]
)
def test_the_page_number_is_read_safely(text: str | None, page: int) -> None:
    assert page_number(text) == page


def test_changes_are_attributed_to_the_console_user() -> None:
    now = dt.datetime.now(dt.UTC)
    user = User(id="u-1", username="li.ops", display_name="李", role="operator", created_at=now)
    key = principal_of(user)
    store = object()
    console = Console(
        user,
        ConsoleSession(user=user, csrf_token="t", expires_at=now),
        "token",
        Caller(key, store),  # type: ignore[arg-type]
    )
    assert acting(console).source == "console:li.ops"
    assert console.caller.source == "api:console:li.ops"  # what a plain Caller would say
