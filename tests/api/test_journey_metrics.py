"""GET /v1/journeys/{id}/metrics: a split with a holdout whose enrollments are written
to the store with known arms and goals gives exactly the expected counts and statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine.contracts.journey import TraceEntry
from engine.reports.experiments import compare, sample_ratio
from engine.store.records import EnrollmentRecord
from engine.store.sql import SqlStore
from tests.api.helpers import Api, deploy, identify
from tests.factories import workspace

pytestmark = pytest.mark.db

TRIAL = {
    "id": "trial",
    "name": "试验",
    "trigger": {"api": True},
    "goal": {"event": "appointment.paid", "within": "30d"},
    "steps": [
        {
            "id": "pick",
            "split": {"variants": [{"name": "offer", "weight": 1, "goto": "pause"}], "holdout": 1},
        },
        {"id": "pause", "wait": {"duration": "3d"}},
        {"id": "done", "exit": "waited"},
    ],
}
OLD = datetime(2026, 3, 2, 4, 0, tzinfo=UTC)  # 12:00 in Shanghai, long closed windows
RECENT = datetime.now(UTC) - timedelta(days=2)


def enroll(store: SqlStore, n: int, arm: str, converted: int, at: datetime) -> None:
    """``n`` enrollments drawn into ``arm`` at ``at``, ``converted`` of them meeting the
    goal and the rest ending as the arm does; none when ``at`` is recent (running)."""
    running = at == RECENT
    for i in range(n):
        eid = f"trial:{arm}:{at:%j}:{i}"
        store.record_enrollment(
            EnrollmentRecord(
                id=eid, journey_id="trial", version=1, customer_id=f"c{i}", started_at=at
            )
        )
        split = TraceEntry(seq=1, at=at, step="pick", kind="split", variant=arm)
        store.append_trace(eid, [split])
        if running:
            continue
        if i < converted:
            status, reason = "converted", "goal"
        else:
            status, reason = (
                ("exited", "holdout") if arm == "holdout" else ("completed", "completed")
            )
        store.finish_enrollment(eid, status, reason, arm, at + timedelta(days=5))


def arm(body: dict[str, Any], name: str) -> dict[str, Any]:
    found = [a for a in body["experiments"][0]["arms"] if a["variant"] == name]
    assert len(found) == 1, body
    return found[0]


async def test_a_closed_experiment_reports_its_arms_and_statistics(
    api: Api, tmp_path: Path
) -> None:
    await deploy(api, workspace(tmp_path / "ws", [TRIAL]))
    enroll(api.store, 100, "holdout", 10, OLD)
    enroll(api.store, 106, "offer", 14, OLD)
    response = await api.admin.get(
        "/v1/journeys/trial/metrics", params={"from": "2026-03-01", "to": "2026-04-01"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["entered"], body["active_now"], body["converted"], body["completed"]) == (
        206,
        0,
        24,
        92,
    )
    assert body["exited"] == {"holdout": 90}
    assert body["steps"]["pick"]["reached"] == 206
    (trial,) = body["experiments"]
    assert (trial["step"], trial["control"], trial["provisional"]) == ("pick", "holdout", False)
    control, offer = arm(body, "holdout"), arm(body, "offer")
    assert (control["n"], control["c"], control["p"], control["control"]) == (100, 10, 0.1, True)
    assert control["versus_control"] is None
    assert (offer["n"], offer["c"], offer["weight"]) == (106, 14, 1.0)
    expected = compare(10, 100, 14, 106, provisional=False)
    assert offer["versus_control"] == expected.model_dump(mode="json")
    assert offer["versus_control"]["incremental_conversions"] == pytest.approx(
        3.4
    )  # 14 - 0.1 x 106
    assert not offer["versus_control"]["significant"]
    ratio = trial["sample_ratio"]
    assert ratio == sample_ratio([106, 100], [1, 1]).model_dump(mode="json")
    assert ratio["chi_squared"] == pytest.approx(18 / 103, rel=1e-9)  # 103 expected per arm
    assert not ratio["mismatch"]


async def test_date_and_version_filters_pick_the_cohort(api: Api, tmp_path: Path) -> None:
    await deploy(api, workspace(tmp_path / "ws", [TRIAL]))
    enroll(api.store, 20, "holdout", 2, OLD)
    enroll(api.store, 20, "offer", 5, OLD)
    enroll(api.store, 3, "offer", 0, RECENT)
    everything = (await api.admin.get("/v1/journeys/trial/metrics")).json()
    assert (everything["entered"], everything["active_now"]) == (43, 3)
    assert everything["experiments"][0]["provisional"]  # three entrants still running
    assert arm(everything, "offer")["n"] == 23
    assert not arm(everything, "offer")["versus_control"]["significant"]
    march = await api.admin.get(
        "/v1/journeys/trial/metrics",
        params={"from": "2026-03-02", "to": "2026-03-03", "version": 1},
    )
    assert march.status_code == 200, march.text
    assert march.json()["entered"] == 40 and not march.json()["experiments"][0]["provisional"]
    # Half-open: a range ending on the entry day leaves it out.
    before = (await api.admin.get("/v1/journeys/trial/metrics", params={"to": "2026-03-02"})).json()
    assert (before["entered"], before["experiments"]) == (0, [])
    missing = await api.admin.get("/v1/journeys/trial/metrics", params={"version": 2})
    assert missing.status_code == 404
    backwards = await api.admin.get(
        "/v1/journeys/trial/metrics", params={"from": "2026-03-03", "to": "2026-03-02"}
    )
    assert backwards.status_code == 422 and "to" in backwards.text
    assert (await api.ingest.get("/v1/journeys/trial/metrics")).status_code == 403
    # The running ones have no workflow behind them: end them before the rig cancels it.
    for record in api.store.list_enrollments(journey_id="trial", status="running"):
        api.store.finish_enrollment(record.id, "exited", "test finished", "offer", RECENT)


async def test_a_staff_key_counts_its_clinics_customers_only(api: Api, tmp_path: Path) -> None:
    await deploy(api, workspace(tmp_path / "ws", [TRIAL]))
    clinics = ["sz-01", "sz-01", "sz-01", "bj-01", "bj-01"]
    for i, clinic in enumerate(clinics):
        customer = await identify(
            api, customer={"phone": f"1380000000{i}"}, attributes={"clinic_id": clinic}
        )
        eid = f"trial:{i}"
        api.store.record_enrollment(
            EnrollmentRecord(
                id=eid, journey_id="trial", version=1, customer_id=customer, started_at=OLD
            )
        )
        split = TraceEntry(seq=1, at=OLD, step="pick", kind="split", variant="offer")
        api.store.append_trace(eid, [split])

    async def entered(client: Any, **params: str) -> int:
        response = await client.get("/v1/journeys/trial/metrics", params=params)
        assert response.status_code == 200, response.text
        return int(response.json()["entered"])

    assert await entered(api.admin) == 5
    assert await entered(api.admin, clinic_id="bj-01") == 2
    assert await entered(api.staff) == 3
    assert await entered(api.staff, clinic_id="sz-01") == 3
    # Another clinic's figures: as if it had no customers, not an error.
    assert await entered(api.staff, clinic_id="bj-01") == 0
    assert await entered(api.other_staff) == 2
    for record in api.store.list_enrollments(journey_id="trial", status="running"):
        api.store.finish_enrollment(record.id, "exited", "test finished", "offer", RECENT)
