"""Platform callbacks acted on once (filled in by the callback work)."""

from __future__ import annotations

from engine.store.sql.common import SqlPart


class CallbacksPart(SqlPart):
    pass
