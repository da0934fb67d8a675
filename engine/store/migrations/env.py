"""Alembic environment of the carepath store.

The database URL comes from, in order: ``alembic -x url=...``, the ``url`` attribute
set by ``engine.store.sql.migrate``, then ``CAREPATH_DATABASE__URL`` via the settings.
A connection handed over by ``migrate.upgrade`` is used as is (its transaction is
committed by the caller).
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy.engine import Connection

from engine.store.sql.db import WRITE_OPTION, ensure_sqlite_folder, make_engine
from engine.store.sql.tables import Base

config = context.config
target_metadata = Base.metadata
if config.config_file_name is not None:  # the alembic command line: log as alembic.ini says
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def database_url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    if url:
        return url
    given = config.attributes.get("url")
    if isinstance(given, str):
        return given
    from engine.settings import get_settings

    return get_settings().database.url


def run_on(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite: changes to existing tables go through copy-and-move batches.
        render_as_batch=connection.dialect.name == "sqlite",
        # SQLite supports transactional DDL once BEGIN is ours (see store.sql.db).
        transactional_ddl=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(
        url=database_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    given = config.attributes.get("connection")
    if isinstance(given, Connection):
        run_on(given)
        return
    url = database_url()
    ensure_sqlite_folder(url)
    engine = make_engine(url)
    try:
        with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            run_on(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
