"""Operator mappings shared by ``attribute``, ``context``, ``where`` and ``source``.

``{gte: 2}``, ``{in: [a, b]}``, ``{within: 30d}``: exactly one operator and its operand.
In a ``where`` or ``source`` mapping a plain value means ``eq``. Event ``count`` uses its
own small set of operators (:class:`CountSpec`). What each operator means is defined
once, in :mod:`rules.match`.

Sandbox-safe: stdlib and pydantic only, no I/O, no clock.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    PlainValidator,
    StrictBool,
    Tag,
    model_validator,
)

from rules.durations import Duration

Operator = Literal[
    "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists", "contains", "within",
    "older_than",
]  # fmt: skip
"""An operator of ``attribute``, ``context``, ``where`` and ``source`` conditions."""

OPERATORS: tuple[Operator, ...] = (
    "eq", "ne", "in", "not_in", "gt", "gte", "lt", "lte", "exists", "contains", "within",
    "older_than",
)  # fmt: skip
CountOperator = Literal["eq", "gte", "gt", "lte", "lt"]
COUNT_OPERATORS: tuple[CountOperator, ...] = ("eq", "gte", "gt", "lte", "lt")

_FIELD_OF: dict[str, str] = {"in": "in_"}  # operator -> Python attribute, where they differ
_OPERATOR_OF: dict[str, Operator] = {_FIELD_OF.get(op, op): op for op in OPERATORS}


def _check_scalar(value: Any) -> str | int | float | bool:
    # YAML reads an unquoted 2024-01-01 as a date; keep the ISO text it would be in JSON.
    if isinstance(value, date | datetime):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a value must be a finite number")
    if isinstance(value, str | int | float | bool):
        return value
    hint = "; to match any of several values write in: [...]" if isinstance(value, list) else ""
    raise ValueError(f"expected one value: text, a number or true/false{hint}")


def _check_ordered(value: Any) -> str | int | float:
    checked = _check_scalar(value)
    if isinstance(checked, bool):
        raise ValueError("gt, gte, lt and lte compare numbers or text, not true/false")
    return checked


Scalar = Annotated[
    str | int | float | bool,
    PlainValidator(_check_scalar, json_schema_input_type=str | int | float | bool),
]
"""One value to compare with: text, a number or true/false (never null)."""

Ordered = Annotated[
    str | int | float,
    PlainValidator(_check_ordered, json_schema_input_type=str | int | float),
]
"""A value with an order: a number, or text (compared by code point)."""

Count = Annotated[int, Field(ge=0, strict=True)]


def _yaml_schema(schema: dict[str, Any], cls: type[Any]) -> None:
    # Optional keys are simply left out in YAML; do not advertise ``null`` to editors.
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return
    for prop in properties.values():
        if not isinstance(prop, dict) or prop.get("default", "unset") is not None:
            continue
        del prop["default"]
        options = prop.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options:
            options.remove({"type": "null"})
            if len(options) == 1 and isinstance(options[0], dict):
                del prop["anyOf"]
                prop.update({k: v for k, v in options[0].items() if k not in prop})


class StrictModel(BaseModel):
    """Base of the rule language's models: unknown keys are errors, aliases both ways.

    Dump with ``exclude_none=True`` for the YAML shape; a full dump (explicit nulls, as
    the Temporal data converter writes) validates back to an equal model too.
    """

    model_config = ConfigDict(
        extra="forbid",
        populate_by_name=True,
        serialize_by_alias=True,
        json_schema_extra=_yaml_schema,
    )


class Operators(StrictModel):
    """Exactly one operator and its operand (a mixin of Condition, attribute and context)."""

    eq: Scalar | None = Field(None, description="The value equals this one.")
    ne: Scalar | None = Field(None, description="The value is present and differs from this one.")
    in_: list[Scalar] | None = Field(
        None, alias="in", min_length=1, description="The value equals one of these."
    )
    not_in: list[Scalar] | None = Field(
        None, min_length=1, description="The value is present and equals none of these."
    )
    gt: Ordered | None = Field(None, description="The value is greater than this.")
    gte: Ordered | None = Field(None, description="The value is at least this.")
    lt: Ordered | None = Field(None, description="The value is less than this.")
    lte: Ordered | None = Field(None, description="The value is at most this.")
    exists: StrictBool | None = Field(
        None, description="true: the value is present (not missing, not null); false: absent."
    )
    contains: Scalar | None = Field(
        None, description="Text contains this substring, or a list contains this item."
    )
    within: Duration | None = Field(
        None, description="A date/time value lies in the last DURATION (now - D <= value <= now)."
    )
    older_than: Duration | None = Field(
        None, description="A date/time value lies further back than DURATION (value < now - D)."
    )

    @model_validator(mode="after")
    def _exactly_one_operator(self) -> Self:
        found = [op for op in OPERATORS if getattr(self, _FIELD_OF.get(op, op)) is not None]
        if len(found) == 1:
            return self
        # An explicit null counts as absent (JSON payloads carry them), but a null that is
        # the only operator was most likely meant as "is missing": say how to write that.
        nulls = [
            _OPERATOR_OF[name] for name in sorted(self.model_fields_set) if name in _OPERATOR_OF
        ]
        if not found and nulls:
            raise ValueError(
                f"{nulls[0]}: null is not a value to compare with; "
                "to test for a missing value write exists: false"
            )
        what = "no operator" if not found else "operators " + " and ".join(found)
        raise ValueError(f"found {what}; write exactly one operator of: {', '.join(OPERATORS)}")

    def operator(self) -> tuple[Operator, Any]:
        """Return the one operator and its operand (a timedelta for within/older_than)."""
        for op in OPERATORS:
            value = getattr(self, _FIELD_OF.get(op, op))
            if value is not None:
                return op, value
        raise AssertionError("validated models always carry one operator")  # pragma: no cover


class Condition(Operators):
    """An operator mapping such as ``{gte: 2}`` or ``{in: [a, b]}``."""


def _value_kind(value: Any) -> str:
    return "condition" if isinstance(value, Mapping | Condition) else "value"


WhereValue = Annotated[
    Annotated[Scalar, Tag("value")] | Annotated[Condition, Tag("condition")],
    Discriminator(_value_kind),
]
"""A plain value (meaning ``eq``) or an operator mapping such as ``{gte: 2}``."""

WhereSpec = Annotated[
    dict[str, WhereValue],
    Field(
        min_length=1,
        description="Property conditions, all of which must hold: {prop: value} means eq, "
        "{prop: {op: value}} uses an operator. Dotted paths reach into nested properties.",
    ),
]
"""``where:`` mappings of events (also used by journey goals, exits and wait_for)."""


class CountSpec(StrictModel):
    """How many matching events: exactly one of eq, gte, gt, lte, lt."""

    eq: Count | None = Field(None, description="Exactly this many.")
    gte: Count | None = Field(None, description="At least this many.")
    gt: Count | None = Field(None, description="More than this many.")
    lte: Count | None = Field(None, description="At most this many.")
    lt: Count | None = Field(None, description="Fewer than this many.")

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        found = [op for op in COUNT_OPERATORS if getattr(self, op) is not None]
        if len(found) != 1:
            what = "no operator" if not found else "operators " + " and ".join(found)
            raise ValueError(
                f"found {what}; write exactly one of: {', '.join(COUNT_OPERATORS)} "
                "with a whole number, e.g. count: {gte: 2}"
            )
        return self

    def operator(self) -> tuple[CountOperator, int]:
        """Return the one operator and its number."""
        for op in COUNT_OPERATORS:
            value: int | None = getattr(self, op)
            if value is not None:
                return op, value
        raise AssertionError("validated models always carry one operator")  # pragma: no cover


def dump_where(where: Mapping[str, Scalar | Condition]) -> dict[str, Any]:
    """Write a ``where`` mapping back in its YAML shape (plain values stay plain)."""
    return {
        key: value.model_dump(mode="json", by_alias=True, exclude_none=True)
        if isinstance(value, Condition)
        else value
        for key, value in where.items()
    }
