"""A scratch database, migrated to head: a SQLite file, or a PostgreSQL schema of its own.

For the test suite and the benchmarks, which must never touch a real database's
tables: on PostgreSQL the schema is created for the caller and dropped afterwards.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from engine.store.sql.migrate import upgrade


@contextmanager
def scratch_database(sqlite_file: Path, postgres_url: str | None, prefix: str) -> Iterator[str]:
    """The URL of a fresh migrated database: ``sqlite_file`` when ``postgres_url`` is
    empty, else a new schema ``{prefix}_<hex>`` on that server, dropped at the end."""
    if not postgres_url:
        # The folder may not exist yet: upgrade creates it, as on a first start.
        url = f"sqlite:///{sqlite_file}"
        upgrade(url)
        yield url
        return
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    scoped = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        rendered = scoped.render_as_string(hide_password=False)
        upgrade(rendered)
        yield rendered
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
