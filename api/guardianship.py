"""Linking a guardian named by a request, for the guardians route and for identify."""

from __future__ import annotations

from datetime import datetime

from api.schemas.customers import GuardianCreate
from engine.store.service_store import ServiceStore


def link(
    store: ServiceStore, child_id: str, guardian: GuardianCreate, source: str, at: datetime
) -> tuple[str, bool]:
    """Find (or, by identities, create) the guardian and link them to the child: the
    guardian's id, and whether the link is new (a current link is left as it is)."""
    if guardian.identities is not None:
        guardian_id = store.resolve(guardian.identities, at=at).customer_id
    else:
        guardian_id = store.get_customer(str(guardian.guardian_id)).id
    new = store.link_guardian(
        child_id, guardian_id, relation=guardian.relation, source=source, at=at
    )
    return guardian_id, new
