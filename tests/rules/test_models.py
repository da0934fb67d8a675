"""Rule models: every atom parses, typos are reported where the author meant, round-trip."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError
from pydantic_core import to_json

from rules.conditions import Condition, CountSpec, dump_where
from rules.durations import parse_duration
from rules.errors import DurationError
from rules.models import (
    RULE_ADAPTER,
    RULE_KEYS,
    AllRule,
    AnyRule,
    AttributeRule,
    ConsentRule,
    ContextRule,
    EventRule,
    NotRule,
    SegmentRule,
    SourceRule,
    TagRule,
    dump_rule,
    parse_rule,
)

CONTRACT_EXAMPLE: dict[str, Any] = {
    "all": [
        {"attribute": "age_group", "eq": "child"},
        {"attribute": "last_visit_at", "within": "180d"},
        {"tag": "高意向"},
        {
            "event": "form.submitted",
            "where": {"form_id": "vision_feedback"},
            "count": {"gte": 2},
            "within": "90d",
        },
        {"not": {"event": "appointment.paid", "within": "7d"}},
        {"any": [{"source": {"channel": "school_event"}}, {"segment": "live_stream_viewers"}]},
        {"consent": {"purpose": "marketing", "channel": "sms"}},
    ]
}


def errors_of(data: Any) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as info:
        parse_rule(data)
    return info.value.errors(include_url=False)


def test_the_contract_example_parses_into_the_right_models() -> None:
    rule = parse_rule(CONTRACT_EXAMPLE)
    assert isinstance(rule, AllRule)
    kinds = [type(item) for item in rule.all]
    assert kinds == [
        AttributeRule,
        AttributeRule,
        TagRule,
        EventRule,
        NotRule,
        AnyRule,
        ConsentRule,
    ]
    visit = rule.all[1]
    assert isinstance(visit, AttributeRule)
    assert visit.operator() == ("within", timedelta(days=180))
    event = rule.all[3]
    assert isinstance(event, EventRule)
    assert event.effective_count().operator() == ("gte", 2)
    assert event.within == timedelta(days=90)
    assert isinstance(rule.all[4], NotRule)
    assert isinstance(rule.all[4].not_, EventRule)


@pytest.mark.parametrize(
    ("data", "model"),
    [
        ({"attribute": "profile.child.age", "lt": 12}, AttributeRule),
        ({"tag": "VIP"}, TagRule),
        ({"event": "appointment.paid"}, EventRule),
        ({"source": {"utm_campaign": {"in": ["a", "b"]}}}, SourceRule),
        ({"segment": "ok_lens_wearers"}, SegmentRule),
        ({"consent": {"purpose": "service"}}, ConsentRule),
        ({"context": "appointment_id", "exists": True}, ContextRule),
        ({"all": [{"tag": "a"}]}, AllRule),
        ({"any": [{"tag": "a"}]}, AnyRule),
        ({"not": {"tag": "a"}}, NotRule),
    ],
)
def test_each_key_selects_its_model(data: dict[str, Any], model: type) -> None:
    assert isinstance(parse_rule(data), model)


@pytest.mark.parametrize(
    "data",
    [
        {
            "all": [
                {"attribute": "last_visit_at", "within": "180d"},
                {"event": "form.submitted", "where": {"id": "v"}, "count": {"gte": 2}},
                {"not": {"event": "appointment.paid", "within": "1w"}},
                {"any": [{"source": {"channel": "school_event"}}, {"segment": "live"}]},
            ]
        },
        {"attribute": "a.b", "in": [1, 2.5, True, "x"]},
        {"attribute": "a", "not_in": ["x"]},
        {"attribute": "a", "ne": False},
        {"attribute": "a", "gte": "2024-01-01"},
        {"attribute": "a", "contains": "眼"},
        {"attribute": "a", "exists": False},
        {"attribute": "a", "older_than": "1d12h"},
        {"context": "amount", "gt": 99.5},
        {"event": "e", "where": {"n": {"gte": 2}, "k": "v", "at": {"within": "2w"}}},
        {"event": "e", "count": {"eq": 0}},
        {"source": {"channel": "qr", "utm_source": {"ne": "baidu"}}},
        {"consent": {"purpose": "health_data", "channel": "wecom"}},
        {"not": {"not": {"any": [{"tag": "a"}, {"segment": "s"}]}}},
    ],
)
def test_dump_gives_back_the_yaml_shape_and_validates_to_an_equal_model(
    data: dict[str, Any],
) -> None:
    rule = parse_rule(data)
    dumped = dump_rule(rule)
    assert dumped == data
    assert parse_rule(dumped) == rule
    assert rule.model_dump(mode="json", by_alias=True, exclude_none=True) == dumped


def test_the_contract_example_round_trips_with_canonical_durations() -> None:
    rule = parse_rule(CONTRACT_EXAMPLE)
    dumped = dump_rule(rule)
    assert parse_rule(dumped) == rule
    assert dumped["all"][1] == {"attribute": "last_visit_at", "within": "180d"}
    assert dumped["all"][4] == {"not": {"event": "appointment.paid", "within": "1w"}}  # 7d
    assert [item for i, item in enumerate(dumped["all"]) if i not in (1, 3, 4)] == [
        item for i, item in enumerate(CONTRACT_EXAMPLE["all"]) if i not in (1, 3, 4)
    ]


def test_python_names_are_accepted_for_keyword_aliases() -> None:
    assert AttributeRule(attribute="a", in_=["x"]).operator() == ("in", ["x"])
    assert parse_rule({"not_": {"tag": "a"}}) == NotRule(not_=TagRule(tag="a"))
    assert dump_rule(NotRule(not_=TagRule(tag="a"))) == {"not": {"tag": "a"}}


def test_a_misspelt_operator_is_reported_against_the_attribute_model() -> None:
    errors = errors_of({"attribute": "age", "eqq": 1})
    assert len(errors) == 1
    assert errors[0]["type"] == "extra_forbidden"
    assert errors[0]["loc"] == ("attribute", "eqq")


def test_a_second_atom_key_is_an_extra_key_of_the_first() -> None:
    errors = errors_of({"tag": "VIP", "event": "x"})
    assert [(e["type"], e["loc"]) for e in errors] == [("extra_forbidden", ("tag", "event"))]


@pytest.mark.parametrize("data", [{"atribute": "age", "eq": 1}, {}, "VIP", ["tag"], None])
def test_no_known_key_names_the_valid_keys(data: Any) -> None:
    errors = errors_of(data)
    assert len(errors) == 1
    message = errors[0]["msg"]
    assert message.startswith("a rule is one mapping with one of the keys:")
    for key in RULE_KEYS:
        assert key in message


def test_a_rule_inside_a_list_reports_its_position() -> None:
    errors = errors_of({"all": [{"tag": "a"}, {"tga": "b"}]})
    assert errors[0]["loc"] == ("all", "all", 1)
    assert "one of the keys" in errors[0]["msg"]


@pytest.mark.parametrize(
    ("data", "found"),
    [
        ({"attribute": "age"}, "found no operator"),
        ({"attribute": "age", "eq": 1, "gt": 2}, "found operators eq and gt"),
        ({"context": "x"}, "found no operator"),
        ({"event": "e", "where": {"p": {}}}, "found no operator"),
        ({"event": "e", "where": {"p": {"in": [1], "ne": 2}}}, "found operators ne and in"),
    ],
)
def test_operator_count_errors_name_the_valid_operators(data: Any, found: str) -> None:
    message = errors_of(data)[0]["msg"]
    assert found in message
    assert "eq, ne, in, not_in, gt, gte, lt, lte, exists, contains, within, older_than" in message


def test_null_operand_points_to_exists() -> None:
    message = errors_of({"attribute": "a", "eq": None})[0]["msg"]
    assert "exists: false" in message


@pytest.mark.parametrize(
    ("data", "loc", "text"),
    [
        ({"attribute": "a", "eq": [1, 2]}, ("attribute", "eq"), "in: [...]"),
        ({"attribute": "a", "gt": True}, ("attribute", "gt"), "not true/false"),
        ({"attribute": "a", "in": []}, ("attribute", "in"), "at least 1"),
        ({"attribute": "a", "within": "soon"}, ("attribute", "within"), "not a duration"),
        ({"attribute": "a", "eq": float("nan")}, ("attribute", "eq"), "finite"),
        ({"attribute": "a..b", "eq": 1}, ("attribute", "attribute"), "pattern"),
        ({"event": "e", "count": {"gte": -1}}, ("event", "count", "gte"), "greater than"),
        ({"event": "e", "count": {"gte": 1.5}}, ("event", "count", "gte"), "integer"),
        ({"event": "e", "count": {}}, ("event", "count"), "count: {gte: 2}"),
        ({"event": "e", "where": {}}, ("event", "where"), "at least 1"),
        ({"source": {"chanel": "x"}}, ("source", "source", "chanel"), "Extra inputs"),
        ({"source": {}}, ("source", "source"), "utm_campaign"),
        ({"consent": {"purpose": "ads"}}, ("consent", "consent", "purpose"), "marketing"),
        ({"consent": {"purpose": "service", "channel": "fax"}}, None, "wecom"),
        ({"all": []}, ("all", "all"), "at least 1"),
        ({"tag": ""}, ("tag", "tag"), "at least 1"),
    ],
)
def test_malformed_rules_are_refused_with_a_located_message(
    data: Any, loc: tuple[Any, ...] | None, text: str
) -> None:
    errors = errors_of(data)
    assert any((loc is None or e["loc"] == loc) and text in e["msg"] for e in errors), errors


def test_yaml_dates_become_iso_text() -> None:
    rule = parse_rule({"attribute": "birthday", "gte": date(2020, 1, 31)})
    assert isinstance(rule, AttributeRule)
    assert rule.gte == "2020-01-31"


def test_where_plain_values_mean_eq_and_stay_plain() -> None:
    rule = EventRule.model_validate(
        {"event": "form", "where": {"form_id": "vision", "score": {"gte": 3}}}
    )
    where = rule.where or {}
    assert where["form_id"] == "vision"
    assert isinstance(where["score"], Condition)
    assert dump_where(where) == {"form_id": "vision", "score": {"gte": 3}}


def test_count_spec_needs_exactly_one_operator() -> None:
    with pytest.raises(ValidationError, match="found operators gte and lt"):
        CountSpec(gte=1, lt=3)


def test_json_schema_explains_itself() -> None:
    schema = RULE_ADAPTER.json_schema()  # the rule part of every schema editors read
    defs = schema["$defs"]
    assert {"AttributeRule", "EventRule", "NotRule", "Condition", "CountSpec"} <= set(defs)
    attribute = defs["AttributeRule"]
    assert attribute["additionalProperties"] is False
    assert "in" in attribute["properties"]
    for model in ("AttributeRule", "EventRule", "SourceSpec", "ConsentSpec", "CountSpec"):
        for name, prop in defs[model]["properties"].items():
            assert prop.get("description"), f"{model}.{name} has no description"
            assert prop.get("default", "unset") is not None, f"{model}.{name} advertises null"
    assert defs["NotRule"]["required"] == ["not"]


def test_a_full_json_dump_with_nulls_validates_back_as_temporal_payloads_do() -> None:
    rule = parse_rule(
        {"all": [{"attribute": "a", "in": [1]}, {"event": "e", "where": {"x": {"gte": 1}}}]}
    )
    payload = to_json(rule)  # what temporalio.contrib.pydantic writes: every field, nulls too
    assert b'"eq":null' in payload
    assert RULE_ADAPTER.validate_json(payload) == rule


def test_a_duration_too_long_to_keep_is_a_duration_error_not_a_crash() -> None:
    with pytest.raises(DurationError, match="longer than any duration"):
        parse_duration("1000000000d")
