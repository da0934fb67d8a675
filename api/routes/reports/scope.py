"""The scope every report is asked in, read from the query: ``from``/``to`` (local days,
half-open), ``tz`` (default: the workspace's) and ``clinic_id``, narrowed to the
caller's clinics by the one visibility rule (``engine.store.access``).

A staff key asking for another clinic's ``clinic_id`` gets the report of no customers,
as if that clinic had none: what a key may not see looks like what does not exist.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import Depends, Query
from fastapi.exceptions import RequestValidationError

from api.deps import Caller, SettingsDep, Staff, StoreDep
from engine.models.reports.scope import MAX_DAYS, FirstTouchField, ReportScope
from engine.settings import Settings
from engine.store.service_store import ServiceStore
from engine.workspace.events import deployed_roles
from rules.durations import parse_duration
from rules.errors import RulesError

FromDay = Annotated[
    dt.date,
    Query(alias="from", description="the first local day of the range (YYYY-MM-DD)"),
]
ToDay = Annotated[
    dt.date,
    Query(alias="to", description="the day after the range (half-open: from <= day < to)"),
]
Timezone = Annotated[
    str | None,
    Query(
        alias="tz",
        max_length=64,
        description="the timezone days are taken in (default: the workspace's, Asia/Shanghai)",
    ),
]
ClinicId = Annotated[
    str | None,
    Query(max_length=128, description="only customers of this clinic (their clinic_id)"),
]


def _invalid(field: str, message: str, sent_in: str = "query") -> RequestValidationError:
    return RequestValidationError(
        [{"loc": (sent_in, field), "type": "value_error", "msg": message}]
    )


def clinics_for(allowed: list[str] | None, clinic_id: str | None) -> tuple[str, ...] | None:
    """The clinics a report counts: the one asked for (if the caller may see it; none
    otherwise), else every clinic the caller may see."""
    if clinic_id is None:
        return None if allowed is None else tuple(allowed)
    if allowed is None or clinic_id in allowed:
        return (clinic_id,)
    return ()


async def report_scope(
    caller: Staff,
    store: StoreDep,
    settings: SettingsDep,
    start: FromDay,
    end: ToDay,
    tz: Timezone = None,
    clinic_id: ClinicId = None,
) -> ReportScope:
    """The scope of a report request; 422 for a range backwards, too long, or an
    unknown timezone."""
    return await make_scope(caller, store, settings, start, end, tz, clinic_id)


async def make_scope(
    caller: Caller,
    store: ServiceStore,
    settings: Settings,
    start: dt.date,
    end: dt.date,
    tz: str | None,
    clinic_id: str | None,
    sent_in: Literal["query", "body"] = "query",
) -> ReportScope:
    """The scope of a report from its values, sent in the query or (a POST report) the
    body; 422 naming the field for a range backwards, too long, or an unknown timezone."""
    if end <= start:
        raise _invalid("to", "must be after from", sent_in)
    if (end - start).days > MAX_DAYS:
        raise _invalid("to", f"a report covers at most {MAX_DAYS} days", sent_in)
    zone = tz or settings.compliance.timezone
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        message = f"unknown timezone {zone!r} (e.g. Asia/Shanghai)"
        raise _invalid("tz", message, sent_in) from None
    roles = await asyncio.to_thread(deployed_roles, store)
    return ReportScope(
        start=start,
        end=end,
        timezone=zone,
        clinics=clinics_for(caller.clinics, clinic_id),
        roles=roles,
    )


ScopeDep = Annotated[ReportScope, Depends(report_scope)]


WindowText = Annotated[
    str,
    Query(
        alias="window",
        max_length=16,
        description="how long after the first touch a conversion counts (e.g. 60d, 12h)",
    ),
]
ByFields = Annotated[
    list[FirstTouchField] | None,
    Query(description="group by these first-touch fields (by=channel&by=utm_source)"),
]


def window_of(text: str) -> dt.timedelta:
    """A conversion window from text such as ``60d``; 422 when it is not one, or is not
    between one hour and a year."""
    try:
        window = parse_duration(text)
    except (ValueError, OverflowError, RulesError):  # OverflowError: past timedelta
        raise _invalid("window", f"not a duration: {text!r} (write e.g. 60d or 12h)") from None
    if not dt.timedelta(hours=1) <= window <= dt.timedelta(days=366):
        raise _invalid("window", "must be between 1h and 366d")
    return window


def by_fields(by: list[FirstTouchField] | None) -> list[FirstTouchField]:
    """The first-touch fields to group by, once each; ``channel`` when none is given."""
    return list(dict.fromkeys(by or ["channel"]))
