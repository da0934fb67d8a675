"""``GET /v1/journeys/{id}/runs`` refuses journeys without a schedule trigger (the
schedule and its ticks are tested on the real dev server: tests/e2e/test_scheduled.py)."""

from __future__ import annotations

import pytest

from tests.api.helpers import Api, deploy

pytestmark = pytest.mark.db


async def test_runs_of_a_journey_without_a_schedule_are_a_404(api: Api) -> None:
    await deploy(api, journey="payment_recovery")
    response = await api.admin.get("/v1/journeys/payment_recovery/runs")
    assert response.status_code == 404
    assert "no schedule trigger" in response.json()["detail"]
    unknown = await api.admin.get("/v1/journeys/nope/runs")
    assert unknown.status_code == 404
    assert (await api.staff.get("/v1/journeys/payment_recovery/runs")).status_code == 403
