"""Isolation: a staff key reads only its own clinics' customers, and another clinic's
data answers exactly as an unknown id does; an ingest key ingests and nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.api.helpers import Api, TwoClinics, two_clinics

pytestmark = pytest.mark.db

#: Finding 1: every read of a customer a sz-01 staff key could make.
CUSTOMER_READS = ("", "/identities", "/events", "/enrollments", "/guardians", "/touches")


@pytest.fixture
async def clinics(api: Api, tmp_path: Path) -> TwoClinics:
    return await two_clinics(api, tmp_path)


@pytest.mark.parametrize("suffix", CUSTOMER_READS)
async def test_a_staff_key_cannot_read_another_clinics_customer(
    api: Api, clinics: TwoClinics, suffix: str
) -> None:
    theirs = await api.staff.get(f"/v1/customers/{clinics.bj.customer}{suffix}")
    unknown = await api.staff.get(f"/v1/customers/c-nobody{suffix}")
    assert theirs.status_code == unknown.status_code == 404, theirs.text
    # Same answer as an id that does not exist: nothing to probe, nothing leaked.
    assert theirs.json()["detail"] == f"no customer {clinics.bj.customer!r}"
    assert clinics.bj.phone[-4:] not in theirs.text
    # The clinic's own staff reads it; the sz-01 key reads its own customer.
    assert (await api.other_staff.get(f"/v1/customers/{clinics.bj.customer}{suffix}")).is_success
    mine = await api.staff.get(f"/v1/customers/{clinics.sz.customer}{suffix}")
    assert mine.status_code == 200, mine.text
    assert mine.json()


async def test_a_merged_id_of_another_clinic_is_refused_too(api: Api, clinics: TwoClinics) -> None:
    response = await api.staff.get(f"/v1/customers/{clinics.bj.merged}")
    assert response.status_code == 404
    assert (await api.staff.get(f"/v1/customers/{clinics.sz.merged}")).json()["id"] == (
        clinics.sz.customer
    )


async def test_merges_are_listed_for_the_keys_clinics_only(api: Api, clinics: TwoClinics) -> None:
    everyone = (await api.admin.get("/v1/merges")).json()
    assert {m["survivor_id"] for m in everyone} == {clinics.sz.customer, clinics.bj.customer}
    mine = (await api.staff.get("/v1/merges")).json()
    assert [(m["survivor_id"], m["merged_id"]) for m in mine] == [
        (clinics.sz.customer, clinics.sz.merged)
    ]
    theirs = await api.staff.get("/v1/merges", params={"customer": clinics.bj.merged})
    assert theirs.status_code == 404


async def test_a_customer_without_a_clinic_is_seen_by_admin_keys_only(api: Api) -> None:
    response = await api.ingest.post("/v1/identify", json={"customer": {"phone": "13500135000"}})
    customer = response.json()["customer_id"]
    assert (await api.staff.get(f"/v1/customers/{customer}")).status_code == 404
    assert (await api.admin.get(f"/v1/customers/{customer}")).status_code == 200


async def test_a_staff_key_cannot_work_or_see_another_clinics_task(
    api: Api, clinics: TwoClinics
) -> None:
    claim = await api.staff.post(f"/v1/handoffs/{clinics.bj.task}/claim")
    assert (claim.status_code, claim.json()["detail"]) == (
        404,
        f"no handoff task {clinics.bj.task!r}",
    )
    done = await api.staff.post(
        f"/v1/handoffs/{clinics.bj.task}/complete", json={"outcome": "booked"}
    )
    assert done.status_code == 404
    assert [t["id"] for t in (await api.staff.get("/v1/handoffs")).json()] == [clinics.sz.task]
    assert api.store.get_task(clinics.bj.task).status == "open"


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("refuse-automated-marketing", None),
        ("subscribe-consents", {"template_id": "SUB_0001"}),
    ],
)
async def test_an_ingest_key_cannot_change_consents(
    api: Api, clinics: TwoClinics, path: str, body: dict[str, str] | None
) -> None:
    customer = clinics.sz.customer
    response = await api.ingest.post(f"/v1/customers/{customer}/{path}", json=body)
    assert response.status_code == 403, response.text
    assert response.json()["detail"] == "key 'crm' has scope ingest; this needs " + (
        "staff" if path.startswith("refuse") else "admin"
    )
    assert api.store.get_customer(customer).consents == []
    assert api.store.subscribe_balance(customer, "SUB_0001") in (None, 0)


async def test_staff_record_a_refusal_for_their_own_clinic_only(
    api: Api, clinics: TwoClinics
) -> None:
    theirs = await api.staff.post(f"/v1/customers/{clinics.bj.customer}/refuse-automated-marketing")
    assert theirs.status_code == 404
    assert api.store.get_customer(clinics.bj.customer).consents == []
    mine = await api.staff.post(f"/v1/customers/{clinics.sz.customer}/refuse-automated-marketing")
    assert mine.status_code == 200, mine.text
    assert [(c["purpose"], c["channel"], c["granted"]) for c in mine.json()] == [
        ("marketing", None, False)
    ]
    trail = (await api.admin.get(f"/v1/customers/{clinics.sz.customer}/audit")).json()
    assert trail[-1]["detail"].startswith("source PIPL refusal (api:sz-desk)")
    subscribe = await api.staff.post(
        f"/v1/customers/{clinics.sz.customer}/subscribe-consents", json={"template_id": "T"}
    )
    assert subscribe.status_code == 403
