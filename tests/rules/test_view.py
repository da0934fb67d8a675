"""CustomerView: a pure, serialisable snapshot of one customer."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import ValidationError

from rules.view import CustomerView, EventRecord
from tests.rules.factories import NOW, consent, event


def test_a_view_round_trips_through_json_with_sorted_sets() -> None:
    view = CustomerView(
        attributes={"age_group": "child", "child": {"age": 9}},
        tags={"b", "a", "高意向"},
        events=[event("form.submitted", NOW, form_id="x")],
        source={"channel": "school_event"},
        consents=[consent("marketing", "sms", NOW)],
        segments={"s2", "s1"},
    )
    dumped = view.model_dump(mode="json")
    assert dumped["tags"] == ["a", "b", "高意向"]
    assert dumped["segments"] == ["s1", "s2"]
    assert CustomerView.model_validate(dumped) == view


def test_lists_are_accepted_for_sets_and_everything_defaults_empty() -> None:
    view = CustomerView.model_validate({"tags": ["VIP", "VIP"]})
    assert view.tags == {"VIP"}
    assert view.events == [] and view.consents == [] and view.segments == set()


def test_times_must_be_timezone_aware() -> None:
    with pytest.raises(ValidationError, match="timezone"):
        EventRecord(name="x", at=datetime(2026, 3, 2, 10, 0))


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="Extra inputs"):
        CustomerView.model_validate({"tag": ["x"]})
