"""The comparison core: every operator, missing values, kinds, dotted paths, time windows."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import pytest

from rules.conditions import Operator
from rules.errors import RulesError
from rules.match import MISSING, as_instant, compare, lookup, match_value, match_where
from rules.models import EventRule

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("op", "actual", "expected", "result"),
    [
        ("eq", "child", "child", True),
        ("eq", "child", "adult", False),
        ("eq", 1, 1.0, True),
        ("eq", 1, "1", False),
        ("eq", "1", 1, False),
        ("eq", True, 1, False),
        ("eq", 1, True, False),
        ("eq", True, True, True),
        ("eq", [1], 1, False),
        ("ne", "a", "b", True),
        ("ne", "a", "a", False),
        ("ne", 1, "1", True),
        ("ne", [1, 2], 1, True),
        ("in", "b", ["a", "b"], True),
        ("in", 2.0, [1, 2], True),
        ("in", "2", [1, 2], False),
        ("not_in", "c", ["a", "b"], True),
        ("not_in", "a", ["a", "b"], False),
        ("gt", 5, 4.5, True),
        ("gt", 5, 5, False),
        ("gte", 5, 5, True),
        ("lt", 4, 5, True),
        ("lt", 5, 5, False),
        ("lte", 5, 5.0, True),
        ("gt", "b", "a", True),
        ("lt", "2024-01-02", "2024-01-10", True),
        ("gt", "Z", "a", False),  # code point order: "Z" < "a"
        ("gt", "10", 9, False),
        ("gt", 10, "9", False),
        ("gt", True, False, False),
        ("contains", "青少年验光套餐", "验光", True),
        ("contains", "abc", "B", False),
        ("contains", ["a", "b"], "b", True),
        ("contains", [1, 2], 2.0, True),
        ("contains", [1, 2], "2", False),
        ("contains", "a5b", 5, False),
        ("contains", {"b": 1}, "b", False),
        ("exists", "x", True, True),
        ("exists", "", True, True),
        ("exists", 0, False, False),
    ],
)
def test_operators_on_present_values(
    op: Operator, actual: Any, expected: Any, result: bool
) -> None:
    assert compare(op, actual, expected, NOW) is result


@pytest.mark.parametrize(
    ("op", "expected"),
    [
        ("eq", "x"),
        ("ne", "x"),
        ("in", ["x"]),
        ("not_in", ["x"]),
        ("gt", 1),
        ("gte", 1),
        ("lt", 1),
        ("lte", 1),
        ("contains", "x"),
        ("within", DAY),
        ("older_than", DAY),
        ("exists", True),
    ],
)
@pytest.mark.parametrize("missing", [MISSING, None])
def test_every_operator_is_false_on_a_missing_value(
    op: Operator, expected: Any, missing: Any
) -> None:
    assert compare(op, missing, expected, NOW) is False


@pytest.mark.parametrize("missing", [MISSING, None])
def test_exists_false_holds_only_for_missing_values(missing: Any) -> None:
    assert compare("exists", missing, False, NOW) is True
    assert compare("exists", "present", False, NOW) is False


def test_lookup_walks_dotted_paths_through_objects_only() -> None:
    data = {"a": {"b": {"c": 3}, "list": [{"x": 1}], "n": None}, "a.b": "flat"}
    assert lookup(data, "a.b.c") == 3
    assert lookup(data, "a.b") == {"c": 3}  # dots always split
    assert lookup(data, "a.list.0.x") is MISSING
    assert lookup(data, "a.b.c.d") is MISSING
    assert lookup(data, "a.n") is MISSING
    assert lookup(data, "nope") is MISSING
    assert lookup(None, "a") is MISSING
    assert not MISSING


@pytest.mark.parametrize(
    ("value", "instant"),
    [
        ("2026-03-01", datetime(2026, 3, 1, tzinfo=UTC)),
        ("2026-03-01T08:30", datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        ("2026-03-01 08:30:15", datetime(2026, 3, 1, 8, 30, 15, tzinfo=UTC)),
        ("2026-03-01T08:30:15.5Z", datetime(2026, 3, 1, 8, 30, 15, 500000, tzinfo=UTC)),
        ("2026-03-01T16:30:00+08:00", datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        (date(2026, 3, 1), datetime(2026, 3, 1, tzinfo=UTC)),
        (datetime(2026, 3, 1, 8, 30), datetime(2026, 3, 1, 8, 30, tzinfo=UTC)),
        ("2026-02-30", None),
        ("20260301", None),
        ("yesterday", None),
        (1772445600, None),
    ],
)
def test_points_in_time_are_read_from_iso_text_dates_and_datetimes(
    value: Any, instant: datetime | None
) -> None:
    assert as_instant(value) == instant


def test_within_includes_both_ends_of_the_window() -> None:
    assert compare("within", NOW - 7 * DAY, 7 * DAY, NOW)
    assert not compare("within", NOW - 7 * DAY - timedelta(seconds=1), 7 * DAY, NOW)
    assert compare("within", NOW, 7 * DAY, NOW)
    assert not compare("within", NOW + timedelta(seconds=1), 7 * DAY, NOW)  # future


def test_older_than_excludes_the_boundary() -> None:
    assert not compare("older_than", NOW - 7 * DAY, 7 * DAY, NOW)
    assert compare("older_than", NOW - 7 * DAY - timedelta(seconds=1), 7 * DAY, NOW)
    assert not compare("older_than", "not a date", 7 * DAY, NOW)


def test_date_only_values_are_midnight_utc() -> None:
    now = datetime(2026, 3, 2, 7, 0, tzinfo=timezone(timedelta(hours=8)))  # 2026-03-01 23:00Z
    assert compare("within", "2026-03-01", DAY, now)
    assert not compare("within", "2026-03-02", DAY, now)  # midnight UTC is still ahead


def test_time_operators_need_an_aware_now() -> None:
    with pytest.raises(RulesError, match="now="):
        compare("within", "2026-03-01", DAY, None)
    with pytest.raises(RulesError, match="timezone-aware"):
        compare("older_than", "2026-03-01", DAY, datetime(2026, 3, 2))


def test_python_dates_compare_as_their_iso_text() -> None:
    assert compare("eq", date(2026, 3, 1), "2026-03-01", NOW)
    assert compare("gte", date(2026, 3, 1), "2026-01-01", NOW)


def test_match_value_plain_means_eq_and_mappings_are_conditions() -> None:
    assert match_value("a", "a")
    assert match_value({"in": ["a", "b"]}, "b")
    assert not match_value({"ne": "a"}, MISSING)
    with pytest.raises(RulesError, match="not a condition"):
        match_value({"eqq": 1}, 1)


def test_match_where_requires_every_property() -> None:
    props = {"form_id": "vision_feedback", "score": 4, "child": {"age": 9}}
    assert match_where({"form_id": "vision_feedback", "score": {"gte": 4}}, props)
    assert match_where({"child.age": {"lt": 12}}, props)
    assert not match_where({"form_id": "vision_feedback", "score": {"gt": 4}}, props)
    assert not match_where({"missing": {"ne": "x"}}, props)
    assert match_where({"missing": {"exists": False}}, props)
    assert match_where(None, props) and match_where({}, props)


def test_match_where_accepts_validated_and_resolved_mappings_alike() -> None:
    raw = {"appointment_id": "A-1", "at": {"within": "1d"}}
    props = {"appointment_id": "A-1", "at": "2026-03-02T09:00:00+00:00"}
    assert match_where(raw, props, now=NOW)
    validated = EventRule.model_validate({"event": "booked", "where": raw}).where
    assert match_where(validated, props, now=NOW)
    assert not match_where({"appointment_id": None}, props)  # a template that resolved to nothing
