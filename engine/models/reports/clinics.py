"""Clinics: each clinic's new customers, followers, bookings, payments, revenue and
conversion in a range (contract section 3, ``/v1/reports/clinics``)."""

from __future__ import annotations

from decimal import Decimal

from pydantic import BaseModel, Field


class Followers(BaseModel):
    """Follows and unfollows of one Official Account."""

    gained: int = Field(description="follows (wechat.subscribed) in the range")
    lost: int = Field(description="unfollows (wechat.unsubscribed) in the range")
    net: int = Field(description="gained - lost")


class ClinicRow(BaseModel):
    """One clinic's figures: its customers (``clinic_id`` attribute) in the range."""

    clinic_id: str = Field(description="the customers' clinic_id; (none): customers without one")
    new_customers: int = Field(description="customers whose first touch lies in the range")
    converted: int = Field(
        description="of those, customers converted within the window after their first touch"
    )
    conversion_rate: float | None = Field(
        description="converted / new_customers, four decimals; null without new customers",
        examples=[0.125],
    )
    provisional: bool = Field(
        description="true while some new customer's conversion window is still open"
    )
    followers_gained: int = Field(description="follows in the range, every Official Account")
    followers_lost: int = Field(description="unfollows in the range, every Official Account")
    followers: dict[str, Followers] = Field(
        description="per Official Account (app_id; (none) for events without one)"
    )
    bookings: int = Field(description="bookings (appointment.booked, order.placed) in the range")
    paid: int = Field(description="conversion events (appointment.paid, order.paid) in the range")
    revenue: Decimal = Field(
        description="yuan, two decimals: conversion amounts minus refunds in the range",
        examples=["1280.00"],
    )


class ClinicsReport(BaseModel):
    """Per clinic of the customers: acquisition, followers, bookings, payments, revenue and
    the conversion of the range's new customers."""

    rows: list[ClinicRow] = Field(description="one per clinic, by clinic_id; (none) last")
    window_days: int = Field(description="the conversion window, in days", examples=[60])
    provisional: bool = Field(description="true while any row is provisional")
