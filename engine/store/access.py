"""Who may see what: the rule every API key is held to, one function per kind of data.

A customer belongs to the clinic named by its ``clinic_id`` attribute (its survivor's,
for a merged id); a handoff task to its ``clinic``; an enrollment to its customer's
clinic; a merge to its survivor's clinic. An ``admin`` key sees everything. A ``staff``
key sees what belongs to one of its clinics (``ApiKeyRecord.clinics``); a customer or
task without a clinic is seen by admin keys only, since nobody can say whose it is.
Any other key sees none of it. A console user is held to the same rule through the key
``principal_of`` gives them.

What a key may not see is answered exactly as if it did not exist (the same
``NotFound`` and text as an unknown id), so another clinic's ids cannot be probed.
These are plain functions over the key and the store, not tied to HTTP: the API's
``Caller`` (``api/deps.py``) and any page rendered on the server ask the same rule.
"""

from __future__ import annotations

from collections.abc import Sequence

from engine.errors import NotFound
from engine.models.users import User
from engine.store.records import ApiKeyRecord, EnrollmentRecord, HandoffTask, MergeRecord
from engine.store.service_store import ServiceStore


def principal_of(user: User) -> ApiKeyRecord:
    """The key a console user acts as: admins and operators as an admin key (every
    clinic), staff as a staff key of their clinics, so pages are held to the same rule
    as the API. What an operator may not do that an admin may is the console's check."""
    staff = user.role == "staff"
    return ApiKeyRecord(
        id=user.id,
        name=f"console:{user.username}",
        scopes=["staff"] if staff else ["admin"],
        clinics=list(user.clinics) if staff else [],
        created_at=user.created_at,
    )


def sees_every_clinic(key: ApiKeyRecord) -> bool:
    """Whether the key sees every clinic's data (admin keys)."""
    return "admin" in key.scopes


def clinics_of(key: ApiKeyRecord) -> list[str] | None:
    """The clinics whose data the key may see; None: every clinic (admin keys)."""
    if sees_every_clinic(key):
        return None
    return list(key.clinics) if "staff" in key.scopes else []


def may_see_clinic(key: ApiKeyRecord, clinic: str | None) -> bool:
    """Whether data of ``clinic`` (None: of no clinic) is visible to the key."""
    clinics = clinics_of(key)
    return clinics is None or (clinic is not None and clinic in clinics)


def visible_customer(store: ServiceStore, key: ApiKeyRecord, customer_id: str) -> str:
    """``customer_id`` if the key may see that customer; NotFound otherwise."""
    clinics = store.customer_clinics([customer_id])
    if customer_id not in clinics or not may_see_clinic(key, clinics[customer_id]):
        raise NotFound(f"no customer {customer_id!r}")
    return customer_id


def visible_customers(
    store: ServiceStore, key: ApiKeyRecord, customer_ids: Sequence[str]
) -> list[str]:
    """Those of ``customer_ids`` the key may see, in their order (the check of
    ``visible_customer``, for many at once)."""
    clinics = store.customer_clinics(customer_ids)
    return [c for c in customer_ids if c in clinics and may_see_clinic(key, clinics[c])]


def visible_task(store: ServiceStore, key: ApiKeyRecord, task_id: str) -> HandoffTask:
    """The handoff task, if the key may see it; NotFound otherwise."""
    task = store.get_task(task_id)
    if not may_see_clinic(key, task.clinic):
        raise NotFound(f"no handoff task {task_id!r}")
    return task


def visible_enrollment(
    store: ServiceStore, key: ApiKeyRecord, enrollment_id: str
) -> EnrollmentRecord:
    """The enrollment, if the key may see its customer; NotFound otherwise."""
    record = store.get_enrollment(enrollment_id)
    if sees_every_clinic(key):
        return record
    clinics = store.customer_clinics([record.customer_id])
    if not may_see_clinic(key, clinics.get(record.customer_id)):
        raise NotFound(f"no enrollment {enrollment_id!r}")
    return record


def visible_merges(
    store: ServiceStore, key: ApiKeyRecord, customer_id: str | None = None
) -> list[MergeRecord]:
    """Merges (of ``customer_id``, or all) whose survivor the key may see."""
    if customer_id is not None:
        visible_customer(store, key, customer_id)
    merges = store.list_merges(customer_id)
    if sees_every_clinic(key):
        return merges
    clinics = store.customer_clinics([m.survivor_id for m in merges])
    return [m for m in merges if may_see_clinic(key, clinics.get(m.survivor_id))]
