"""Subscribe-message consents recorded through the API fill the balance sends spend."""

from __future__ import annotations

import pytest

from tests.api.helpers import Api, identify

pytestmark = pytest.mark.db


async def test_consents_add_up_replace_and_need_a_known_customer(api: Api) -> None:
    cid = await identify(api, customer={"wechat_openid": "o-sub-1"})
    path = f"/v1/customers/{cid}/subscribe-consents"
    first = await api.admin.post(path, json={"template_id": "SUB_0001"})
    assert (first.status_code, first.json()) == (200, {"template_id": "SUB_0001", "balance": 1})
    more = await api.admin.post(path, json={"template_id": "SUB_0001", "count": 2})
    assert more.json()["balance"] == 3
    reset = await api.admin.post(
        path, json={"template_id": "SUB_0001", "count": 0, "replace": True}
    )
    assert reset.json()["balance"] == 0
    assert api.store.subscribe_balance(cid, "SUB_0001") == 0
    bad = await api.admin.post(path, json={"template_id": "", "count": -1})
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} >= {"template_id", "count"}
    missing = await api.admin.post(
        "/v1/customers/c-nobody/subscribe-consents", json={"template_id": "SUB_0001"}
    )
    assert missing.status_code == 404
    staff = await api.staff.post(path, json={"template_id": "SUB_0001"})
    assert staff.status_code == 403
