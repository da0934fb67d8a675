"""An in-process store: simulations run on their own sandboxed data with it."""

from __future__ import annotations

import itertools
import threading
from datetime import datetime
from typing import Any

from engine.contracts.journey import EnrollmentStatusName, TraceEntry
from engine.errors import NotFound
from engine.models.workspace import JourneyBundle
from engine.store.circuits import ConfigCircuit
from engine.store.records import (
    CapCheck,
    Customer,
    DeliveryRecord,
    EnrollmentRecord,
    HandoffTask,
    NewEvent,
    SendSlot,
)
from rules.view import ConsentRecord


class MemoryStore:
    """Thread-safe dictionaries behind the ``ActivityStore`` protocol."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.customers: dict[str, Customer] = {}
        self.bundles: dict[tuple[str, int], JourneyBundle] = {}
        self.enrollments: dict[str, EnrollmentRecord] = {}
        self.traces: dict[str, list[TraceEntry]] = {}
        self.deliveries: dict[str, DeliveryRecord] = {}
        self.tasks: dict[str, HandoffTask] = {}
        self._task_ids = itertools.count(1)
        self.circuits: dict[str, tuple[datetime, str]] = {}
        self.config_circuits: dict[tuple[str, str], ConfigCircuit] = {}
        self.alerts: list[NewEvent] = []  # carepath.channel_alert events, in order
        self.balances: dict[tuple[str, str], int] = {}
        self.results: dict[str, datetime] = {}  # delivery key -> result read back
        self.slots: dict[str, SendSlot] = {}  # delivery key -> send counted by the caps
        self.documents: dict[str, dict[str, Any]] = {}  # deployed workspace documents
        self.guardians: dict[str, list[str]] = {}  # minor -> guardians, in link order

    # customers ---------------------------------------------------------------------------
    def get_customer(self, customer_id: str) -> Customer:
        with self._lock:
            try:
                return self.customers[customer_id].model_copy(deep=True)
            except KeyError:
                raise NotFound(f"no customer {customer_id!r}") from None

    def customer_timezone(self, customer_id: str) -> str | None:
        return self.get_customer(customer_id).timezone

    def put_customer(self, customer: Customer) -> None:
        with self._lock:
            self.customers[customer.id] = customer.model_copy(deep=True)

    def change_tags(
        self, customer_id: str, add: list[str], remove: list[str], source: str
    ) -> list[str]:
        with self._lock:
            customer = self._customer(customer_id)
            changed = [f"+{t}" for t in add if t not in customer.tags]
            changed += [f"-{t}" for t in remove if t in customer.tags]
            for tag in add:
                customer.tags.setdefault(tag, source)
            for tag in remove:
                customer.tags.pop(tag, None)
            return changed

    def set_attributes(self, customer_id: str, values: dict[str, Any]) -> list[str]:
        with self._lock:
            customer = self._customer(customer_id)
            changed = [k for k, v in values.items() if customer.attributes.get(k) != v]
            customer.attributes.update(values)
            return changed

    def add_event(self, customer_id: str, event: Any) -> None:
        with self._lock:
            self._customer(customer_id).events.append(event)

    def _customer(self, customer_id: str) -> Customer:
        try:
            return self.customers[customer_id]
        except KeyError:
            raise NotFound(f"no customer {customer_id!r}") from None

    # journeys ----------------------------------------------------------------------------
    def put_bundle(self, bundle: JourneyBundle) -> None:
        with self._lock:
            self.bundles[(bundle.journey.id, bundle.version)] = bundle

    def get_bundle(self, journey_id: str, version: int) -> JourneyBundle:
        with self._lock:
            try:
                return self.bundles[(journey_id, version)]
            except KeyError:
                raise NotFound(f"no journey {journey_id!r} version {version}") from None

    # enrollments -------------------------------------------------------------------------
    def record_enrollment(self, record: EnrollmentRecord) -> None:
        with self._lock:
            self.enrollments.setdefault(record.id, record)

    def get_enrollment(self, enrollment_id: str) -> EnrollmentRecord:
        with self._lock:
            try:
                return self.enrollments[enrollment_id]
            except KeyError:
                raise NotFound(f"no enrollment {enrollment_id!r}") from None

    def ever_enrolled(self, journey_id: str, customer_id: str, key: str | None) -> bool:
        with self._lock:
            return any(
                e.journey_id == journey_id and e.customer_id == customer_id and e.key == key
                for e in self.enrollments.values()
            )

    def finish_enrollment(
        self,
        enrollment_id: str,
        status: EnrollmentStatusName,
        reason: str | None,
        variant: str | None,
        at: datetime,
        trace: list[TraceEntry] | None = None,
    ) -> None:
        self.append_trace(enrollment_id, trace or [])
        with self._lock:
            record = self.enrollments.get(enrollment_id)
            if record is not None:
                self.enrollments[enrollment_id] = record.model_copy(
                    update={
                        "status": status,
                        "exit_reason": reason,
                        "variant": variant,
                        "ended_at": at,
                    }
                )

    def append_trace(self, enrollment_id: str, entries: list[TraceEntry]) -> None:
        if entries:
            with self._lock:
                stored = self.traces.setdefault(enrollment_id, [])
                last = stored[-1].seq if stored else 0
                # A retried activity carries the same entries again: keep each seq once.
                stored.extend(e for e in entries if e.seq > last)

    def get_trace(self, enrollment_id: str) -> list[TraceEntry]:
        with self._lock:
            return list(self.traces.get(enrollment_id, []))

    # deliveries --------------------------------------------------------------------------
    def begin_delivery(
        self, record: DeliveryRecord, trace: list[TraceEntry] | None = None
    ) -> DeliveryRecord | None:
        self.append_trace(record.enrollment_id, trace or [])
        with self._lock:
            existing = self.deliveries.get(record.key)
            if existing is not None and existing.outcome != "transient":
                return existing
            self.deliveries[record.key] = record
            return None

    def end_delivery(self, key: str, outcome: str, detail: str, provider_ref: str | None) -> None:
        with self._lock:
            record = self.deliveries[key]
            self.deliveries[key] = record.model_copy(
                update={
                    "status": "done",
                    "outcome": outcome,
                    "detail": detail,
                    "provider_ref": provider_ref,
                }
            )

    def find_delivery(self, provider_ref: str, channel: str) -> DeliveryRecord | None:
        with self._lock:
            found = [
                d
                for d in self.deliveries.values()
                if d.provider_ref == provider_ref and d.channel == channel
            ]
            return found[-1] if found else None

    # handoff tasks -----------------------------------------------------------------------
    def create_task(self, task: HandoffTask, trace: list[TraceEntry] | None = None) -> HandoffTask:
        self.append_trace(task.enrollment_id, trace or [])
        with self._lock:
            for existing in self.tasks.values():
                # Idempotent under activity retries: one task per enrollment step visit.
                if existing.id == task.id:
                    return existing
            if not task.id:
                task = task.model_copy(update={"id": f"T-{next(self._task_ids)}"})
            self.tasks[task.id] = task
            return task

    def get_task(self, task_id: str) -> HandoffTask:
        with self._lock:
            try:
                return self.tasks[task_id]
            except KeyError:
                raise NotFound(f"no handoff task {task_id!r}") from None

    def escalate_task(self, task_id: str, queue: str) -> HandoffTask:
        with self._lock:
            task = self.get_task(task_id).model_copy(
                update={"status": "escalated", "escalated_to": queue}
            )
            self.tasks[task_id] = task
            return task

    def complete_task(self, task_id: str, outcome: str) -> HandoffTask:
        with self._lock:
            task = self.get_task(task_id).model_copy(update={"status": "done", "outcome": outcome})
            self.tasks[task_id] = task
            return task

    def list_tasks(self, queue: str | None = None) -> list[HandoffTask]:
        with self._lock:
            return [t for t in self.tasks.values() if queue is None or t.queue == queue]

    # channel state -----------------------------------------------------------------------
    def circuit(self, channel: str, now: datetime) -> tuple[datetime, str] | None:
        with self._lock:
            state = self.circuits.get(channel)
            return state if state is not None and state[0] > now else None

    def open_circuit(self, channel: str, until: datetime, reason: str, at: datetime) -> None:
        with self._lock:
            current = self.circuits.get(channel)
            if current is None or current[0] < until:
                self.circuits[channel] = (until, reason)

    def config_circuit(self, channel: str, template: str) -> ConfigCircuit | None:
        with self._lock:
            for key in ((channel, ""), (channel, template)):
                found = self.config_circuits.get(key)
                if found is not None and found.closed_at is None:
                    return found
            return None

    def open_config_circuit(self, circuit: ConfigCircuit) -> bool:
        with self._lock:
            current = self.config_circuits.get((circuit.channel, circuit.template))
            if current is not None and current.closed_at is None:
                return False
            self.config_circuits[(circuit.channel, circuit.template)] = circuit
            self.alerts.append(circuit.alert())
            return True

    def close_config_circuit(self, channel: str, template: str, *, by: str, at: datetime) -> bool:
        with self._lock:
            current = self.config_circuits.get((channel, template))
            if current is None or current.closed_at is not None:
                return False
            self.config_circuits[(channel, template)] = current.model_copy(
                update={"closed_at": at, "closed_by": by}
            )
            return True

    def subscribe_balance(self, customer_id: str, template_id: str) -> int | None:
        with self._lock:
            return self.balances.get((customer_id, template_id))

    def change_subscribe_balance(
        self,
        customer_id: str,
        template_id: str,
        *,
        delta: int = 0,
        set_to: int | None = None,
        at: datetime,
    ) -> int:
        with self._lock:
            current = self.balances.get((customer_id, template_id), 0)
            balance = max(0, set_to if set_to is not None else current + delta)
            self.balances[(customer_id, template_id)] = balance
            return balance

    def count_deliveries(self, customer_id: str, channel: str, since: datetime) -> int:
        with self._lock:
            return sum(
                1
                for d in self.deliveries.values()
                if d.customer_id == customer_id and d.channel == channel and d.at >= since
            )

    def awaiting_results(
        self, channel: str, since: datetime, limit: int = 200
    ) -> list[DeliveryRecord]:
        with self._lock:
            found = [
                d
                for d in self.deliveries.values()
                if d.channel == channel
                and d.outcome == "accepted"
                and d.provider_ref is not None
                and d.key not in self.results
                and d.at >= since
            ]
            return sorted(found, key=lambda d: d.at)[:limit]

    def result_known(self, key: str, at: datetime) -> None:
        with self._lock:
            self.results.setdefault(key, at)

    def set_follows_wechat(self, customer_id: str, follows: bool) -> None:
        with self._lock:
            self._customer(customer_id).follows_wechat = follows

    def withdraw_consent(
        self, customer_id: str, purpose: str, channel: str | None, source: str, at: datetime
    ) -> None:
        with self._lock:
            self._customer(customer_id).consents.append(
                ConsentRecord(purpose=purpose, channel=channel, granted=False, at=at)
            )

    # frequency caps ----------------------------------------------------------------------
    def reserve_send(self, slot: SendSlot, checks: list[CapCheck]) -> str | None:
        with self._lock:
            if slot.key in self.slots:
                return None
            for check in checks:
                period = slot.day if check.per == "day" else slot.month
                used = sum(
                    1
                    for s in self.slots.values()
                    if s.customer_id == slot.customer_id
                    and s.purpose == slot.purpose
                    and check.channel in (None, s.channel)
                    and (s.day if check.per == "day" else s.month) == period
                )
                if used >= check.limit:
                    return check.reason
            self.slots[slot.key] = slot
            return None

    def release_send(self, key: str) -> None:
        with self._lock:
            self.slots.pop(key, None)

    # workspace documents and guardians ---------------------------------------------------
    def put_document(self, name: str, document: dict[str, Any], *, at: datetime) -> bool:
        with self._lock:
            changed = self.documents.get(name) != document
            self.documents[name] = document
            return changed

    def get_document(self, name: str) -> dict[str, Any] | None:
        with self._lock:
            return self.documents.get(name)

    def link_guardian(self, customer_id: str, guardian_id: str) -> None:
        with self._lock:
            linked = self.guardians.setdefault(customer_id, [])
            if guardian_id not in linked:
                linked.append(guardian_id)

    def guardians_of(self, customer_id: str) -> list[str]:
        with self._lock:
            return list(self.guardians.get(customer_id, []))
