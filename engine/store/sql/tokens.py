"""Access tokens shared between worker processes (filled in by the token cache work)."""

from __future__ import annotations

from engine.store.sql.common import SqlPart


class TokensPart(SqlPart):
    pass
