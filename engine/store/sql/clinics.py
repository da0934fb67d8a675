"""The clinics carepath knows of, for the console's clinic filter.

A customer's clinic is their ``clinic_id`` attribute, which has no index: listing the
distinct values would read every customer. The clinics are named, far more cheaply, by
the small tables that carry them: QR codes, handoff tasks (by their clinic index),
cost rows, and the clinics of console users and API keys.
"""

from __future__ import annotations

from sqlalchemy import CompoundSelect, select, union

from engine.store.sql.common import SqlPart
from engine.store.sql.tables import ApiKeyRow, CostRow, QrCodeRow, TaskRow, UserRow


class ClinicsPart(SqlPart):
    def known_clinics(self) -> list[str]:
        """Every clinic id named by a QR code, a handoff task, a cost row, a console
        user or an API key, sorted."""
        named: CompoundSelect[tuple[str | None]] = union(
            select(QrCodeRow.clinic).distinct(),
            select(TaskRow.clinic).distinct(),
            select(CostRow.clinic_id).distinct(),
        )
        found: set[str] = set()
        with self._db.read() as s, s.begin():
            found.update(value for value in s.scalars(select(named.subquery().c[0])) if value)
            for clinics in s.scalars(select(UserRow.clinics)):
                found.update(c for c in clinics or [] if c)
            for clinics in s.scalars(select(ApiKeyRow.clinics)):
                found.update(c for c in clinics or [] if c)
        return sorted(found)
