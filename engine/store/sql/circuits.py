"""Circuits opened by configuration errors (``engine.store.circuits``), and the quota
windows as an operator sees and resets them."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.store.circuits import OPS_CUSTOMER, ConfigCircuit, QuotaWindow
from engine.store.records import Identities
from engine.store.sql.common import SqlPart
from engine.store.sql.events import insert_event
from engine.store.sql.identity import resolve_by_keys
from engine.store.sql.tables import CircuitRow, ConfigCircuitRow


class CircuitsPart(SqlPart):
    def config_circuit(self, channel: str, template: str) -> ConfigCircuit | None:
        """The open circuit that stops a send of ``template`` on ``channel``: the
        channel's own first, else the template's; None when both are closed."""
        with self._db.read() as s, s.begin():
            for key in ((channel, ""), (channel, template)):
                row = s.get(ConfigCircuitRow, key)
                if row is not None and row.closed_at is None:
                    return _circuit(row)
        return None

    def open_config_circuit(self, circuit: ConfigCircuit) -> bool:
        """Open ``circuit`` unless it is open already; True when this call opened it.
        Its ``carepath.channel_alert`` event is stored in the same write (not yet
        dispatched: the sweep hands it to the journeys it triggers), so racing workers
        record one opening and one alert."""

        def work(s: Session) -> bool:
            key = (circuit.channel, circuit.template)
            row = s.get(ConfigCircuitRow, key, with_for_update=True)
            if row is not None and row.closed_at is None:
                return False
            if row is None:
                row = ConfigCircuitRow(channel=circuit.channel, template=circuit.template)
                s.add(row)
            row.error, row.opened_at, row.digest = circuit.error, circuit.opened_at, circuit.digest
            row.closed_at = row.closed_by = None
            at = circuit.opened_at
            ops = resolve_by_keys(s, Identities(customer_id=OPS_CUSTOMER), True, at)
            insert_event(self._db, s, ops.customer_id, circuit.alert(), received_at=at)
            return True

        return self._write_retrying(work)

    def close_config_circuit(self, channel: str, template: str, *, by: str, at: datetime) -> bool:
        """Close one circuit; False when it was not open."""
        with self._db.write() as s, s.begin():
            row = s.get(ConfigCircuitRow, (channel, template), with_for_update=True)
            if row is None or row.closed_at is not None:
                return False
            row.closed_at, row.closed_by = at, by
            return True

    def config_circuits(self) -> list[ConfigCircuit]:
        """Every configuration circuit, open and closed, by channel and template."""
        query = select(ConfigCircuitRow).order_by(
            ConfigCircuitRow.channel, ConfigCircuitRow.template
        )
        with self._db.read() as s, s.begin():
            return [_circuit(r) for r in s.scalars(query)]

    def quota_windows(self) -> list[QuotaWindow]:
        """Every channel's last quota window (it may have ended), by channel."""
        with self._db.read() as s, s.begin():
            rows = s.scalars(select(CircuitRow).order_by(CircuitRow.channel))
            return [
                QuotaWindow(
                    channel=r.channel,
                    open_until=r.open_until,
                    reason=r.reason,
                    opened_at=r.opened_at,
                )
                for r in rows
            ]

    def reset_circuits(
        self, channel: str, template: str | None, *, by: str, at: datetime
    ) -> list[ConfigCircuit]:
        """An operator's reset: the template's circuit, or (``template`` None) every
        circuit of the channel and its quota window. The circuits it closed."""

        def work(s: Session) -> list[ConfigCircuit]:
            query = select(ConfigCircuitRow).where(
                ConfigCircuitRow.channel == channel, ConfigCircuitRow.closed_at.is_(None)
            )
            if template is not None:
                query = query.where(ConfigCircuitRow.template == template)
            else:
                window = s.get(CircuitRow, channel, with_for_update=True)
                if window is not None and window.open_until > at:
                    window.open_until = at
            closed = []
            for row in s.scalars(query.with_for_update()):
                row.closed_at, row.closed_by = at, by
                closed.append(_circuit(row))
            return closed

        return self._write_retrying(work)

    def close_changed_circuits(
        self, deployed: Mapping[tuple[str, str], set[str]], *, at: datetime
    ) -> list[ConfigCircuit]:
        """After a deploy: close every open template circuit whose content is no longer
        deployed as it was when it opened (changed, or its template no longer used)."""

        def work(s: Session) -> list[ConfigCircuit]:
            query = select(ConfigCircuitRow).where(
                ConfigCircuitRow.template != "", ConfigCircuitRow.closed_at.is_(None)
            )
            closed = []
            for row in s.scalars(query.with_for_update()):
                if row.digest not in deployed.get((row.channel, row.template), set()):
                    row.closed_at, row.closed_by = at, "deploy"
                    closed.append(_circuit(row))
            return closed

        return self._write_retrying(work)


def _circuit(row: ConfigCircuitRow) -> ConfigCircuit:
    return ConfigCircuit.model_validate(row, from_attributes=True)
