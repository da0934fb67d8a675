"""Enrolling on the service side: on a trigger, and through ``POST .../enrollments``.

Both go through the one enroll path (``engine.dispatch.enroll.enroll``: entry, key,
re-entry, guardian consent), which is idempotent by workflow id, so a retried request
or a swept change enrolls nobody twice.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client

from engine.dispatch.enroll import Enrolled, enroll
from engine.dispatch.report import DispatchReport
from engine.errors import JourneyClosed, NotFound
from engine.expressions.clock import utcnow
from engine.models.workspace import JourneyBundle
from engine.store.records import Identities
from engine.store.service_store import ServiceStore


class Enroller:
    """Starts enrollments in one task queue."""

    def __init__(self, client: Client, store: ServiceStore, task_queue: str) -> None:
        self.client = client
        self.store = store
        self.task_queue = task_queue

    async def api(
        self, journey_id: str, identities: Identities, context: dict[str, Any]
    ) -> tuple[str, Enrolled]:
        """``POST /v1/journeys/{id}/enrollments``: the customer's id and what enrolling
        did. NotFound for an unknown customer or journey; JourneyClosed when paused or
        ``api: false``."""

        def look_up() -> tuple[str, JourneyBundle]:  # one trip to a thread for the reads
            customer_id = self.store.resolve(identities, create=False, at=utcnow()).customer_id
            current = {jid: (v, p) for jid, v, p in self.store.deployment()}
            if journey_id not in current:
                raise NotFound(f"no journey {journey_id!r} deployed")
            version, paused = current[journey_id]
            if paused:
                raise JourneyClosed(f"journey {journey_id} is paused")
            return customer_id, self.store.get_bundle(journey_id, version)

        customer_id, bundle = await asyncio.to_thread(look_up)
        if not bundle.journey.api:
            raise JourneyClosed(
                f"journey {journey_id} does not accept API enrollments (api: false)"
            )
        return customer_id, await self._enroll(bundle, customer_id, context)

    async def triggered(
        self, bundle: JourneyBundle, customer_id: str, context: dict[str, Any]
    ) -> DispatchReport:
        """Enroll the customer a trigger of ``bundle`` matched; as a report line
        (``journey_id:started`` or ``journey_id:<why not>``)."""
        result = await self._enroll(bundle, customer_id, context)
        report = DispatchReport()
        target = report.enrolled if result.status == "started" else report.skipped
        target.append(f"{bundle.journey.id}:{result.status}")
        if result.status == "started" and result.enrollment_id:
            report.enrollment_ids.append(result.enrollment_id)
        return report

    async def paused(
        self, journey_ids: list[str], customer_id: str, item: str, trigger: str
    ) -> DispatchReport:
        """A trigger (``item``: what it was, once per item and journey) matched these
        paused journeys: recorded as skipped with reason ``paused`` (the customer's
        audit trail shows it) and reported as ``journey_id:paused``."""
        report = DispatchReport()
        if not journey_ids:
            return report
        skips = [(f"{item}:{jid}", customer_id, jid, trigger) for jid in journey_ids]
        await asyncio.to_thread(
            self.store.record_trigger_skips, skips, reason="paused", at=utcnow()
        )
        report.skipped += [f"{jid}:paused" for jid in journey_ids]
        return report

    async def _enroll(
        self, bundle: JourneyBundle, customer_id: str, context: dict[str, Any]
    ) -> Enrolled:
        return await enroll(
            self.client,
            self.store,
            bundle,
            customer_id,
            context,
            now=utcnow(),
            task_queue=self.task_queue,
        )
