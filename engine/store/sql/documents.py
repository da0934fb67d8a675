"""Deployed workspace-wide documents: one JSON document per name, the latest deploy's.

A workspace holds files that belong to no single journey (``tagging.yaml``, the
compliance and holiday files). A deploy validates them and stores each here under a
name, so the API and every worker process read the same deployed version, not the
files of whatever folder they were started in. Reads are cached for a few seconds:
documents change only on deploy.
"""

from __future__ import annotations

import hashlib
import json
import time
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine.store.sql.common import SqlPart
from engine.store.sql.tables import WorkspaceDocumentRow

#: Seconds a read document is reused; another process's deploy is seen within this.
DOCUMENT_MAX_AGE = 5.0


def document_checksum(document: dict[str, Any]) -> str:
    """sha256 of the document's canonical JSON."""
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class DocumentsPart(SqlPart):
    def put_document(self, name: str, document: dict[str, Any], *, at: datetime) -> bool:
        """Store ``document`` under ``name``; True when it differs from the stored one."""
        checksum = document_checksum(document)
        with self._db.write() as s, s.begin():
            row = s.get(WorkspaceDocumentRow, name, with_for_update=True)
            if row is not None and row.checksum == checksum:
                return False
            if row is None:
                s.add(
                    WorkspaceDocumentRow(
                        name=name, document=document, checksum=checksum, deployed_at=at
                    )
                )
            else:
                row.document, row.checksum, row.deployed_at = document, checksum, at
        self._documents_cache().pop(name, None)
        return True

    def get_document(self, name: str) -> dict[str, Any] | None:
        """The deployed document ``name`` (None when none was deployed)."""
        cache = self._documents_cache()
        hit = cache.get(name)
        if hit is not None and time.monotonic() - hit[0] < DOCUMENT_MAX_AGE:
            return hit[1]
        with self._db.read() as s, s.begin():
            document = s.scalar(
                select(WorkspaceDocumentRow.document).where(WorkspaceDocumentRow.name == name)
            )
        cache[name] = (time.monotonic(), document)
        return document

    def _documents_cache(self) -> dict[str, tuple[float, dict[str, Any] | None]]:
        cache: dict[str, tuple[float, dict[str, Any] | None]] | None = getattr(
            self, "_document_cache", None
        )
        if cache is None:
            cache = {}
            self._document_cache = cache
        return cache
