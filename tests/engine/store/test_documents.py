"""Deployed workspace documents: stored once per content, read back by every process."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from engine.store.sql import SqlStore

pytestmark = pytest.mark.db

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_a_document_is_stored_read_back_and_replaced(sql_store: SqlStore) -> None:
    assert sql_store.get_document("tagging") is None
    assert sql_store.put_document("tagging", {"rules": [{"tag": "近视"}]}, at=T0) is True
    assert sql_store.put_document("tagging", {"rules": [{"tag": "近视"}]}, at=T0) is False
    assert sql_store.get_document("tagging") == {"rules": [{"tag": "近视"}]}
    assert sql_store.put_document("tagging", {"rules": []}, at=T0) is True
    assert sql_store.get_document("tagging") == {"rules": []}


def test_another_process_sees_a_deploy(sql_store: SqlStore) -> None:
    other = SqlStore(sql_store.url)
    try:
        assert other.get_document("compliance") is None
        sql_store.put_document("compliance", {"opt_out_keywords": ["T"]}, at=T0)
        other._documents_cache().clear()  # as after DOCUMENT_MAX_AGE
        assert other.get_document("compliance") == {"opt_out_keywords": ["T"]}
    finally:
        other.close()
