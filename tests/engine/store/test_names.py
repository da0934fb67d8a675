"""Customers found by the beginning of their name, on SQLite and PostgreSQL: by name
then id, merged customers left out, a clinic filter, and the name index used."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import create_engine, text

from engine.errors import NotFound
from engine.store.access import visible_customer, visible_customers
from engine.store.records import ApiKeyRecord, Identities
from engine.store.sql import SqlStore
from engine.store.sql.names import named_query

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


@pytest.mark.parametrize("clinics", [None, ["c01", "c02"]])
def test_the_search_reads_the_name_index(sql_url: str, clinics: list[str] | None) -> None:
    """The store's own statement, planned by the database: the name index is read."""
    engine = create_engine(sql_url)
    try:
        query = named_query("张", clinics, 20)
        sql = str(query.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                plan = " ".join(str(r[-1]) for r in conn.execute(text("EXPLAIN QUERY PLAN " + sql)))
            else:
                conn.execute(text("SET enable_seqscan = off"))
                plan = " ".join(str(r[0]) for r in conn.execute(text("EXPLAIN " + sql)))
        # Every customer of a clinic is a range too: with a clinic filter either serves.
        wanted = (
            ("ix_customers_name",)
            if clinics is None
            else ("ix_customers_name", "ix_customers_clinic")
        )
        assert any(index in plan for index in wanted), plan
    finally:
        engine.dispose()


def test_briefs_give_name_clinic_and_first_phone_in_the_order_asked(sql_store: SqlStore) -> None:
    a = _customer(sql_store, "13800000021", "赵一", "c03")
    b = sql_store.identify(Identities(wechat_openid="o-2"), {"name": "钱二"}, at=T0).customer_id
    briefs = sql_store.customer_briefs([b, "c-unknown", a, b])
    assert [(x.id, x.name, x.clinic, x.phone) for x in briefs] == [
        (b, "钱二", None, None),
        (a, "赵一", "c03", "+8613800000021"),
    ]
    assert sql_store.customer_briefs([]) == []


def test_visible_customers_is_the_one_check_for_many(sql_store: SqlStore) -> None:
    mine = _customer(sql_store, "13800000031", "孙三", "c01")
    theirs = _customer(sql_store, "13800000032", "李四", "c02")
    staff = ApiKeyRecord(id="k-1", name="desk", scopes=["staff"], clinics=["c01"], created_at=T0)
    admin = ApiKeyRecord(id="k-2", name="ops", scopes=["admin"], clinics=[], created_at=T0)
    asked = [theirs, mine, "c-unknown"]
    assert visible_customers(sql_store, staff, asked) == [mine]
    assert visible_customers(sql_store, admin, asked) == [theirs, mine]
    for customer in (mine, theirs):  # the same answer as one at a time
        try:
            one = [visible_customer(sql_store, staff, customer)]
        except NotFound:
            one = []
        assert one == visible_customers(sql_store, staff, [customer])
