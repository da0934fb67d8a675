"""Touches in the SQL store: once per message id, the first touch once, merges, and the
migration that copies first touches set before it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from engine.models.attribution import NewTouch
from engine.store.records import Identities
from engine.store.sql import SqlStore
from engine.store.sql.migrate import alembic_config

pytestmark = pytest.mark.db

T0 = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def touch(message_id: str, channel: str, at: datetime = T0, **fields: str) -> NewTouch:
    return NewTouch(
        message_id=message_id, kind="qr_scan", fields={"channel": channel, **fields}, at=at
    )


def test_a_touch_is_kept_once_and_only_the_first_sets_the_source(sql_store: SqlStore) -> None:
    cid = sql_store.resolve(Identities(phone="13800000001"), at=T0).customer_id
    assert sql_store.record_touch(cid, touch("m-1", "school_event", clinic="sz-01")) is True
    assert sql_store.record_touch(cid, touch("m-1", "school_event", clinic="sz-01")) is None
    later = touch("m-2", "poster", T0 + timedelta(days=1))
    assert sql_store.record_touch(cid, later) is False
    source = sql_store.get_customer(cid).source
    assert source == {"channel": "school_event", "clinic": "sz-01", "at": T0.isoformat()}
    assert [t.message_id for t in sql_store.list_touches(cid)] == ["m-2", "m-1"]
    (row,) = sql_store.source_report(["channel"])
    assert (row.channel, row.customers, row.touches) == ("school_event", 1, 2)


def test_a_merge_moves_touches_and_keeps_the_survivors_first(sql_store: SqlStore) -> None:
    older = sql_store.resolve(Identities(phone="13800000002"), at=T0).customer_id
    newer = sql_store.resolve(
        Identities(wechat_openid="o-merge"), at=T0 + timedelta(minutes=1)
    ).customer_id
    sql_store.record_touch(older, touch("a", "school_event"))
    sql_store.record_touch(newer, touch("b", "poster"))
    both = Identities(phone="13800000002", wechat_openid="o-merge")
    survivor = sql_store.resolve(both, at=T0 + timedelta(hours=1)).customer_id
    assert survivor == older
    assert {t.message_id for t in sql_store.list_touches(survivor)} == {"a", "b"}
    (row,) = sql_store.source_report(["channel"])  # one customer, one first touch
    assert (row.channel, row.customers, row.touches) == ("school_event", 1, 2)


def test_the_migration_copies_first_touches_set_before_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    command.upgrade(alembic_config(url), "0007")
    engine = create_engine(url)
    with engine.begin() as conn:
        for cid, source in (
            ("c-qr", {"channel": "wechat_qr", "scene": "sz-01", "at": T0.isoformat()}),
            ("c-none", {}),
        ):
            conn.execute(
                text(
                    "INSERT INTO customers (id, attributes, follows_wechat, source, created_at) "
                    "VALUES (:id, '{}', 1, :source, :at)"
                ),
                {"id": cid, "source": json.dumps(source), "at": T0.isoformat()},
            )
    command.upgrade(alembic_config(url), "0008")
    with engine.begin() as conn:
        rows = conn.execute(
            text("SELECT customer_id, kind, channel, scene, first FROM touches")
        ).all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("c-qr", "imported", "wechat_qr", "sz-01", 1)]
