"""The SQL store under test: a fresh SQLite file per test, or a PostgreSQL schema.

Set ``CAREPATH_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1/test``)
to run on PostgreSQL: each test module gets its own schema, migrated once and dropped
at the end; tables are emptied between tests.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from engine.store.sql import SqlStore
from engine.store.sql.tables import Base
from tests.db import ENV, migrated_database


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str | None]:
    """A migrated schema of its own for this module, or None to use SQLite."""
    if not os.environ.get(ENV):
        yield None
        return
    with migrated_database(tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture
def sql_url(postgres_url: str | None, tmp_path: Path) -> Iterator[str]:
    if postgres_url is None:
        with migrated_database(tmp_path) as url:
            yield url
        return
    yield postgres_url
    engine = create_engine(postgres_url)
    with engine.begin() as conn:
        tables = ", ".join(f'"{t}"' for t in Base.metadata.tables)
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    engine.dispose()


@pytest.fixture
def sql_store(sql_url: str) -> Iterator[SqlStore]:
    store = SqlStore(sql_url)
    yield store
    store.close()
