"""Pieces several schema families share: naming a customer, what a change started."""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from engine.dispatch.report import DispatchReport
from engine.store.records import IDENTITY_KINDS, Identities

_KINDS = ", ".join(IDENTITY_KINDS)

#: Limits on what one request may carry (each a 422 naming the field when passed).
MAX_TAGS = 100
MAX_KEYS = 200
MAX_DEPTH = 8
#: A rule nests two levels per combinator ({all: [...]}): 32 allow 16 combinators.
MAX_RULE_DEPTH = 32
MAX_IDENTITY = 128
#: Whole numbers must fit in 64 bits: SQLite's JSON functions turn larger ones into
#: floats, and other systems reading the events back would lose digits.
MAX_INT = 2**63 - 1

TagName = Annotated[str, Field(min_length=1, max_length=100)]
Identity = Annotated[str, Field(max_length=MAX_IDENTITY)]


def _check_json(value: Any, path: str, depth: int, max_depth: int = MAX_DEPTH) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{path} is not a finite number")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_INT:
        raise ValueError(f"{path} is outside the 64-bit range of whole numbers")
    children: list[tuple[str, Any]] = []
    if isinstance(value, dict):
        children = [(str(k), v) for k, v in value.items()]
    elif isinstance(value, list):
        children = [(str(i), v) for i, v in enumerate(value)]
    if children and depth >= max_depth:
        raise ValueError(f"{path} nests deeper than {max_depth} levels of objects and lists")
    for key, child in children:
        _check_json(child, f"{path}.{key}", depth + 1, max_depth)


def _json_object(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_KEYS:
        raise ValueError(f"may have at most {MAX_KEYS} keys, not {len(value)}")
    for key, child in value.items():
        _check_json(child, key, 1)
    return value


def _rule_object(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_KEYS:
        raise ValueError(f"may have at most {MAX_KEYS} keys, not {len(value)}")
    for key, child in value.items():
        _check_json(child, key, 1, MAX_RULE_DEPTH)
    return value


#: A free-form JSON object of a request (properties, attributes, context): at most
#: MAX_KEYS keys at its top, MAX_DEPTH levels deep, finite numbers in 64-bit range.
JsonObject = Annotated[
    dict[str, Any],
    AfterValidator(_json_object),
    Field(
        json_schema_extra={"maxProperties": MAX_KEYS, "x-max-depth": MAX_DEPTH},
    ),
]
#: A rule sent with a request (segment previews): deeper than other objects, as above.
RuleObject = Annotated[
    dict[str, Any],
    AfterValidator(_rule_object),
    Field(json_schema_extra={"maxProperties": MAX_KEYS, "x-max-depth": MAX_RULE_DEPTH}),
]
JSON_LIMITS = (
    f"at most {MAX_KEYS} keys, nested at most {MAX_DEPTH} levels deep; numbers finite and "
    "whole numbers within 64 bits"
)


class CustomerIdentities(Identities):
    """The identities a request names a customer by; at least one is needed."""

    model_config = ConfigDict(
        extra="forbid",
        title="CustomerIdentities",
        # What _at_least_one checks, said in the JSON Schema: one identity given.
        json_schema_extra={
            "anyOf": [
                {"required": [kind], "properties": {kind: {"type": "string", "minLength": 1}}}
                for kind in IDENTITY_KINDS
            ]
        },
    )

    customer_id: Identity | None = Field(None, description="carepath's own customer id")
    phone: Identity | None = Field(
        None, description="mobile number; 13800000000 or +8613800000000, stored as E.164"
    )
    wechat_openid: Identity | None = Field(None, description="openid within wechat_app_id")
    wechat_app_id: Identity | None = Field(None, description="app of the openid (default: ours)")
    wechat_unionid: Identity | None = Field(None, description="unionid across our WeChat apps")
    wecom_external_userid: Identity | None = Field(None, description="WeCom external contact id")
    wecom_owner_userid: Identity | None = Field(None, description="staff member owning the contact")
    his_patient_id: Identity | None = Field(None, description="hospital information system id")
    user_id: Identity | None = Field(None, description="the clinic's own member or HIS id")
    anonymous_id: Identity | None = Field(None, description="a device or browser id of a visitor")

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
        "dispatch_pending": pending or report.pending,
    }


def pending_response(model: type[BaseModel]) -> dict[int | str, dict[str, Any]]:
    """The 202 of a route that stored a change whose dispatch waits for Temporal."""
    return {
        202: {
            "model": model,
            "description": "stored; the journeys it starts wait until Temporal can be "
            "reached (`dispatch_pending: true`)",
        }
    }
