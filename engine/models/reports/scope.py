"""The scope every report is asked in: a half-open range of local days, a timezone, the
clinics the caller may see, and the workspace's event roles."""

from __future__ import annotations

import datetime as dt
from typing import Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field

from engine.models.events import EventRoles

#: First-touch fields a report may group by (contract section 2, "New customers").
FirstTouchField = Literal[
    "channel",
    "activity",
    "doctor",
    "staff",
    "clinic",
    "qrcode",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "content_id",
]
FIRST_TOUCH_FIELDS: tuple[FirstTouchField, ...] = get_args(FirstTouchField)
#: What a group without a value is called in every report.
NONE = "(none)"

#: The longest range a report answers: a little over a year of days.
MAX_DAYS = 400
#: The conversion window when a request names none (the contract's default).
DEFAULT_WINDOW = dt.timedelta(days=60)


class ReportScope(BaseModel):
    """``start <= local day < end`` in ``timezone``; the customers of ``clinics`` only
    (None: every clinic, for admin keys; a customer's clinic is its ``clinic_id``
    attribute, as for every other read: ``engine.store.access``)."""

    model_config = ConfigDict(frozen=True)

    start: dt.date = Field(description="the first local day in the range")
    end: dt.date = Field(description="the local day after the range")
    timezone: str = Field("Asia/Shanghai", description="the zone local days are taken in")
    clinics: tuple[str, ...] | None = Field(
        None, description="only customers of these clinics; None: every clinic"
    )
    roles: EventRoles = Field(description="the workspace's event roles (events.yaml)")

    @property
    def zone(self) -> ZoneInfo:
        """The timezone as a ZoneInfo."""
        return ZoneInfo(self.timezone)

    def instant(self, day: dt.date) -> dt.datetime:
        """The UTC instant local ``day`` begins at."""
        return dt.datetime.combine(day, dt.time(), self.zone).astimezone(dt.UTC)

    @property
    def since(self) -> dt.datetime:
        """The first instant of the range, in UTC."""
        return self.instant(self.start)

    @property
    def until(self) -> dt.datetime:
        """The first instant after the range, in UTC."""
        return self.instant(self.end)

    def days(self) -> list[dt.date]:
        """Every local day of the range, in order."""
        return [self.start + dt.timedelta(days=i) for i in range((self.end - self.start).days)]
