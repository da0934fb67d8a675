"""Doctors: what each doctor's pages, consultations and appointments did in a range
(contract section 3, ``/v1/reports/doctors``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field


class DoctorRow(BaseModel):
    """One doctor's figures in the range; ``(none)`` holds what names no doctor."""

    doctor_id: str = Field(
        description="the doctor (doctor_id); (none): events naming no doctor and payments "
        "whose appointment has no booking with a doctor"
    )
    views: int = Field(description="page and content views naming the doctor (doctor_id)")
    consultations: int = Field(description="consultations started with the doctor")
    bookings: int = Field(description="bookings naming the doctor")
    paid: int = Field(description="payments of appointments booked with the doctor")
    cancelled: int = Field(
        description="cancellations, payment cancellations and no-shows of appointments "
        "booked with the doctor"
    )
    refunded: int = Field(description="refunds of appointments booked with the doctor")
    revenue: Decimal = Field(
        description="yuan, two decimals: paid amounts minus refunded amounts",
        examples=["1280.00"],
    )
    new_customers: int = Field(
        description="customers whose first touch (in range) names the doctor"
    )


class DoctorsReport(BaseModel):
    """Per doctor: views, consultations, bookings, payments, cancellations, refunds,
    revenue and new customers; the rows add up to the range's totals."""

    rows: list[DoctorRow] = Field(description="one per doctor, by doctor_id; (none) last")
