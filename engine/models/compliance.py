"""Workspace compliance files as deployed: the ``compliance`` and ``holidays`` documents.

``compliance.yaml`` holds content rules (banned and allowed phrases, the SMS opt-out
pattern, medical and school-screening data; read by validation only) and the
settings the running engine uses in place of ``CAREPATH_COMPLIANCE__*``: opt-out
keywords, frequency caps and the default quiet hours. Only that second part is
deployed, as the ``compliance`` document (:class:`CompliancePolicy`); a key the
workspace does not write falls back to the settings.

``holidays.yaml`` lists clinic holidays added to the quiet window of marketing sends
(:class:`HolidaysFile`, deployed as the ``holidays`` document).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from engine.models.common import ChannelName, Purpose, Strict
from engine.models.journey import QuietHours

__all__ = ["CompliancePolicy", "Holiday", "HolidaysFile", "minutes_of"]

_CLOCK = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def minutes_of(clock: str) -> int:
    """Minutes after local midnight of ``HH:MM`` (``24:00`` is the end of the day)."""
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


class FrequencyCap(BaseModel):
    """At most ``limit`` messages of ``purpose`` on ``channel`` to one customer per
    calendar day or month (in the workspace timezone), counted over every journey."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    purpose: Purpose = Field(description="the messages counted: marketing or service")
    channel: ChannelName | None = Field(None, description="the channel counted; None: any")
    limit: int = Field(ge=1, description="messages allowed in one period")
    per: Literal["day", "month"] = Field(description="calendar day or month, workspace time")

    def describe(self) -> str:
        """The cap in words, as a skip names it: ``1 marketing sms a day``."""
        return f"{self.limit} {self.purpose} {self.channel or 'messages'} a {self.per}"


class CompliancePolicy(Strict):
    """The engine's compliance settings of one workspace (the ``compliance`` document)."""

    opt_out_keywords: list[str] | None = Field(
        None,
        min_length=1,
        description="a customer reply that is exactly one of these (trimmed, any case) "
        "withdraws marketing consent for its channel (default: T, TD, N, R, 退订)",
    )
    frequency_caps: list[FrequencyCap] | None = Field(
        None,
        description="per-customer caps counted over every journey (default: marketing SMS "
        "1 a day and 4 a month; marketing wechat_subscribe and wechat_text 4 a month)",
    )
    quiet_hours: QuietHours | None = Field(
        None,
        description="the workspace's quiet hours for marketing sends, in the customer's "
        "timezone (default 21:00-08:00); a journey's quiet_hours overrides it",
    )

    @field_validator("opt_out_keywords")
    @classmethod
    def _keywords(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and any(not k.strip() for k in value):
            raise ValueError("an opt-out keyword is empty; write e.g. [T, TD, N, R, 退订]")
        return value


class Holiday(Strict):
    """One clinic holiday: a date or a range of dates, all day or between two times."""

    name: str | None = Field(None, description="shown in the deferral, e.g. 国庆节")
    date: dt.date | None = Field(None, description="the day (or use from/to for a range)")
    from_: dt.date | None = Field(None, alias="from", description="first day of a range")
    to: dt.date | None = Field(None, description="last day of a range (inclusive)")
    clinics: list[str] | None = Field(
        None, min_length=1, description="clinic_id values it applies to (default: every clinic)"
    )
    start: str = Field("00:00", description="quiet from HH:MM local time on each day")
    end: str = Field("24:00", description="quiet until HH:MM local time (24:00: end of day)")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _clock(cls, value: object) -> object:
        if isinstance(value, int):  # YAML 1.1 reads unquoted 12:30 as a number of minutes
            value = f"{value // 60:02d}:{value % 60:02d}"
        if not isinstance(value, str) or not _CLOCK.match(value):
            raise ValueError(f'{value!r} is not a time of day; write HH:MM such as "08:00"')
        return value

    @model_validator(mode="after")
    def _days(self) -> Holiday:
        if (self.date is None) == (self.from_ is None):
            raise ValueError("a holiday needs either date or from (with to); write one of them")
        if self.date is not None and self.to is not None:
            raise ValueError("to belongs to a range; write from: and to:, or date: alone")
        if self.from_ is not None and self.to is None:
            raise ValueError("a range needs its last day; add to: YYYY-MM-DD")
        if self.from_ is not None and self.to is not None and self.to < self.from_:
            raise ValueError("to is before from; write the first day in from and the last in to")
        if minutes_of(self.start) >= minutes_of(self.end):
            raise ValueError('start is not before end; write e.g. start: "12:00", end: "14:00"')
        return self

    @property
    def first(self) -> dt.date:
        day = self.date or self.from_
        assert day is not None
        return day

    @property
    def last(self) -> dt.date:
        return self.to or self.first

    def covers(self, day: dt.date, clinic: str | None) -> bool:
        """Whether the holiday is on ``day`` for a customer of ``clinic``."""
        if self.clinics is not None and clinic not in self.clinics:
            return False
        return self.first <= day <= self.last


class HolidaysFile(Strict):
    """A workspace's ``holidays.yaml`` (the ``holidays`` document)."""

    holidays: list[Holiday] = Field(default_factory=list, description="clinic holidays")
