"""Bring a database to the newest schema with the Alembic scripts in ``migrations/``."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from engine.store.sql.db import WRITE_OPTION, ensure_sqlite_folder, make_engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    """An Alembic configuration for ``url`` that does not depend on the working folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # Handed over as an attribute: a URL in the ini options would need %-escaping.
    config.attributes["url"] = url
    return config


def upgrade(url: str) -> None:
    """Migrate the database at ``url`` to head (creating a SQLite file's folder)."""
    ensure_sqlite_folder(url)
    engine = make_engine(url)
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            config = alembic_config(url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()
