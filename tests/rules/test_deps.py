"""What a rule reads, and segment circles."""

from __future__ import annotations

from typing import Any

from rules.deps import RuleDeps, dependencies, find_segment_cycle, segment_references
from rules.models import Rule, parse_rule


def rules(**defs: Any) -> dict[str, Rule]:
    return {sid: parse_rule(rule) for sid, rule in defs.items()}


def test_dependencies_collect_every_input_of_a_nested_rule() -> None:
    rule = parse_rule(
        {
            "all": [
                {"attribute": "child.age", "lt": 12},
                {"tag": "高意向"},
                {"event": "form.submitted", "where": {"form_id": "x"}},
                {"not": {"segment": "paid"}},
                {
                    "any": [
                        {"context": "appointment_id", "exists": True},
                        {"consent": {"purpose": "service"}},
                    ]
                },
                {"source": {"channel": "school_event"}},
            ]
        }
    )
    assert dependencies(rule) == RuleDeps(
        events=frozenset({"form.submitted"}),
        tags=frozenset({"高意向"}),
        attributes=frozenset({"child.age"}),
        segments=frozenset({"paid"}),
        context_keys=frozenset({"appointment_id"}),
        uses_consent=True,
        uses_source=True,
        time_windows=False,
    )


def test_time_windows_are_flagged_wherever_they_appear() -> None:
    timed = [
        {"attribute": "last_visit_at", "within": "30d"},
        {"context": "booked_at", "older_than": "1d"},
        {"event": "visit", "within": "7d"},
        {"event": "visit", "where": {"at": {"within": "7d"}}},
        {"source": {"channel": {"older_than": "1d"}}},
        {"not": {"event": "visit", "within": "7d"}},
    ]
    for data in timed:
        assert dependencies(parse_rule(data)).time_windows, data
    assert not dependencies(parse_rule({"event": "visit", "count": {"gte": 3}})).time_windows


def test_with_definitions_segment_dependencies_are_followed() -> None:
    defs = rules(
        a={"all": [{"segment": "b"}, {"tag": "t-a"}]},
        b={"any": [{"event": "e-b", "within": "1d"}, {"segment": "missing"}]},
    )
    deps = dependencies(parse_rule({"segment": "a"}), defs)
    assert deps.segments == {"a", "b", "missing"}
    assert deps.tags == {"t-a"} and deps.events == {"e-b"} and deps.time_windows
    assert dependencies(parse_rule({"segment": "a"})).segments == {"a"}
    assert deps.segments - defs.keys() == {"missing"}  # how a validator finds missing ones


def test_following_segments_stops_at_circles() -> None:
    defs = rules(a={"segment": "b"}, b={"all": [{"segment": "a"}, {"tag": "t"}]})
    assert dependencies(parse_rule({"segment": "a"}), defs).tags == {"t"}


def test_find_segment_cycle() -> None:
    assert find_segment_cycle(rules(a={"segment": "b"}, b={"tag": "x"})) is None
    assert find_segment_cycle(rules(a={"segment": "b"}, b={"not": {"segment": "a"}})) == [
        "a",
        "b",
        "a",
    ]
    defs = rules(start={"segment": "x"}, x={"segment": "y"}, y={"segment": "x"}, z={"tag": "t"})
    assert find_segment_cycle(defs) == ["x", "y", "x"]
    assert find_segment_cycle(defs, start=["z"]) is None
    assert find_segment_cycle(rules(a={"segment": "a"})) == ["a", "a"]


def test_segment_references_are_direct_only() -> None:
    rule = parse_rule({"any": [{"segment": "a"}, {"not": {"segment": "b"}}]})
    assert segment_references(rule) == {"a", "b"}
