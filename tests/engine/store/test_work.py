"""Deliveries, handoff tasks, API keys and the migration in the SQL store."""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text

from engine.errors import NotFound
from engine.store.records import DeliveryRecord, HandoffTask
from engine.store.sql import Conflict, SqlStore
from engine.store.sql.tables import ApiKeyRow, Base

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 1, 2, 0, tzinfo=UTC)


def _delivery(key: str = "k1") -> DeliveryRecord:
    return DeliveryRecord(key=key, enrollment_id="e1", step="remind", channel="sms", at=T0)


def test_of_eight_workers_beginning_one_delivery_exactly_one_calls(sql_store: SqlStore) -> None:
    start = threading.Barrier(8)
    answers: list[DeliveryRecord | None] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            start.wait()
            answers.append(sql_store.begin_delivery(_delivery()))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert answers.count(None) == 1
    assert {a.status for a in answers if a is not None} == {"calling"}


def test_a_transient_delivery_may_be_tried_again_and_a_done_one_not(sql_store: SqlStore) -> None:
    assert sql_store.begin_delivery(_delivery()) is None
    sql_store.end_delivery("k1", "transient", "timeout", None)
    assert sql_store.begin_delivery(_delivery()) is None
    sql_store.end_delivery("k1", "accepted", "", "ref-1")
    again = sql_store.begin_delivery(_delivery())
    assert again is not None
    assert (again.status, again.outcome, again.provider_ref) == ("done", "accepted", "ref-1")
    with pytest.raises(NotFound):
        sql_store.end_delivery("k-none", "accepted", "", None)


def _task(
    task_id: str, queue: str = "nurses", clinic: str | None = "sz-01", **kw: object
) -> HandoffTask:
    fields: dict[str, object] = {
        "id": task_id,
        "enrollment_id": "e1",
        "customer_id": "c-1",
        "journey_id": "j",
        "step": "call",
        "queue": queue,
        "clinic": clinic,
        "created_at": T0,
        **kw,
    }
    return HandoffTask.model_validate(fields)


def test_handoff_tasks_through_claim_escalation_and_completion(sql_store: SqlStore) -> None:
    first = sql_store.create_task(_task("T-a", due_at=T0 + timedelta(hours=2)))
    assert sql_store.create_task(_task("T-a", queue="changed")) == first
    generated = sql_store.create_task(_task("", clinic="gz-02", due_at=T0 + timedelta(hours=1)))
    assert generated.id.startswith("T-") and len(generated.id) == 12
    sql_store.create_task(_task("T-b", queue="doctors"))

    assert [t.id for t in sql_store.list_open_tasks("nurses")] == [generated.id, "T-a"]
    assert [t.id for t in sql_store.list_open_tasks("nurses", ["sz-01"])] == ["T-a"]
    assert [t.id for t in sql_store.list_open_tasks(clinics=["gz-02"])] == [generated.id]

    claimed = sql_store.claim_task("T-a", "nurse-1")
    assert claimed.status == "claimed"
    assert sql_store.claim_task("T-a", "nurse-1").status == "claimed"
    with pytest.raises(Conflict):
        sql_store.claim_task("T-a", "nurse-2")

    escalated = sql_store.escalate_task("T-a", "head-nurse")
    assert (escalated.status, escalated.escalated_to) == ("escalated", "head-nurse")
    assert [t.id for t in sql_store.list_open_tasks("head-nurse")] == ["T-a"]
    assert "T-a" not in [t.id for t in sql_store.list_open_tasks("nurses")]
    assert sql_store.claim_task("T-a", "head-1").status == "claimed"
    assert [t.id for t in sql_store.list_open_tasks("head-nurse")] == ["T-a"]

    done = sql_store.complete_task("T-a", "booked")
    assert (done.status, done.outcome) == ("done", "booked")
    assert sql_store.complete_task("T-a", "booked") == done
    with pytest.raises(Conflict):
        sql_store.complete_task("T-a", "no_answer")
    assert sql_store.escalate_task("T-a", "elsewhere").status == "done"
    assert sql_store.list_open_tasks("head-nurse") == []
    assert [t.id for t in sql_store.list_tasks("doctors")] == ["T-b"]
    with pytest.raises(NotFound):
        sql_store.get_task("T-none")
    with pytest.raises(NotFound):
        sql_store.claim_task("T-none", "nurse-1")
    with pytest.raises(NotFound):
        sql_store.escalate_task("T-none", "head-nurse")
    with pytest.raises(NotFound):
        sql_store.complete_task("T-none", "booked")


def test_api_key_secrets_are_kept_only_as_hashes(sql_store: SqlStore, sql_url: str) -> None:
    record, secret = sql_store.create_api_key("front desk", ["staff"], ["sz-01"], at=T0)
    assert secret.startswith("cp_") and len(secret) == 35
    # Finding a key records its use (the last-used time).
    assert sql_store.find_api_key(secret, at=T0) == record.model_copy(update={"last_used_at": T0})
    assert sql_store.find_api_key(secret + "x") is None
    assert sql_store.find_api_key("") is None

    engine = create_engine(sql_url)
    with engine.connect() as conn:
        stored = [str(value) for row in conn.execute(select(ApiKeyRow.__table__)) for value in row]
    engine.dispose()
    assert not any(secret in value for value in stored)
    assert hashlib.sha256(secret.encode()).hexdigest() in stored


def _not_the_name_index(obj: object, name: str | None, kind: str, *_: object) -> bool:
    return not (kind == "index" and name in ("ix_customers_name", "ix_customers_clinic"))


def test_the_migration_creates_every_table_as_modelled(sql_url: str) -> None:
    engine = create_engine(sql_url)
    try:
        with engine.connect() as conn:
            tables = set(inspect(conn).get_table_names())
            assert tables == {*Base.metadata.tables, "alembic_version"}
            for name, table in Base.metadata.tables.items():
                indexes = {i["name"] for i in inspect(conn).get_indexes(name)}
                assert indexes >= {i.name for i in table.indexes}, name
            # The name index is an expression per dialect (migration 0018), not modelled.
            opts = {"compare_type": True, "include_object": _not_the_name_index}
            context = MigrationContext.configure(conn, opts=opts)
            assert compare_metadata(context, Base.metadata) == []
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0021"
    finally:
        engine.dispose()
