"""The store as activities and the enroller use it (``ActivityStore``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from engine.contracts.journey import EnrollmentStatusName, TraceEntry
from engine.models.workspace import JourneyBundle
from engine.store.circuits import ConfigCircuit
from engine.store.records import (
    CapCheck,
    Customer,
    DeliveryRecord,
    EnrollmentRecord,
    HandoffTask,
    SendSlot,
)


class ActivityStore(Protocol):
    """What activities and the enroller need from persistence."""

    def get_customer(self, customer_id: str) -> Customer: ...
    def customer_timezone(self, customer_id: str) -> str | None: ...
    def put_customer(self, customer: Customer) -> None: ...
    def change_tags(
        self, customer_id: str, add: list[str], remove: list[str], source: str
    ) -> list[str]: ...
    def set_attributes(self, customer_id: str, values: dict[str, Any]) -> list[str]: ...

    def put_bundle(self, bundle: JourneyBundle) -> None: ...
    def get_bundle(self, journey_id: str, version: int) -> JourneyBundle: ...

    def record_enrollment(self, record: EnrollmentRecord) -> None: ...
    def get_enrollment(self, enrollment_id: str) -> EnrollmentRecord: ...
    def ever_enrolled(self, journey_id: str, customer_id: str, key: str | None) -> bool: ...
    def finish_enrollment(
        self,
        enrollment_id: str,
        status: EnrollmentStatusName,
        reason: str | None,
        variant: str | None,
        at: datetime,
        trace: list[TraceEntry] | None = None,
    ) -> None: ...
    def append_trace(self, enrollment_id: str, entries: list[TraceEntry]) -> None: ...
    def get_trace(self, enrollment_id: str) -> list[TraceEntry]: ...

    def begin_delivery(
        self, record: DeliveryRecord, trace: list[TraceEntry] | None = None
    ) -> DeliveryRecord | None:
        """Store ``record`` and return None, or return the record already under its key;
        ``trace`` (the enrollment's pending entries) is stored in the same write.

        A record whose outcome was ``transient`` (provably never reached the provider)
        is replaced, so the retry may call again.
        """

    def find_delivery(self, provider_ref: str, channel: str) -> DeliveryRecord | None:
        """The delivery a provider's receipt refers to (by its msgid / SerialNo)."""
        ...

    def end_delivery(
        self, key: str, outcome: str, detail: str, provider_ref: str | None
    ) -> None: ...

    def create_task(self, task: HandoffTask, trace: list[TraceEntry] | None = None) -> HandoffTask:
        """Create the task once per id; ``trace`` is stored in the same write."""

    def get_task(self, task_id: str) -> HandoffTask: ...
    def escalate_task(self, task_id: str, queue: str) -> HandoffTask: ...
    def complete_task(self, task_id: str, outcome: str) -> HandoffTask: ...
    def list_tasks(self, queue: str | None = None) -> list[HandoffTask]: ...

    # channel state: what the platforms said about channels and customers
    def circuit(self, channel: str, now: datetime) -> tuple[datetime, str] | None: ...
    def open_circuit(self, channel: str, until: datetime, reason: str, at: datetime) -> None: ...
    # circuits opened by configuration errors (engine.store.circuits)
    def config_circuit(self, channel: str, template: str) -> ConfigCircuit | None:
        """The open circuit that stops a send of ``template`` on ``channel`` (the
        channel's own first), else None."""

    def open_config_circuit(self, circuit: ConfigCircuit) -> bool:
        """Open it unless it is open; True when this call opened it, and then its
        ``carepath.channel_alert`` event is stored in the same write."""

    def close_config_circuit(
        self, channel: str, template: str, *, by: str, at: datetime
    ) -> bool: ...
    def subscribe_balance(self, customer_id: str, template_id: str) -> int | None: ...
    def change_subscribe_balance(
        self,
        customer_id: str,
        template_id: str,
        *,
        delta: int = 0,
        set_to: int | None = None,
        at: datetime,
    ) -> int: ...
    def count_deliveries(self, customer_id: str, channel: str, since: datetime) -> int: ...
    def awaiting_results(
        self, channel: str, since: datetime, limit: int = 200
    ) -> list[DeliveryRecord]: ...
    def result_known(self, key: str, at: datetime) -> None: ...
    def set_follows_wechat(self, customer_id: str, follows: bool) -> None: ...

    # frequency caps: sends per customer, purpose, channel and period, over all journeys
    def reserve_send(self, slot: SendSlot, checks: list[CapCheck]) -> str | None:
        """Take ``slot`` and return None when every check has room, else the first full
        check's reason; atomic, so racing sends cannot both take the last place. A slot
        already held under ``slot.key`` (a retried activity) is None, not counted again.
        """

    def release_send(self, key: str) -> None:
        """Give back the slot under ``key`` (the provider refused: nothing was sent)."""

    def withdraw_consent(
        self, customer_id: str, purpose: str, channel: str | None, source: str, at: datetime
    ) -> None: ...

    # guardians of minors (engine.compliance.guardians)
    def guardians_of(self, customer_id: str) -> list[str]:
        """Ids of the customer's current guardians, in the order they were linked."""
