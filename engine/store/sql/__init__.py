"""The SQL store (SQLite for one machine, PostgreSQL for production).

``upgrade(url)`` migrates the schema to head; ``SqlStore(url)`` implements both
``engine.store.activity_store.ActivityStore`` and ``engine.store.service_store.ServiceStore``.
"""

from __future__ import annotations

from engine.errors import Conflict
from engine.store.sql.journeys import bundle_checksum
from engine.store.sql.migrate import upgrade
from engine.store.sql.store import SqlStore

__all__ = ["Conflict", "SqlStore", "bundle_checksum", "upgrade"]
