"""The reports (docs contract "What carepath counts", section 3): one module per report,
one router for the ``reports`` resource. Every report takes the same scope
(``from``/``to`` local days, ``tz``, ``clinic_id``: :mod:`api.routes.reports.scope`) and
answers JSON, or CSV with ``format=csv`` (:mod:`api.routes.reports.csv`)."""

from __future__ import annotations

from fastapi import APIRouter

from api.routes.reports import (
    acquisition,
    active,
    channels,
    clinics,
    doctors,
    funnel,
    kpis,
    sources,
)

router = APIRouter(prefix="/reports", tags=["reports"])
for _report in (sources, active, acquisition, kpis, funnel, doctors, clinics, channels):
    router.include_router(_report.router)
