"""The Temporal worker: connects, registers the journey workflow and its activities."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor

from temporalio.client import Client
from temporalio.worker import Worker

from activities.channels.base import ChannelAdapter
from activities.journey import JourneyActivities
from engine.models.common import ChannelName
from engine.store import Store
from workflows.journey import JourneyWorkflow


def build_worker(
    client: Client,
    store: Store,
    adapters: Mapping[ChannelName, ChannelAdapter],
    task_queue: str,
    *,
    max_activity_threads: int = 32,
) -> Worker:
    """A worker for journey workflows; activities run in a thread pool (the SDKs block)."""
    activities = JourneyActivities(store, adapters)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[JourneyWorkflow],
        activities=activities.all(),
        activity_executor=ThreadPoolExecutor(max_workers=max_activity_threads),
        max_concurrent_activities=max_activity_threads,
    )
