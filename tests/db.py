"""A migrated database for a test: a SQLite file, or a PostgreSQL schema of its own.

Set ``CAREPATH_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1/test``)
to run on PostgreSQL; the schema is dropped afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from engine.store.sql import upgrade

ENV = "CAREPATH_TEST_DATABASE_URL"


@contextmanager
def migrated_database(folder: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database; PostgreSQL when the environment says so."""
    base = os.environ.get(ENV)
    if not base:
        # var/ does not exist yet: upgrade creates it, as on a first start.
        url = f"sqlite:///{folder / 'var' / 'carepath.db'}"
        upgrade(url)
        yield url
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
