"""In-memory evaluation: every atom, nesting, segments, consent, event windows."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from rules.errors import RulesError, SegmentCycleError
from rules.evaluate import consent_granted, count_events, evaluate
from rules.models import EventRule, Rule, parse_rule
from rules.view import CustomerView
from tests.rules.factories import NOW, ago, consent, event, view


def holds(rule: dict[str, Any], customer: CustomerView, **kwargs: Any) -> bool:
    return evaluate(parse_rule(rule), customer, now=kwargs.pop("now", NOW), **kwargs)


PARENT = view(
    attributes={
        "age_group": "child",
        "last_visit_at": ago(days=30).isoformat(),
        "child": {"age": 9, "glasses": ["ok_lens"]},
        "opted_out": None,
    },
    tags=["高意向"],
    events=[
        event("form.submitted", ago(days=10), form_id="vision_feedback"),
        event("form.submitted", ago(days=40), form_id="vision_feedback"),
        event("form.submitted", ago(days=5), form_id="other"),
        event("appointment.paid", ago(days=20), appointment_id="A-1"),
    ],
    source={"channel": "school_event", "utm_source": "wechat", "clinic": "sz-01"},
    consents=[consent("marketing", "sms", ago(days=100))],
    segments=["live_stream_viewers"],
)


def test_the_contract_example_holds_for_a_matching_parent() -> None:
    rule = {
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
    assert holds(rule, PARENT)
    rule["all"][3]["within"] = "30d"  # type: ignore[index]
    assert not holds(rule, PARENT)


@pytest.mark.parametrize(
    ("rule", "result"),
    [
        ({"attribute": "age_group", "in": ["child", "teen"]}, True),
        ({"attribute": "age_group", "ne": "adult"}, True),
        ({"attribute": "child.age", "lt": 12}, True),
        ({"attribute": "child.glasses", "contains": "ok_lens"}, True),
        ({"attribute": "child.age", "eq": "9"}, False),
        ({"attribute": "last_visit_at", "older_than": "60d"}, False),
        ({"attribute": "last_visit_at", "older_than": "29d"}, True),
        ({"attribute": "phone", "ne": "x"}, False),
        ({"attribute": "phone", "not_in": ["x"]}, False),
        ({"attribute": "phone", "exists": False}, True),
        ({"attribute": "opted_out", "exists": False}, True),
        ({"tag": "高意向"}, True),
        ({"tag": "VIP"}, False),
        ({"source": {"channel": "school_event", "clinic": {"in": ["sz-01", "sz-02"]}}}, True),
        ({"source": {"channel": "school_event", "utm_source": "baidu"}}, False),
        ({"source": {"doctor": {"exists": False}}}, True),
        ({"segment": "live_stream_viewers"}, True),
        ({"segment": "other"}, False),
        ({"all": [{"tag": "高意向"}, {"tag": "VIP"}]}, False),
        ({"any": [{"tag": "高意向"}, {"tag": "VIP"}]}, True),
        ({"not": {"tag": "VIP"}}, True),
        ({"not": {"any": [{"tag": "VIP"}, {"not": {"tag": "高意向"}}]}}, True),
    ],
)
def test_atoms_and_combinators(rule: dict[str, Any], result: bool) -> None:
    assert holds(rule, PARENT) is result


def test_context_atoms_read_the_enrollment_context() -> None:
    ctx = {"appointment_id": "A-1", "package": {"price": 399}}
    assert holds({"context": "appointment_id", "exists": True}, PARENT, context=ctx)
    assert holds({"context": "package.price", "gte": 300}, PARENT, context=ctx)
    assert not holds({"context": "appointment_id", "exists": True}, PARENT)
    assert holds({"context": "appointment_id", "exists": False}, PARENT)


@pytest.mark.parametrize(
    ("count", "within", "result"),
    [
        (None, None, True),
        ({"gte": 2}, None, True),
        ({"eq": 2}, None, True),
        ({"gt": 2}, None, False),
        ({"lte": 1}, "30d", True),
        ({"lt": 1}, "7d", True),
        ({"eq": 0}, "7d", True),
        (None, "7d", False),
    ],
)
def test_event_count_and_window(count: Any, within: Any, result: bool) -> None:
    rule: dict[str, Any] = {"event": "form.submitted", "where": {"form_id": "vision_feedback"}}
    if count is not None:
        rule["count"] = count
    if within is not None:
        rule["within"] = within
    assert holds(rule, PARENT) is result


def test_event_window_boundaries_and_future_events() -> None:
    customer = view(
        events=[
            event("visit", ago(days=7)),  # exactly at the edge: counts
            event("visit", ago(days=7, seconds=1)),  # just outside
            event("visit", NOW),  # now: counts
            event("visit", NOW + timedelta(seconds=1)),  # future: never counts
        ]
    )
    rule = parse_rule({"event": "visit", "within": "7d"})
    assert isinstance(rule, EventRule)
    assert count_events(customer, rule, NOW) == 2
    assert count_events(customer, EventRule(event="visit"), NOW) == 3


def test_event_where_uses_every_operator_and_dotted_paths() -> None:
    customer = view(events=[event("order.paid", ago(hours=1), amount=399, item={"sku": "OK-1"})])
    assert holds(
        {"event": "order.paid", "where": {"amount": {"gte": 300}, "item.sku": "OK-1"}}, customer
    )
    assert not holds({"event": "order.paid", "where": {"item.sku": {"ne": "OK-1"}}}, customer)
    assert not holds({"event": "order.paid", "where": {"coupon": {"ne": "X"}}}, customer)


# --- consent -------------------------------------------------------------------------


def test_consent_on_a_channel() -> None:
    records = [consent("marketing", "sms", ago(days=3))]
    assert consent_granted(records, "marketing", "sms")
    assert not consent_granted(records, "marketing", "wecom")
    assert not consent_granted(records, "service", "sms")
    assert consent_granted(records, "marketing")


def test_a_withdrawal_at_the_same_time_or_later_wins() -> None:
    same = [
        consent("marketing", "sms", ago(days=1)),
        consent("marketing", "sms", ago(days=1), granted=False),
    ]
    later = [
        consent("marketing", "sms", ago(days=2)),
        consent("marketing", "sms", ago(days=1), granted=False),
    ]
    regranted = [*later, consent("marketing", "sms", ago(hours=1))]
    assert not consent_granted(same, "marketing", "sms")
    assert not consent_granted(list(reversed(same)), "marketing", "sms")
    assert not consent_granted(later, "marketing", "sms")
    assert consent_granted(regranted, "marketing", "sms")


def test_channel_less_records_apply_to_every_channel_of_the_purpose() -> None:
    everything = consent("marketing", None, ago(days=5))
    sms_withdrawn = consent("marketing", "sms", ago(days=1), granted=False)
    assert consent_granted([everything], "marketing", "wecom")
    assert not consent_granted([everything, sms_withdrawn], "marketing", "sms")
    assert consent_granted([everything, sms_withdrawn], "marketing", "wecom")
    assert consent_granted([everything, sms_withdrawn], "marketing")
    withdraw_all = consent("marketing", None, ago(days=1), granted=False)
    sms = consent("marketing", "sms", ago(days=2))
    assert not consent_granted([sms, withdraw_all], "marketing", "sms")
    assert not consent_granted([sms, withdraw_all], "marketing")
    assert consent_granted([withdraw_all, consent("marketing", "sms", NOW)], "marketing")


def test_consent_atom_without_a_channel_holds_when_any_channel_is_granted() -> None:
    customer = view(
        consents=[
            consent("marketing", "sms", ago(days=3), granted=False),
            consent("marketing", "wecom", ago(days=3)),
        ]
    )
    assert holds({"consent": {"purpose": "marketing"}}, customer)
    assert not holds({"consent": {"purpose": "marketing", "channel": "sms"}}, customer)
    assert not holds({"consent": {"purpose": "service"}}, customer)


# --- segments ------------------------------------------------------------------------


def segments(**rules: Any) -> dict[str, Rule]:
    return {sid: parse_rule(rule) for sid, rule in rules.items()}


def test_segments_are_evaluated_recursively_when_defined() -> None:
    defs = segments(
        parents={"attribute": "age_group", "eq": "child"},
        engaged_parents={"all": [{"segment": "parents"}, {"tag": "高意向"}]},
    )
    assert holds({"segment": "engaged_parents"}, PARENT, segments=defs)
    assert not holds({"segment": "engaged_parents"}, view(tags=["高意向"]), segments=defs)
    # Not defined here: membership comes from the view.
    assert holds({"segment": "live_stream_viewers"}, PARENT, segments=defs)


def test_a_segment_cycle_is_an_error_naming_the_circle_whatever_the_data() -> None:
    defs = segments(
        a={"all": [{"tag": "VIP"}, {"segment": "b"}]},
        b={"any": [{"segment": "c"}]},
        c={"segment": "a"},
    )
    with pytest.raises(SegmentCycleError) as info:
        holds({"segment": "a"}, PARENT, segments=defs)  # PARENT lacks VIP: short-circuits
    assert info.value.cycle == ["a", "b", "c", "a"]
    assert "a -> b -> c -> a" in str(info.value)
    assert isinstance(info.value, RulesError)


def test_a_self_referencing_segment_is_a_cycle() -> None:
    with pytest.raises(SegmentCycleError, match="me -> me"):
        holds({"not": {"segment": "me"}}, PARENT, segments=segments(me={"segment": "me"}))


def test_now_must_be_aware() -> None:
    with pytest.raises(RulesError, match="timezone-aware"):
        holds({"tag": "x"}, PARENT, now=datetime(2026, 3, 2))
