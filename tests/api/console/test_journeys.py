"""The journey pages' parts that need no browser: who may steer, an experiment's arms
against the control as the page words them (percentage points), a version's YAML and
the diff of two, the enrollments' filters and timeline; and over the app: the versions
page, the enrollments as each role sees them, pause and resume in the change log."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from api.console.journey_diff import line_diff, version_yaml
from api.console.journey_enrollment_view import Filters, filters_of, timeline
from api.console.journey_view import arm_lines, may_steer
from engine.contracts.journey import EnrollmentStatusName, TraceEntry
from engine.models.users import Role
from engine.models.workspace import JourneyBundle
from engine.reports.journey_metrics import experiment
from engine.store.metrics import ArmCount
from engine.store.records import EnrollmentRecord, Identities
from engine.workspace.loader import load_workspace
from tests.api.helpers import Api

EXAMPLES = Path(__file__).parents[3] / "examples" / "eye-clinic"


@pytest.mark.parametrize(("role", "may"), [("admin", True), ("operator", True), ("staff", False)])
def test_only_admins_and_operators_pause_and_resume(role: str, may: bool) -> None:
    assert may_steer(role) is may


def test_each_arm_is_read_against_the_control_in_percentage_points() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    counted = [
        ArmCount(variant="holdout", entered=200, converted=20, running=0, last_entry=None),
        ArmCount(variant="call", entered=800, converted=160, running=0, last_entry=None),
    ]
    found = experiment("split", None, counted, None, now)
    assert found.control == "holdout" and not found.provisional
    [line] = arm_lines(found)
    assert line.variant == "call" and (line.entered, line.converted) == (800, 160)
    assert line.points == pytest.approx(10.0)  # 20 % against 10 %
    assert line.low is not None and line.high is not None
    assert line.low < 10.0 < line.high
    assert line.p_value is not None and line.p_value < 0.05 and line.significant


def test_an_open_experiment_is_never_called_significant() -> None:
    now = datetime(2026, 3, 2, tzinfo=UTC)
    counted = [
        ArmCount(variant="holdout", entered=200, converted=20, running=5, last_entry=now),
        ArmCount(variant="call", entered=800, converted=160, running=5, last_entry=now),
    ]
    found = experiment("split", None, counted, None, now)
    [line] = arm_lines(found)
    assert found.provisional and not line.significant


def test_a_diff_marks_added_and_removed_lines_with_context() -> None:
    letters = list("abcdefghijklm")
    old = "\n".join(letters)
    new = "\n".join([*letters[:4], "E", *letters[5:], "n"])  # e -> E, and n added
    first, second = line_diff(old, new)
    assert [(line.mark, line.text) for line in first.lines] == [
        (" ", "b"),
        (" ", "c"),
        (" ", "d"),
        ("-", "e"),
        ("+", "E"),
        (" ", "f"),
        (" ", "g"),
        (" ", "h"),
    ]
    assert (first.added, first.removed) == (1, 1)
    assert first.lines[3].old == 5 and first.lines[3].new is None
    assert first.lines[4].new == 5 and first.lines[4].old is None
    assert [(line.kind, line.text, line.new) for line in second.lines if line.kind != "same"] == [
        ("added", "n", 14)
    ]
    assert [line.text for line in second.lines] == ["k", "l", "m", "n"]
    assert line_diff(old, old) == []


def test_a_version_is_written_as_yaml_in_the_models_order_with_chinese_kept() -> None:
    bundle = load_workspace(EXAMPLES).bundle("payment_recovery")
    text = version_yaml(bundle)
    assert text.startswith("journey:\n  id: payment_recovery\n  name: 预约后未支付挽回\n")
    assert not any(line.startswith("version:") for line in text.splitlines())
    assert yaml.safe_load(text)["timezone"] == bundle.timezone
    # the same content writes the same text: a diff shows only what changed
    renamed = bundle.journey.model_copy(update={"name": "挽回"})
    changed = line_diff(text, version_yaml(bundle.model_copy(update={"journey": renamed})))
    assert [(line.mark, line.text) for h in changed for line in h.lines if line.kind != "same"] == [
        ("-", "  name: 预约后未支付挽回"),
        ("+", "  name: 挽回"),
    ]


def test_the_enrollment_filters_keep_only_valid_choices() -> None:
    params = {
        "status": "converted",
        "step": "remind",
        "variant": "nope",
        "from": "2026-03-01",
        "to": "2026-13-01",
        "page": "3",
    }
    found = filters_of(params, ["remind", "end"], ["holdout"])
    assert found == Filters("converted", "remind", None, date(2026, 3, 1), None, 3)
    assert found.offset == 100
    assert found.query(page=4) == "status=converted&step=remind&from=2026-03-01&page=4"
    assert filters_of({"status": "lost", "page": "0"}, [], []) == Filters()
    window = Filters(entered_from=date(2026, 3, 1), entered_to=date(2026, 3, 1))
    since, until = window.window(ZoneInfo("Asia/Shanghai"))
    assert since == datetime(2026, 2, 28, 16, tzinfo=UTC)  # the local day, whole
    assert until == datetime(2026, 3, 1, 16, tzinfo=UTC)


def test_the_timeline_marks_each_step_reached() -> None:
    t0 = datetime(2026, 3, 2, 2, tzinfo=UTC)
    record = EnrollmentRecord(id="e1", journey_id="j", version=1, customer_id="c-1", started_at=t0)
    trace = [
        TraceEntry(seq=1, at=t0, step="remind", kind="send", detail="m1"),
        TraceEntry(seq=2, at=t0, step="remind", kind="attempt", channel="sms", outcome="accepted"),
        TraceEntry(seq=3, at=t0, step="end", kind="exit", reason="done"),
        TraceEntry(seq=4, at=t0, kind="mystery"),
    ]
    moments = [(m.what, m.step) for m in timeline(record, trace)]
    assert moments == [
        ("entered", None),
        ("reached", "remind"),
        ("send", "remind"),
        ("attempt", "remind"),
        ("reached", "end"),
        ("exit", "end"),
        ("other", None),
    ]


# The pages over the app: two versions of a journey, customers of two clinics.

PASSWORD = "sesame-street-42"


async def _signed_in(api: Api, username: str, role: Role, clinics: list[str]) -> dict[str, str]:
    """Headers of a console session of a new user (English pages)."""
    user = api.store.create_user(username, PASSWORD, role, clinics)
    token, session = api.store.open_session(user.id, timedelta(hours=1))
    return {
        "Cookie": f"carepath_session={token}; lang=en",
        "X-CSRF-Token": session.csrf_token,
    }


@pytest.fixture
def deployed(api: Api) -> JourneyBundle:
    bundle = load_workspace(EXAMPLES).bundle("payment_recovery")
    t0 = datetime(2026, 3, 1, 2, tzinfo=UTC)
    api.store.deploy(bundle, at=t0)
    renamed = bundle.journey.model_copy(update={"name": "挽回"})
    api.store.deploy(bundle.model_copy(update={"journey": renamed}), at=t0 + timedelta(days=1))
    return bundle


async def test_the_versions_page_shows_each_version_and_marks_the_diff(
    api: Api, deployed: JourneyBundle
) -> None:
    headers = await _signed_in(api, "li.ops", "operator", [])
    page = await api.anonymous.get("/journeys/payment_recovery/versions", headers=headers)
    assert page.status_code == 200
    html = page.text
    assert "Changes from version 1 to version 2" in html
    removed = html.index('<tr class="diff-removed">')
    added = html.index('<tr class="diff-added">')
    assert removed < added
    assert '<span aria-hidden="true">-</span><span class="visually-hidden">Removed</span>' in html
    assert '<span aria-hidden="true">+</span><span class="visually-hidden">Added</span>' in html
    assert "  name: 挽回" in html[added:] and "  name: 预约后未支付挽回" in html[removed:added]
    assert html.count('<details id="v-') == 2 and "id: payment_recovery" in html
    # the same version twice: nothing to compare
    same = await api.anonymous.get(
        "/journeys/payment_recovery/versions?old=2&new=2", headers=headers
    )
    assert "diff-added" not in same.text and "Choose two different versions" in same.text
    missing = await api.anonymous.get("/journeys/nope/versions", headers=headers)
    assert missing.status_code == 404


async def test_enrollments_filter_and_staff_see_only_their_clinics(
    api: Api, deployed: JourneyBundle
) -> None:
    t0 = datetime(2026, 3, 2, 2, tzinfo=UTC)
    people = {}
    for n, clinic in enumerate(["sz-01", "bj-01"]):
        found = api.store.identify(Identities(phone=f"1380000770{n}"), {"clinic_id": clinic}, at=t0)
        people[clinic] = found.customer_id
    runs: list[tuple[str, str, EnrollmentStatusName, int]] = [
        ("e-sz-done", "sz-01", "converted", 0),
        ("e-sz-old", "sz-01", "exited", -5),
        ("e-bj", "bj-01", "converted", 0),
    ]
    for eid, clinic, status, day in runs:
        started = t0 + timedelta(days=day)
        api.store.record_enrollment(
            EnrollmentRecord(
                id=eid,
                journey_id="payment_recovery",
                version=1,
                customer_id=people[clinic],
                started_at=started,
            )
        )
        api.store.append_trace(
            eid, [TraceEntry(seq=1, at=started, step="remind", kind="send", detail="m1")]
        )
        api.store.finish_enrollment(eid, status, "goal", None, started + timedelta(hours=1))
    admin = await _signed_in(api, "chen.admin", "admin", [])
    staff = await _signed_in(api, "wang.desk", "staff", ["sz-01"])

    async def listed(headers: dict[str, str], query: str = "") -> set[str]:
        page = await api.anonymous.get(
            f"/journeys/payment_recovery/enrollments{query}", headers=headers
        )
        assert page.status_code == 200
        return set(re.findall(r'data-enrollment="([^"]+)"', page.text))

    assert await listed(admin) == {"e-sz-done", "e-sz-old", "e-bj"}
    assert await listed(admin, "?status=converted") == {"e-sz-done", "e-bj"}
    assert await listed(admin, "?from=2026-03-01&to=2026-03-02") == {"e-sz-done", "e-bj"}
    assert await listed(admin, "?step=remind&status=exited") == {"e-sz-old"}
    assert await listed(staff) == {"e-sz-done", "e-sz-old"}

    timeline_page = await api.anonymous.get(
        "/journeys/payment_recovery/enrollments/e-sz-done", headers=staff
    )
    assert timeline_page.status_code == 200
    assert "Reached step remind" in timeline_page.text
    assert f'href="/customers/{people["sz-01"]}"' in timeline_page.text
    assert "2026-03-02 10:00:00" in timeline_page.text  # Asia/Shanghai
    # another clinic's enrollment is a 404: the Caller's check, as the API's
    refused = await api.anonymous.get("/journeys/payment_recovery/enrollments/e-bj", headers=staff)
    assert refused.status_code == 404
    assert people["bj-01"] not in refused.text and "No such enrollment" in refused.text
    wrong_journey = await api.anonymous.get("/journeys/other/enrollments/e-sz-done", headers=admin)
    assert wrong_journey.status_code == 404


async def test_pause_and_resume_are_lines_of_the_change_log(
    api: Api, deployed: JourneyBundle
) -> None:
    headers = await _signed_in(api, "li.ops", "operator", [])
    paused = await api.anonymous.post("/journeys/payment_recovery/pause", headers=headers)
    assert paused.status_code == 303
    resumed = await api.admin.post("/v1/journeys/payment_recovery/resume")
    assert resumed.status_code == 200
    [by_api, by_console] = api.store.list_changes(
        subject_kind="journey", subject_id="payment_recovery"
    )
    assert (by_console.action, by_console.actor) == ("journey.paused", "console:li.ops")
    assert by_api.action == "journey.resumed" and by_api.actor.startswith("key:k-")
    page = await api.anonymous.get("/journeys/payment_recovery", headers=headers)
    assert "Paused by console:li.ops" in page.text
    assert f"Resumed by {by_api.actor}" in page.text
