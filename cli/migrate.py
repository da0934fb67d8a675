"""``carepath migrate``: bring the configured database to the newest schema.

Workers do not migrate: run this before starting them on a new or upgraded install
(``carepath up`` runs it at start, and the API migrates on start too). The Alembic
scripts are in ``engine/store/migrations/``; a database at the newest revision is
left as it is, so running it twice is safe.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import make_url

from engine.settings import get_settings
from engine.store.sql.db import ensure_sqlite_folder, make_engine
from engine.store.sql.migrate import alembic_config, upgrade

__all__ = ["Migration", "main", "migrate"]


@dataclass(frozen=True)
class Migration:
    """The schema revision of a database before and after ``migrate``."""

    before: str | None
    after: str | None


def migrate(url: str) -> Migration:
    """Migrate the database at ``url`` to the newest schema (creating a SQLite file and
    its folder); the revisions before and after."""
    before = current_revision(url)
    upgrade(url)
    return Migration(before, current_revision(url))


def current_revision(url: str) -> str | None:
    """The Alembic revision the database at ``url`` is at; None for an empty one."""
    ensure_sqlite_folder(url)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def main(args: argparse.Namespace) -> int:
    """Run ``carepath migrate``; return the exit code."""
    url = args.database_url or get_settings().database.url
    done = migrate(url)
    head = ScriptDirectory.from_config(alembic_config(url)).get_current_head()
    where = make_url(url).render_as_string(hide_password=True)
    if done.before == done.after:
        print(f"{where}: already at the newest schema ({head}); nothing to do")
    elif done.before is None:
        print(f"{where}: schema created at {done.after} (the newest)")
    else:
        print(f"{where}: migrated from {done.before} to {done.after} (the newest)")
    return 0
