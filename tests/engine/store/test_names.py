"""Customers found by the beginning of their name, on SQLite and PostgreSQL: by name
then id, merged customers left out, a clinic filter, and the name index used."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from engine.store.records import Identities
from engine.store.sql import SqlStore

pytestmark = pytest.mark.db

T0 = datetime(2027, 2, 9, 2, 0, tzinfo=UTC)


def _customer(store: SqlStore, phone: str, name: str, clinic: str) -> str:
    found = store.identify(Identities(phone=phone), {"name": name, "clinic_id": clinic}, at=T0)
    return found.customer_id


def test_names_beginning_with_the_text_in_order(sql_store: SqlStore) -> None:
    zs = _customer(sql_store, "13800000001", "张三", "c01")
    zsf = _customer(sql_store, "13800000002", "张三丰", "c02")
    zw = _customer(sql_store, "13800000003", "张伟", "c01")
    _customer(sql_store, "13800000004", "李张", "c01")  # 张 not at the start
    assert sql_store.customers_named("张三") == [(zs, "张三"), (zsf, "张三丰")]
    assert [cid for cid, _ in sql_store.customers_named(" 张 ")] == [zs, zsf, zw]
    assert sql_store.customers_named("张", clinics=["c01"]) == [(zs, "张三"), (zw, "张伟")]
    assert sql_store.customers_named("张", clinics=[]) == []
    assert sql_store.customers_named("张", limit=1) == [(zs, "张三")]
    assert sql_store.customers_named("") == []
    assert sql_store.customers_named("王") == []


def test_a_merged_customer_is_not_found_by_name(sql_store: SqlStore) -> None:
    kept = _customer(sql_store, "13800000011", "王芳", "c01")
    gone = sql_store.identify(Identities(wechat_openid="o-1"), {"name": "王芳"}, at=T0)
    assert {cid for cid, _ in sql_store.customers_named("王芳")} == {kept, gone.customer_id}
    merged = sql_store.identify(
        Identities(phone="13800000011", wechat_openid="o-1"), {}, at=T0
    ).customer_id
    assert [cid for cid, _ in sql_store.customers_named("王芳")] == [merged]


def test_the_search_reads_the_name_index(sql_url: str) -> None:
    engine = create_engine(sql_url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                plan = conn.execute(
                    text(
                        "EXPLAIN QUERY PLAN SELECT id FROM customers WHERE "
                        "json_extract(attributes, '$.name') >= :a AND "
                        "json_extract(attributes, '$.name') < :b"
                    ),
                    {"a": "张", "b": "张\U0010ffff"},
                ).all()
                assert "ix_customers_name" in " ".join(str(row[-1]) for row in plan)
            else:
                conn.execute(text("SET enable_seqscan = off"))
                plan = conn.execute(
                    text(
                        "EXPLAIN SELECT id FROM customers WHERE (attributes ->> 'name') >= :a "
                        "AND (attributes ->> 'name') < :b"
                    ),
                    {"a": "张", "b": "张\U0010ffff"},
                ).all()
                assert "ix_customers_name" in " ".join(str(row[0]) for row in plan)
    finally:
        engine.dispose()
