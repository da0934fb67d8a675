"""What the journey pages show, asked of the services the API's routes ask: the deployed
journeys (``store.list_journeys``, as ``GET /v1/journeys``) and their metrics
(``store.journey_counts`` over a ``Cohort`` with "waiting now" from Temporal
visibility, read by ``journey_metrics``, as ``GET /v1/journeys/{id}/metrics``).

Staff count only their clinics' customers: the cohort carries the caller's clinics,
as the metrics route passes them (``clinics_for``). "Waiting now" is unknown (None)
when the Temporal server answers no visibility queries.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.deps import Caller
from api.routes.reports.scope import clinics_for
from engine.dispatch.dispatcher import Dispatcher
from engine.dispatch.visibility import running_steps
from engine.errors import NotFound
from engine.models.workspace import JourneyBundle
from engine.reports.journey_metrics import Experiment, JourneyMetrics, journey_metrics
from engine.store.metrics import Cohort, StepFigures
from engine.store.records import JourneyInfo
from engine.store.service_store import ServiceStore

#: The list's window: journeys' entrants of the last 7 days.
RECENT = timedelta(days=7)


@dataclass(frozen=True)
class JourneyRow:
    """A journey in the list: deployed state and its recent figures."""

    info: JourneyInfo
    entered: int
    converted: int
    waiting_now: int | None


@dataclass(frozen=True)
class Figures:
    """A journey version's metrics now; ``live``: "waiting now" is known."""

    metrics: JourneyMetrics
    live: bool

    def step(self, step: str) -> StepFigures:
        return self.metrics.steps.get(step, StepFigures())

    @property
    def waiting_now(self) -> int | None:
        if not self.live:
            return None
        return sum(f.waiting_now for f in self.metrics.steps.values())


def may_steer(role: str) -> bool:
    """Whether a console role may pause and resume journeys (admins and operators)."""
    return role in ("admin", "operator")


def info_of(store: ServiceStore, journey_id: str) -> JourneyInfo:
    """The deployed journey; ``NotFound`` for one never deployed."""
    for info in store.list_journeys():
        if info.journey_id == journey_id:
            return info
    raise NotFound(f"no deployed journey {journey_id!r}")


async def _counts(
    caller: Caller,
    store: ServiceStore,
    bundle: JourneyBundle,
    version: int | None,
    since: datetime | None,
    running: dict[str, str] | None,
) -> Figures:
    cohort = Cohort(
        journey_id=bundle.journey.id,
        version=version,
        since=since,
        clinics=clinics_for(caller.clinics, None),
    )
    now = datetime.now(UTC)
    counts = await asyncio.to_thread(store.journey_counts, cohort, now, running or {})
    return Figures(journey_metrics(bundle, counts, version, now), running is not None)


async def journey_figures(
    caller: Caller, store: ServiceStore, dispatcher: Dispatcher, journey_id: str
) -> tuple[JourneyInfo, JourneyBundle, Figures]:
    """A journey, its current version and that version's figures (every entrant)."""
    info = await asyncio.to_thread(info_of, store, journey_id)
    bundle = await asyncio.to_thread(store.current_bundle, journey_id)
    running = await running_steps(dispatcher.client, journey_id)
    figures = await _counts(caller, store, bundle, bundle.version, None, running)
    return info, bundle, figures


async def journey_rows(
    caller: Caller, store: ServiceStore, dispatcher: Dispatcher
) -> list[JourneyRow]:
    """Every deployed journey with its entrants of the last 7 days (every version),
    those of them converted, and the enrollments waiting in it now."""
    infos = await asyncio.to_thread(store.list_journeys)
    since = datetime.now(UTC) - RECENT

    async def row(info: JourneyInfo) -> JourneyRow:
        bundle = await asyncio.to_thread(store.current_bundle, info.journey_id)
        running = await running_steps(dispatcher.client, info.journey_id)
        recent = await _counts(caller, store, bundle, None, since, running)
        waiting = await _waiting_now(caller, store, bundle, running)
        return JourneyRow(info, recent.metrics.entered, recent.metrics.converted, waiting)

    return list(await asyncio.gather(*(row(i) for i in infos)))


async def _waiting_now(
    caller: Caller, store: ServiceStore, bundle: JourneyBundle, running: dict[str, str] | None
) -> int | None:
    """Every running enrollment of the journey (any entry day): all of them for
    users who see every clinic, those of their clinics' customers for staff."""
    if running is None or not running or caller.clinics is None:
        return None if running is None else len(running)
    cohort = Cohort(journey_id=bundle.journey.id, clinics=clinics_for(caller.clinics, None))
    return len(await asyncio.to_thread(store.waiting_steps, cohort, running))


@dataclass(frozen=True)
class ArmLine:
    """One arm against the control, in the figures an operator reads: rates and the
    difference in percentage points with its 95 % interval."""

    variant: str
    entered: int
    converted: int
    rate: float | None
    points: float | None
    low: float | None
    high: float | None
    p_value: float | None
    significant: bool


def arm_lines(experiment: Experiment) -> list[ArmLine]:
    """The experiment's arms other than the control, compared with it."""
    lines: list[ArmLine] = []
    for arm in experiment.arms:
        if arm.control or arm.versus_control is None:
            continue
        versus = arm.versus_control
        interval = versus.difference_interval
        lines.append(
            ArmLine(
                variant=arm.variant,
                entered=arm.n,
                converted=arm.c,
                rate=arm.p,
                points=None if versus.difference is None else versus.difference * 100,
                low=None if interval is None else interval.low * 100,
                high=None if interval is None else interval.high * 100,
                p_value=versus.p_value,
                significant=versus.significant,
            )
        )
    return lines
