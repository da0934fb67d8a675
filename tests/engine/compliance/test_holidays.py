"""Clinic holidays: the holidays.yaml file (checked with file and line), and holidays
joined to quiet hours in the send's eligibility."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from activities import eligibility
from engine.compliance.holidays import holiday_at, load_holidays, parse_document
from engine.compliance.policy import policy_from
from engine.models.journey import QuietHours
from engine.models.message import Message
from engine.store import Customer
from rules.view import ConsentRecord

SHANGHAI = "Asia/Shanghai"
NIGHT = QuietHours(start="21:00", end="08:00")


def local(text: str) -> datetime:
    return datetime.fromisoformat(text + "+08:00")


def holidays(tmp_path: Path, text: str) -> tuple[dict[str, object], list[str]]:
    (tmp_path / "holidays.yaml").write_text(text, encoding="utf-8")
    document, problems = load_holidays(tmp_path)
    return document, [f"{p.line}:{p.rule}:{p.message}" for p in problems]


def test_a_workspace_without_the_file_has_no_holidays(tmp_path: Path) -> None:
    assert load_holidays(tmp_path) == ({"holidays": []}, [])


def test_every_bad_holiday_is_named_with_its_line(tmp_path: Path) -> None:
    _, problems = holidays(
        tmp_path,
        "holidays:\n"
        "  - {name: ok, date: 2026-10-01}\n"
        "  - {name: no day}\n"
        "  - {from: 2026-10-07, to: 2026-10-01}\n"
        "  - {date: 2026-10-01, start: '18:00', end: '12:00'}\n"
        "  - {date: 2026-10-01, clinic: [sz-01]}\n",
    )
    assert [p.split(":")[0] for p in problems] == ["3", "4", "5", "6"]
    assert problems[0].startswith("3:C-holidays:") and "date or from" in problems[0]
    assert "to is before from" in problems[1]
    assert "start is not before end" in problems[2]
    assert "clinic" in problems[3] and "C-holidays" not in problems[3]  # unknown key


def test_a_date_that_is_no_calendar_day_is_named(tmp_path: Path) -> None:
    _, problems = holidays(tmp_path, "holidays:\n  - {date: 2026-10-01}\n  - {date: 2026-13-01}\n")
    assert len(problems) == 1 and problems[0].startswith("3:C-holidays:2026-13-01 is not a date")


def test_the_document_round_trips(tmp_path: Path) -> None:
    document, problems = holidays(
        tmp_path,
        "holidays:\n  - {name: 国庆节, from: 2026-10-01, to: 2026-10-07}\n"
        "  - {date: 2026-11-20, clinics: [sz-01], start: '12:00', end: '18:00'}\n",
    )
    assert problems == []
    assert document == {
        "holidays": [
            {"name": "国庆节", "from": "2026-10-01", "to": "2026-10-07", "start": "00:00",
             "end": "24:00"},
            {"date": "2026-11-20", "clinics": ["sz-01"], "start": "12:00", "end": "18:00"},
        ]
    }  # fmt: skip
    [national, stocktake] = parse_document(document)
    assert national.name == "国庆节" and stocktake.clinics == ["sz-01"]


def test_a_range_of_whole_days_is_one_window(tmp_path: Path) -> None:
    document, _ = holidays(tmp_path, "holidays:\n  - {from: 2026-10-01, to: 2026-10-07}\n")
    found = holiday_at(local("2026-10-02T10:00:00"), SHANGHAI, "sz-01", parse_document(document))
    assert found is not None
    assert found[0] == local("2026-10-08T00:00:00")
    assert (
        holiday_at(local("2026-10-08T00:00:00"), SHANGHAI, None, parse_document(document)) is None
    )


def test_a_clinic_holiday_holds_only_for_that_clinics_customers(tmp_path: Path) -> None:
    document, _ = holidays(
        tmp_path,
        "holidays:\n  - {date: 2026-11-20, clinics: [sz-01], start: '12:00', end: '18:00'}\n",
    )
    days = parse_document(document)
    at = local("2026-11-20T13:00:00")
    assert holiday_at(at, SHANGHAI, "sz-01", days) == (local("2026-11-20T18:00:00"), days[0])
    assert holiday_at(at, SHANGHAI, "bj-01", days) is None
    assert holiday_at(at, SHANGHAI, None, days) is None
    assert holiday_at(local("2026-11-20T11:59:00"), SHANGHAI, "sz-01", days) is None


MARKETING = Message.model_validate(
    {"id": "m", "purpose": "marketing", "sms": {"template_id": "1", "sign_name": "某某眼科",
     "text": "秋季复查已开放预约。拒收请回复R"}}
)  # fmt: skip
SERVICE = Message.model_validate(
    {"id": "s", "purpose": "service", "sms": {"template_id": "2", "sign_name": "某某眼科",
     "text": "您的眼镜已到店。"}}
)  # fmt: skip


def parent(clinic: str | None = "sz-01") -> Customer:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    return Customer(
        id="c-1",
        attributes={"phone": "+8613800000000", **({"clinic_id": clinic} if clinic else {})},
        consents=[ConsentRecord(purpose="marketing", channel="sms", at=at)],
    )


def test_a_marketing_send_on_a_holiday_waits_for_its_end_and_then_quiet_hours() -> None:
    policy = policy_from(
        {}, {"holidays": [{"name": "国庆节", "from": "2026-10-01", "to": "2026-10-07"}]}
    )
    verdict = eligibility.check(
        "sms", MARKETING, parent(), local("2026-10-02T10:00:00"), SHANGHAI, None, policy=policy
    )
    assert verdict is not None and verdict.outcome == "deferred"
    # The holiday ends at midnight, inside quiet hours: 08:00 is the first moment.
    assert verdict.retry_at == local("2026-10-08T08:00:00")
    assert verdict.reason == "clinic holiday 国庆节: quiet until 2026-10-08 08:00"


def test_quiet_hours_that_end_on_a_holiday_wait_for_it_too() -> None:
    policy = policy_from({}, {"holidays": [{"date": "2026-11-20", "end": "12:00"}]})
    verdict = eligibility.check(
        "sms", MARKETING, parent(), local("2026-11-19T22:00:00"), SHANGHAI, None, policy=policy
    )
    assert verdict is not None and verdict.retry_at == local("2026-11-20T12:00:00")


def test_service_messages_and_other_clinics_are_not_held() -> None:
    policy = policy_from({}, {"holidays": [{"date": "2026-11-20", "clinics": ["sz-01"]}]})
    at = local("2026-11-20T10:00:00")
    assert eligibility.check("sms", SERVICE, parent(), at, SHANGHAI, None, policy=policy) is None
    assert (
        eligibility.check("sms", MARKETING, parent("bj-01"), at, SHANGHAI, None, policy=policy)
        is None
    )
    assert (
        eligibility.check("sms", MARKETING, parent(None), at, SHANGHAI, None, policy=policy) is None
    )


def test_the_workspace_quiet_hours_are_the_default_and_the_journey_overrides_them() -> None:
    policy = policy_from({"quiet_hours": {"start": "20:00", "end": "09:00"}}, None)
    at = local("2026-03-02T20:30:00")
    workspace = eligibility.check("sms", MARKETING, parent(), at, SHANGHAI, None, policy=policy)
    assert workspace is not None and workspace.retry_at == local("2026-03-03T09:00:00")
    assert workspace.reason == "quiet hours until 09:00"
    journey = eligibility.check(
        "sms",
        MARKETING,
        parent(),
        at,
        SHANGHAI,
        QuietHours(start="22:00", end="07:00"),
        policy=policy,
    )
    assert journey is None  # the journey's own window has not begun


def test_quiet_hours_are_the_customers_local_time() -> None:
    customer = parent()
    customer.timezone = "Europe/Berlin"
    at = datetime(2026, 3, 2, 21, 30, tzinfo=UTC)  # 05:30 in Shanghai, 22:30 in Berlin
    verdict = eligibility.check("sms", MARKETING, customer, at, "Europe/Berlin", None, policy=None)
    assert verdict is not None
    assert verdict.retry_at == datetime(2026, 3, 3, 7, 0, tzinfo=UTC)  # 08:00 in Berlin
