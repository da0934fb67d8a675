"""The call-task page's parts that need no browser: the phone as staff see it before
and after a claim, the time left or overdue, ages, the order of the list, claimants."""

from __future__ import annotations

import datetime as dt

import pytest

from api.console.task_cards import (
    TimeLeft,
    age_of,
    digest,
    masked_phone,
    national,
    ordered,
    tel_href,
    time_left,
    username_of,
)
from engine.store.records import HandoffTask

NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+8613800000000", "138****0000"),
        ("13912345678", "139****5678"),
        ("+85291234567", "+852****4567"),
        ("+441632960961", "+441*****0961"),
        ("12345", "***45"),
        ("123", "**23"),
    ],
)
def test_the_middle_of_a_phone_is_hidden(phone: str, masked: str) -> None:
    assert masked_phone(phone) == masked


def test_a_claimed_number_is_dialled_in_full() -> None:
    assert national("+8613800001234") == "13800001234"
    assert national("+85291234567") == "+85291234567"
    assert tel_href("+86 138-0000-1234") == "tel:+8613800001234"


def test_time_left_rounds_up_and_overdue_rounds_down() -> None:
    assert time_left(None, NOW) is None
    assert time_left(NOW + dt.timedelta(seconds=30), NOW) == TimeLeft(False, 1)
    left = time_left(NOW + dt.timedelta(hours=3, minutes=59, seconds=1), NOW)
    assert left == TimeLeft(False, 240) and (left.days, left.hours, left.rest) == (0, 4, 0)
    late = time_left(NOW - dt.timedelta(days=1, hours=2, minutes=5, seconds=50), NOW)
    assert late == TimeLeft(True, 26 * 60 + 5)
    assert (late.days, late.hours, late.rest) == (1, 2, 5)
    assert time_left(NOW, NOW) == TimeLeft(True, 0)


def test_age_comes_from_the_birth_date_else_an_age() -> None:
    today = dt.date(2026, 3, 2)
    assert age_of({"birth_date": "2016-03-02"}, today) == 10
    assert age_of({"birth_date": "2016-03-03"}, today) == 9
    assert age_of({"birth_date": "2016-03-03T00:00:00+08:00"}, today) == 9
    assert age_of({"age": 42}, today) == 42
    assert age_of({"birth_date": "not a date", "age": 7}, today) == 7
    assert age_of({"birth_date": "2030-01-01"}, today) is None
    assert age_of({"age": True}, today) is None
    assert age_of({}, today) is None


def _task(task_id: str, due: dt.timedelta | None, status: str = "open") -> HandoffTask:
    return HandoffTask.model_validate(
        {
            "id": task_id,
            "enrollment_id": f"e-{task_id}",
            "customer_id": "c-1",
            "journey_id": "callback",
            "step": "call",
            "queue": "optometrist",
            "created_at": NOW - dt.timedelta(days=1),
            "due_at": None if due is None else NOW + due,
            "status": status,
        }
    )


def test_overdue_tasks_come_first_then_the_soonest_due_then_the_rest() -> None:
    tasks = [
        _task("later", dt.timedelta(hours=4)),
        _task("undated", None),
        _task("done", -dt.timedelta(hours=9), "done"),
        _task("late", -dt.timedelta(minutes=5)),
        _task("latest", -dt.timedelta(hours=2), "claimed"),
        _task("soon", dt.timedelta(minutes=10)),
    ]
    assert [t.id for t in ordered(tasks, NOW)] == [
        "latest",
        "late",
        "soon",
        "later",
        "undated",
        "done",
    ]


def test_a_claimant_is_a_console_user_or_an_api_key() -> None:
    assert username_of("api:console:wang.desk") == "wang.desk"
    assert username_of("api:crm") is None
    assert username_of(None) is None


def test_the_fingerprint_changes_with_what_the_list_shows() -> None:
    assert digest("<li>a</li>") == digest("<li>a</li>")
    assert digest("<li>a</li>") != digest("<li>b</li>")
