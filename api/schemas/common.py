"""Pieces several schema families share: naming a customer, what a change started."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from engine.dispatch.report import DispatchReport
from engine.store.records import IDENTITY_KINDS, Identities

_KINDS = ", ".join(IDENTITY_KINDS)


class CustomerIdentities(Identities):
    """The identities a request names a customer by; at least one is needed."""

    model_config = ConfigDict(extra="forbid", title="CustomerIdentities")

    customer_id: str | None = Field(None, description="carepath's own customer id")
    phone: str | None = Field(
        None, description="mobile number; 13800000000 or +8613800000000, stored as E.164"
    )
    wechat_openid: str | None = Field(None, description="openid within wechat_app_id")
    wechat_app_id: str | None = Field(None, description="app of the openid (default: ours)")
    wechat_unionid: str | None = Field(None, description="unionid across our WeChat apps")
    wecom_external_userid: str | None = Field(None, description="WeCom external contact id")
    wecom_owner_userid: str | None = Field(None, description="staff member owning the contact")
    his_patient_id: str | None = Field(None, description="hospital information system id")

    @model_validator(mode="after")
    def _at_least_one(self) -> CustomerIdentities:
        if not self.keys():
            raise ValueError(f"give at least one identity: {_KINDS}")
        return self


class DispatchOutcome(BaseModel):
    """What accepted changes started in journeys."""

    enrolled: list[str] = Field(
        default_factory=list, description="journey_id:started for each enrollment begun"
    )
    skipped: list[str] = Field(
        default_factory=list,
        description="journey_id:reason for triggered journeys that did not enroll",
    )
    signalled: list[str] = Field(
        default_factory=list, description="running enrollments the events were forwarded to"
    )
    enrollment_ids: list[str] = Field(
        default_factory=list, description="ids of the enrollments begun (GET /v1/enrollments/{id})"
    )
    dispatch_pending: bool = Field(
        False,
        description="true when the changes are stored but Temporal could not be reached: "
        "they are acted on as soon as it can",
    )


def dispatch_fields(report: DispatchReport, pending: bool = False) -> dict[str, Any]:
    """The ``DispatchOutcome`` fields of a dispatcher report."""
    return {
        "enrolled": list(report.enrolled),
        "skipped": list(report.skipped),
        "signalled": list(report.signalled),
        "enrollment_ids": list(report.enrollment_ids),
        "dispatch_pending": pending,
    }
