"""看板's "needs attention now": what stops work at this moment, each with where it is
handled, read as the API's routes read it.

- open channel circuits and quota windows: ``store.config_circuits`` and
  ``store.quota_windows``, as ``GET /v1/channels`` (admins and operators; handled at
  ``/channels``);
- overdue call tasks of the user's clinics: ``store.list_open_tasks`` with the caller's
  clinics, as ``GET /v1/handoffs`` and 工作台 ask it (handled at ``/tasks``);
- parked outbox rows: ``store.outbox_items`` after ``settle_outbox``, as
  ``GET /v1/outbox`` (admins and operators);
- journeys whose experiment has a significant result that is no longer provisional: the
  journey page's own figures (``journey_view.journey_figures``, as
  ``GET /v1/journeys/{id}/metrics``), compared arm by arm as that page does
  (handled at ``/journeys/{id}``).

These functions read the store: the handler runs the synchronous ones in a thread.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from api.console.journey_view import ArmLine, arm_lines, journey_figures
from api.console.task_cards import TimeLeft, ordered, time_left
from api.deps import Caller
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.sweeps import SWEEP_AFTER
from engine.errors import NotFound
from engine.models.steps import SplitStep
from engine.models.users import Role
from engine.store.circuits import ConfigCircuit, QuotaWindow
from engine.store.records import HandoffTask, OutboxItem
from engine.store.service_store import ServiceStore

#: How many overdue tasks and parked rows the dashboard names (the rest are counted).
SHOWN = 5
#: How many parked rows are read, at most (as GET /v1/outbox's default limit).
PARKED_LIMIT = 100


def sees_operations(role: Role) -> bool:
    """Whether a role sees the channels' circuits and the outbox (admins and operators,
    as the 渠道 page and the admin-only ``/v1`` routes)."""
    return role in ("admin", "operator")


@dataclass(frozen=True)
class Channels:
    """Circuits open now (a template's or a whole channel's) and quota windows not yet
    ended."""

    circuits: list[ConfigCircuit]
    quotas: list[QuotaWindow]


def channel_alerts(store: ServiceStore, now: dt.datetime) -> Channels:
    """The open circuits and the quota windows still running at ``now``."""
    circuits = [c for c in store.config_circuits() if c.closed_at is None]
    quotas = [w for w in store.quota_windows() if w.open_until > now]
    circuits.sort(key=lambda c: (c.channel, c.template))
    return Channels(circuits, sorted(quotas, key=lambda w: w.channel))


@dataclass(frozen=True)
class OverdueTask:
    """An open task past its due time, and by how long."""

    task: HandoffTask
    late: TimeLeft


def overdue_tasks(caller: Caller, now: dt.datetime) -> list[OverdueTask]:
    """The open tasks of the caller's clinics past their due time, longest overdue first."""
    found: list[OverdueTask] = []
    for task in ordered(caller.store.list_open_tasks(clinics=caller.clinics), now):
        late = time_left(task.due_at, now)
        if task.status != "done" and late is not None and late.overdue:
            found.append(OverdueTask(task, late))
    return found


def parked_rows(store: ServiceStore, now: dt.datetime) -> list[OutboxItem]:
    """The parked outbox rows, oldest first (as ``GET /v1/outbox?state=parked``)."""
    store.settle_outbox()  # failures of items dispatched since are not news
    before = now - dt.timedelta(seconds=SWEEP_AFTER)
    return store.outbox_items(before=before, states=["parked"], limit=PARKED_LIMIT)


@dataclass(frozen=True)
class Finding:
    """A journey's split whose arm differs from the control, significantly and for good."""

    journey_id: str
    step: str
    control: str
    line: ArmLine


async def findings(caller: Caller, store: ServiceStore, dispatcher: Dispatcher) -> list[Finding]:
    """Every significant, non-provisional arm of every deployed journey's current
    version, as the journey's page computes it for this user."""
    found: list[Finding] = []
    for info in store.list_journeys():
        try:
            bundle = store.current_bundle(info.journey_id)
            if not any(isinstance(step, SplitStep) for step in bundle.journey.steps):
                continue  # no experiment to read: its figures are not worth counting
            _, _, figures = await journey_figures(caller, store, dispatcher, info.journey_id)
        except NotFound:  # undeployed meanwhile
            continue
        for experiment in figures.metrics.experiments:
            if experiment.provisional:
                continue
            found.extend(
                Finding(info.journey_id, experiment.step, experiment.control, line)
                for line in arm_lines(experiment)
                if line.significant
            )
    return found


@dataclass(frozen=True)
class Attention:
    """Everything the dashboard asks the user to look at now; ``channels`` and
    ``parked`` are None for a role that does not see them."""

    channels: Channels | None
    overdue: list[OverdueTask]
    parked: list[OutboxItem] | None
    findings: list[Finding]

    @property
    def empty(self) -> bool:
        """Whether nothing needs attention."""
        channels = self.channels
        return (
            (channels is None or not (channels.circuits or channels.quotas))
            and not self.overdue
            and not self.parked
            and not self.findings
        )
