"""Identity hygiene through the API: one customer per phone however it is written,
refused numbers and customer ids, and API keys that can expire and be revoked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from api.deps import KeyCache
from cli.main import main
from tests.api.helpers import Api

pytestmark = pytest.mark.db


async def identify(api: Api, customer: dict[str, str]) -> str:
    response = await api.ingest.post("/v1/identify", json={"customer": customer})
    assert response.status_code == 200, response.text
    return str(response.json()["customer_id"])


async def refused(api: Api, customer: dict[str, str]) -> dict[str, str]:
    response = await api.ingest.post("/v1/identify", json={"customer": customer})
    assert response.status_code == 422, response.text
    return {e["field"]: e["message"] for e in response.json()["errors"]}


async def test_full_width_digits_and_separators_are_the_same_customer(api: Api) -> None:
    ascii_id = await identify(api, {"phone": "13800000001"})
    for written in (
        "１３８０００００００１",
        "１３８－００００－０００１",
        "+86 138 0000 0001",
        "0086-13800000001",
    ):
        assert await identify(api, {"phone": written}) == ascii_id, written
    customer = (await api.admin.get(f"/v1/customers/{ascii_id}")).json()
    phones = [i["value"] for i in customer["identities"] if i["kind"] == "phone"]
    assert phones == ["+8613800000001"]


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("137-0000-0001 ext 99", "no letters or extensions"),
        ("137-0000-0001#99", "is not a phone number"),
        ("1380000000a", "no letters or extensions"),
        ("1380000", "is not a phone number"),
        ("138000000011234567", "is not a phone number"),
    ],
)
async def test_numbers_no_message_can_reach_are_refused_naming_the_field(
    api: Api, phone: str, message: str
) -> None:
    found = await refused(api, {"phone": phone})
    assert list(found) == ["customer.phone"]
    assert message in found["customer.phone"]


@pytest.mark.parametrize(
    "customer_id", ["../../etc/passwd", "a/b", "..", ".hidden", "c 1", "c\u00e9", "x" * 65]
)
async def test_client_chosen_customer_ids_are_limited_to_a_safe_alphabet(
    api: Api, customer_id: str
) -> None:
    found = await refused(api, {"customer_id": customer_id})
    assert list(found) == ["customer.customer_id"]
    assert "letters, digits and _ - . :" in found["customer.customer_id"]


async def test_safe_customer_ids_are_kept_as_given(api: Api) -> None:
    for customer_id in ("his:123-45_6.7", "C-2026", "x" * 64):
        assert await identify(api, {"customer_id": customer_id}) == customer_id


async def test_a_revoked_key_gets_401_once_the_cache_forgets_it(
    api: Api, sql_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        await api.ingest.post("/v1/identify", json={"customer": {"customer_id": "c1"}})
    ).is_success
    assert main(["keys", "revoke", "crm", "--database-url", sql_url]) == 0
    assert "revoked" in capsys.readouterr().out
    # The key cache trusts a found key for up to 10 s; here it forgets at once.
    cache = KeyCache(ttl=0)
    transport = api.ingest._transport
    app = transport.app  # type: ignore[attr-defined]
    app.state.key_cache = cache
    response = await api.ingest.post("/v1/identify", json={"customer": {"customer_id": "c1"}})
    assert response.status_code == 401, response.text
    assert response.json()["detail"] == "unknown or revoked API key"


async def test_an_expired_key_gets_401(api: Api, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    _, secret = api.store.create_api_key(
        "short", ["ingest"], [], at=now - timedelta(days=2), expires_at=now - timedelta(days=1)
    )
    headers = {"Authorization": f"Bearer {secret}"}
    response = await api.anonymous.post(
        "/v1/identify", json={"customer": {"customer_id": "c1"}}, headers=headers
    )
    assert response.status_code == 401, response.text
    _, fresh = api.store.create_api_key(
        "fresh", ["ingest"], [], at=now, expires_at=now + timedelta(days=90)
    )
    response = await api.anonymous.post(
        "/v1/identify",
        json={"customer": {"customer_id": "c1"}},
        headers={"Authorization": f"Bearer {fresh}"},
    )
    assert response.status_code == 200, response.text
