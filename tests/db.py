"""A migrated database for a test: a SQLite file, or a PostgreSQL schema of its own.

Set ``CAREPATH_TEST_DATABASE_URL`` (e.g. ``postgresql+psycopg://postgres@127.0.0.1/test``)
to run on PostgreSQL; the schema is dropped afterwards.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.scratch import scratch_database

ENV = "CAREPATH_TEST_DATABASE_URL"


@contextmanager
def migrated_database(folder: Path) -> Iterator[str]:
    """The URL of a fresh, migrated database; PostgreSQL when the environment says so."""
    with scratch_database(folder / "var" / "carepath.db", os.environ.get(ENV), "t") as url:
        yield url
