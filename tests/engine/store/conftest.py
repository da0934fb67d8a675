"""The SQL store under test: a fresh SQLite file per test, or a PostgreSQL schema.

Set ``CAREPATH_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1/test``)
to run on PostgreSQL: each test module gets its own schema, migrated once and dropped
at the end; tables are emptied between tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, make_url, text

from engine.store.sql import SqlStore, upgrade
from engine.store.sql.tables import Base

ENV = "CAREPATH_TEST_DATABASE_URL"


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str | None]:
    """A migrated schema of its own for this module, or None to use SQLite."""
    base = os.environ.get(ENV)
    if not base:
        yield None
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        rendered = url.render_as_string(hide_password=False)
        upgrade(rendered)
        yield rendered
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def sql_url(postgres_url: str | None, tmp_path: Path) -> Iterator[str]:
    if postgres_url is None:
        # var/ does not exist yet: upgrade creates it, as on a first start.
        url = f"sqlite:///{tmp_path / 'var' / 'carepath.db'}"
        upgrade(url)
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
