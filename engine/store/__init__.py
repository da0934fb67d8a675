"""The store behind activities: customers, journey versions, enrollments, deliveries, tasks.

``Store`` is the seam: simulations use ``MemoryStore`` (their own sandboxed data,
never the clinic's), the service uses the SQL store.
"""

from __future__ import annotations

from engine.store.activity_store import (
    Customer,
    DeliveryRecord,
    EnrollmentRecord,
    HandoffTask,
    Store,
)
from engine.store.memory import MemoryStore

__all__ = [
    "Customer",
    "DeliveryRecord",
    "EnrollmentRecord",
    "HandoffTask",
    "MemoryStore",
    "Store",
]
