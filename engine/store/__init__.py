"""The store: customers, journey versions, enrollments, deliveries, tasks.

Two protocols, named after who uses them: ``ActivityStore`` (activities and the
enroller) and ``ServiceStore`` (the API, the dispatcher, the CLI); their records are in
``records``. Simulations use ``MemoryStore`` (their own sandboxed data, never the
clinic's); the service uses ``sql.SqlStore``, which implements both.
"""

from __future__ import annotations

from engine.store.activity_store import ActivityStore
from engine.store.memory import MemoryStore
from engine.store.records import Customer, DeliveryRecord, EnrollmentRecord, HandoffTask

__all__ = [
    "ActivityStore",
    "Customer",
    "DeliveryRecord",
    "EnrollmentRecord",
    "HandoffTask",
    "MemoryStore",
]
