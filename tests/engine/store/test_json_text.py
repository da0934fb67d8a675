"""JSON written with its characters: a property or attribute with a Chinese name is read
by the reports' ``prop_text`` on SQLite as on PostgreSQL, and migration 0021 rewrites
the documents an older store wrote with ``\\uXXXX`` escapes."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from sqlalchemy import select, text

from engine.store.records import Identities
from engine.store.sql import SqlStore
from engine.store.sql.db import json_text
from engine.store.sql.reports.query import prop_text
from engine.store.sql.tables import CustomerRow, EventRow
from tests.db import migrated_database
from tests.engine.store.test_tallies import _migrate

pytestmark = pytest.mark.db

AT = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def test_characters_are_written_as_themselves_and_a_lone_surrogate_stays_escaped() -> None:
    assert json_text({"来源": "抖音"}) == '{"来源": "抖音"}'
    assert json_text({"k": "\ud800"}) == '{"k": "\\ud800"}'  # not UTF-8: kept escaped
    assert json.loads(json_text({"k": "\ud800"})) == {"k": "\ud800"}


def _read(store: SqlStore, customer_id: str) -> tuple[str | None, str | None]:
    dialect = store._db.dialect
    with store._analytic_read() as s:
        level = s.scalar(
            select(prop_text(CustomerRow.attributes, "会员等级", dialect)).where(
                CustomerRow.id == customer_id
            )
        )
        source = s.scalar(
            select(prop_text(EventRow.properties, "来源", dialect)).where(
                EventRow.customer_id == customer_id
            )
        )
    return level, source


def _customer_with_an_event(store: SqlStore) -> str:
    found = store.identify(Identities(phone="13900001111"), {"会员等级": "金卡"}, at=AT)
    with store._db.write() as s, s.begin():
        s.add(
            EventRow(
                message_id="m-1",
                customer_id=found.customer_id,
                name="page.viewed",
                properties={"来源": "抖音"},
                at=AT,
            )
        )
    return found.customer_id


def test_a_chinese_key_is_found_by_the_reports(sql_store: SqlStore) -> None:
    customer_id = _customer_with_an_event(sql_store)
    assert _read(sql_store, customer_id) == ("金卡", "抖音")


def test_the_migration_rewrites_escaped_documents(tmp_path: Path) -> None:
    with migrated_database(tmp_path) as url:
        store = SqlStore(url)
        try:
            customer_id = _customer_with_an_event(store)
            if store._db.dialect != "sqlite":
                pytest.skip("PostgreSQL's JSONB keeps characters, whatever was sent")
            with store._db.write() as s, s.begin():  # as an older store wrote them
                for table, column in (("customers", "attributes"), ("events", "properties")):
                    for key, doc in s.execute(text(f"SELECT rowid, {column} FROM {table}")):  # noqa: S608
                        escaped = json.dumps(json.loads(doc))
                        s.execute(
                            text(f"UPDATE {table} SET {column} = :d WHERE rowid = :k"),  # noqa: S608
                            {"d": escaped, "k": key},
                        )
            assert _read(store, customer_id) == (None, None)  # what users met
            _migrate(url, "0020")
            _migrate(url, "head")
            assert _read(store, customer_id) == ("金卡", "抖音")
            assert store.get_customer(customer_id).attributes == {"会员等级": "金卡"}
        finally:
            store.close()
