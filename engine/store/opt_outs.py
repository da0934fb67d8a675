"""An opt-out as operators see it: a customer's consent withdrawal, newest first
across customers (``ServiceStore.recent_opt_outs``)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class OptOut(BaseModel):
    """One withdrawal of consent, with the customer it belongs to (after merges)."""

    id: int = Field(description="the consent ledger's row id")
    customer_id: str = Field(description="the customer who withdrew (a live id)")
    name: str | None = Field(None, description="the customer's name attribute, if any")
    clinic_id: str | None = Field(None, description="the customer's clinic, if any")
    purpose: str = Field(description="what was withdrawn: marketing, service...")
    channel: str | None = Field(None, description="the channel it concerns; None: every one")
    source: str = Field(description="how it was recorded: reply keyword, api, console...")
    at: datetime = Field(description="when it was withdrawn")
