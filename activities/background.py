"""The activities of the background workflow: the sweep and the WeCom result reads.

They need a Temporal client (a sweep enrolls and signals as a request would), so they
are a class the worker builds with the client, the store and, when WeCom is set up,
its client.
"""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities.channels.wecom.client import WeComClient
from activities.channels.wecom.poll import wecom_results_once
from engine.contracts.background import (
    SWEEP_ACTIVITY,
    WECOM_RESULTS_ACTIVITY,
    SweepInput,
    SweepResult,
    WeComResultsInput,
    WeComResultsResult,
)
from engine.dispatch.dispatcher import Dispatcher
from engine.store.service_store import ServiceStore


class BackgroundActivities:
    """The sweep and the WeCom result reads over one store and Temporal client."""

    def __init__(
        self, dispatcher: Dispatcher, store: ServiceStore, wecom: WeComClient | None
    ) -> None:
        self.dispatcher = dispatcher
        self.store = store
        self.wecom = wecom

    def all(self) -> list[object]:
        return [self.sweep_undispatched, self.read_wecom_results]

    @activity.defn(name=SWEEP_ACTIVITY)
    async def sweep_undispatched(self, arg: SweepInput) -> SweepResult:
        """Dispatch events, tags and segment changes whose dispatch never completed.

        Safe to repeat: enrollment ids are unique, workflows drop a repeated message
        id, and each item is marked dispatched once it has been.
        """
        return SweepResult(found=await self.dispatcher.sweep(older_than=arg.older_than_seconds))

    @activity.defn(name=WECOM_RESULTS_ACTIVITY)
    async def read_wecom_results(self, arg: WeComResultsInput) -> WeComResultsResult:
        """Hand WeCom send results the staff confirmed to the enrollments waiting."""
        if self.wecom is None:
            return WeComResultsResult(configured=False)
        handed = await wecom_results_once(
            self.store, self.dispatcher, self.wecom, datetime.now(UTC)
        )
        return WeComResultsResult(handed=handed)
