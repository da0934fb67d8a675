"""The rule language as pydantic models (journey-language.md section 1).

A rule is one mapping. Atoms: ``attribute``, ``tag``, ``event``, ``source``,
``segment``, ``consent`` and, inside a running journey, ``context``. Combinators:
``all`` (list), ``any`` (list), ``not`` (one rule). :data:`Rule` is a discriminated
union whose discriminator looks at which key is present, so a typo is reported
against the model the author meant (``attribute.eqq: Extra inputs are not permitted``)
rather than against every member of the union; a mapping with none of the keys gets
one error that names them all.

Models forbid unknown keys, accept the YAML spelling of Python keywords (``in``,
``not``) by alias and dump by alias, and round-trip through :func:`dump_rule`
(``model_dump(mode="json", by_alias=True, exclude_none=True)``); durations come back
in canonical form (``180d`` is written ``25w5d``).

Sandbox-safe: stdlib and pydantic only, no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import ConfigDict, Discriminator, Field, Tag, TypeAdapter, model_validator

from rules.conditions import (
    COUNT_OPERATORS,
    OPERATORS,
    Condition,
    CountOperator,
    CountSpec,
    Operator,
    Operators,
    Scalar,
    StrictModel,
    WhereSpec,
    WhereValue,
)
from rules.durations import Duration

__all__ = [
    "COUNT_OPERATORS",
    "OPERATORS",
    "RULE_ADAPTER",
    "RULE_KEYS",
    "SOURCE_FIELDS",
    "AllRule",
    "AnyRule",
    "AttributeRule",
    "ChannelName",
    "Condition",
    "ConsentPurpose",
    "ConsentRule",
    "ConsentSpec",
    "ContextRule",
    "CountOperator",
    "CountSpec",
    "EventRule",
    "NotRule",
    "Operator",
    "Rule",
    "Scalar",
    "SegmentRule",
    "SourceRule",
    "SourceSpec",
    "TagRule",
    "WhereSpec",
    "WhereValue",
    "dump_rule",
    "parse_rule",
]

RULE_KEYS: tuple[str, ...] = (
    "attribute", "tag", "event", "source", "segment", "consent", "context", "all", "any", "not",
)  # fmt: skip
SOURCE_FIELDS: tuple[str, ...] = (
    "channel", "activity", "clinic", "doctor", "scene",
    "utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term",
)  # fmt: skip
ConsentPurpose = Literal["service", "marketing", "health_data"]
ChannelName = Literal["wechat_template", "wechat_subscribe", "wechat_text", "wecom", "sms", "phone"]

_Name = Annotated[str, Field(min_length=1)]
_Path = Annotated[str, Field(pattern=r"^[^.]+(\.[^.]+)*$")]


class _AttributeKey(StrictModel):
    attribute: _Path = Field(
        description="A profile attribute; dotted paths (a.b.c) reach into nested values."
    )


class _ContextKey(StrictModel):
    context: _Path = Field(
        description="A key of the enrollment context (e.g. the triggering event's properties)."
    )


class AttributeRule(Operators, _AttributeKey):
    """A condition on a profile attribute: ``{attribute: age_group, eq: child}``."""

    kind: ClassVar[str] = "attribute"


class ContextRule(Operators, _ContextKey):
    """A condition on the enrollment context: ``{context: appointment_id, exists: true}``."""

    kind: ClassVar[str] = "context"


class TagRule(StrictModel):
    """The customer has this tag now."""

    kind: ClassVar[str] = "tag"
    tag: _Name = Field(description="The tag the customer must currently have.")


_DEFAULT_COUNT = CountSpec(gte=1)


class EventRule(StrictModel):
    """The customer performed this event (with matching properties, so often, so recently)."""

    kind: ClassVar[str] = "event"
    event: _Name = Field(description="The event name, e.g. form.submitted.")
    where: WhereSpec | None = Field(
        None,
        description="Property conditions the event must meet (same operators as attribute).",
    )
    count: CountSpec | None = Field(
        None,
        description="How many matching events are needed (default: gte 1).",
    )
    within: Duration | None = Field(
        None,
        description="Count only events in the last DURATION (default: ever).",
    )

    def effective_count(self) -> CountSpec:
        """The count condition, ``gte: 1`` when none is written."""
        return self.count if self.count is not None else _DEFAULT_COUNT


class SourceSpec(StrictModel):
    """First-touch attribution fields; each a value (eq) or an operator mapping."""

    channel: WhereValue | None = Field(None, description="First-touch channel.")
    activity: WhereValue | None = Field(None, description="The campaign activity (event) id.")
    clinic: WhereValue | None = Field(None, description="The clinic of first touch.")
    doctor: WhereValue | None = Field(None, description="The doctor of first touch.")
    scene: WhereValue | None = Field(None, description="The QR-code scene value.")
    utm_source: WhereValue | None = Field(None, description="utm_source of the first visit.")
    utm_medium: WhereValue | None = Field(None, description="utm_medium of the first visit.")
    utm_campaign: WhereValue | None = Field(None, description="utm_campaign of the first visit.")
    utm_content: WhereValue | None = Field(None, description="utm_content of the first visit.")
    utm_term: WhereValue | None = Field(None, description="utm_term of the first visit.")

    @model_validator(mode="after")
    def _at_least_one(self) -> Self:
        if not self.conditions():
            raise ValueError(f"write at least one source field of: {', '.join(SOURCE_FIELDS)}")
        return self

    def conditions(self) -> dict[str, Scalar | Condition]:
        """The fields that are written, by name."""
        out: dict[str, Scalar | Condition] = {}
        for name in SOURCE_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        return out


class SourceRule(StrictModel):
    """First-touch attribution matches: ``{source: {channel: school_event}}``."""

    kind: ClassVar[str] = "source"
    source: SourceSpec = Field(description="Conditions on first-touch attribution fields.")


class SegmentRule(StrictModel):
    """The customer is a member of this named segment."""

    kind: ClassVar[str] = "segment"
    segment: _Name = Field(description="The id of a segment in segments/.")


class ConsentSpec(StrictModel):
    """Which consent must be recorded and not withdrawn."""

    purpose: ConsentPurpose = Field(description="service, marketing or health_data.")
    channel: ChannelName | None = Field(
        None,
        description="Only this channel; without it, consent on any channel counts.",
    )


class ConsentRule(StrictModel):
    """Consent is recorded and not withdrawn: ``{consent: {purpose: marketing, channel: sms}}``."""

    kind: ClassVar[str] = "consent"
    consent: ConsentSpec = Field(description="The purpose and optional channel of the consent.")


class AllRule(StrictModel):
    """Every listed rule holds."""

    kind: ClassVar[str] = "all"
    all: list[Rule] = Field(min_length=1, description="Rules that must all hold.")


class AnyRule(StrictModel):
    """At least one listed rule holds."""

    kind: ClassVar[str] = "any"
    any: list[Rule] = Field(min_length=1, description="Rules of which at least one must hold.")


class NotRule(StrictModel):
    """The rule does not hold."""

    kind: ClassVar[str] = "not"
    not_: Rule = Field(alias="not", description="A rule that must not hold.")


def _rule_kind(value: Any) -> str | None:
    # The first known key decides, so a second atom key is reported as an extra key of the
    # first model instead of as a failure of every union member.
    if isinstance(value, Mapping):
        for key in value:
            kind = "not" if key == "not_" else key
            if kind in RULE_KEYS:
                return str(kind)
        return None
    kind = getattr(value, "kind", None)
    return kind if isinstance(kind, str) else None


Rule = Annotated[
    Annotated[AttributeRule, Tag("attribute")]
    | Annotated[TagRule, Tag("tag")]
    | Annotated[EventRule, Tag("event")]
    | Annotated[SourceRule, Tag("source")]
    | Annotated[SegmentRule, Tag("segment")]
    | Annotated[ConsentRule, Tag("consent")]
    | Annotated[ContextRule, Tag("context")]
    | Annotated[AllRule, Tag("all")]
    | Annotated[AnyRule, Tag("any")]
    | Annotated[NotRule, Tag("not")],
    Discriminator(
        _rule_kind,
        custom_error_type="rule_kind",
        custom_error_message=(
            "a rule is one mapping with one of the keys: " + ", ".join(RULE_KEYS)
        ),
    ),
]
"""Any rule: an atom or a combinator."""

AllRule.model_rebuild()
AnyRule.model_rebuild()
NotRule.model_rebuild()

RULE_ADAPTER: TypeAdapter[Rule] = TypeAdapter(Rule, config=ConfigDict(title="rule"))


def parse_rule(data: Any) -> Rule:
    """Validate a YAML/JSON-shaped mapping into a rule; raise pydantic.ValidationError."""
    return RULE_ADAPTER.validate_python(data)


def dump_rule(rule: Rule) -> dict[str, Any]:
    """Write a rule back in its YAML shape (aliases, no unset fields, durations as text)."""
    out: dict[str, Any] = rule.model_dump(mode="json", by_alias=True, exclude_none=True)
    return out
