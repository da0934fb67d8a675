"""The store's reports: each one read transaction over its report module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from engine.models.reports.acquisition import AcquisitionReport
from engine.models.reports.acquisition_days import AcquisitionDays
from engine.models.reports.active import ActiveReport
from engine.models.reports.channels import ChannelsReport
from engine.models.reports.clinics import ClinicsReport
from engine.models.reports.doctors import DoctorsReport
from engine.models.reports.funnel import FunnelReport, FunnelRequest
from engine.models.reports.kpis import KpiReport
from engine.models.reports.scope import FirstTouchField, ReportScope
from engine.store.sql.common import SqlPart
from engine.store.sql.reports.acquisition import acquisition_report
from engine.store.sql.reports.acquisition_days import acquisition_days
from engine.store.sql.reports.active import active_report
from engine.store.sql.reports.channels import channels_report
from engine.store.sql.reports.clinics import clinics_report
from engine.store.sql.reports.doctors import doctors_report
from engine.store.sql.reports.funnel import funnel_report
from engine.store.sql.reports.kpis import kpi_report


class ReportsPart(SqlPart):
    def active_report(self, scope: ReportScope) -> ActiveReport:
        """DAU, WAU, MAU and stickiness per day of the scope's range."""
        with self._analytic_read() as s:
            return active_report(s, scope)

    def acquisition_report(
        self, scope: ReportScope, by: Sequence[FirstTouchField], window: dt.timedelta
    ) -> AcquisitionReport:
        """New customers by first-touch fields, what they converted to, and their cost."""
        with self._analytic_read() as s:
            return acquisition_report(s, scope, by, window)

    def acquisition_days(self, scope: ReportScope, window: dt.timedelta) -> AcquisitionDays:
        """New customers and those of them who converted, per local day of first touch."""
        with self._analytic_read() as s:
            return acquisition_days(s, scope, window)

    def kpi_report(
        self, scope: ReportScope, by: Sequence[FirstTouchField], window: dt.timedelta
    ) -> KpiReport:
        """The seed KPIs per group of first-touch fields."""
        with self._analytic_read() as s:
            return kpi_report(s, scope, by, window)

    def funnel_report(self, scope: ReportScope, request: FunnelRequest) -> FunnelReport:
        """Customers reaching each step of a funnel."""
        with self._analytic_read() as s:
            return funnel_report(s, scope, request)

    def doctors_report(self, scope: ReportScope) -> DoctorsReport:
        """Per doctor: views, consultations, bookings, payments, revenue, new customers."""
        with self._analytic_read() as s:
            return doctors_report(s, scope)

    def clinics_report(self, scope: ReportScope) -> ClinicsReport:
        """Per clinic: new customers, followers, bookings, payments, revenue."""
        with self._analytic_read() as s:
            return clinics_report(s, scope)

    def channels_report(self, scope: ReportScope) -> ChannelsReport:
        """Per channel: attempts, outcomes, skips, fallbacks, receipt latency, opt-outs."""
        with self._analytic_read() as s:
            return channels_report(s, scope)
