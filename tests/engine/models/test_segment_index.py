"""The dependency index picks exactly the segments a change can alter."""

from __future__ import annotations

from typing import Any

from engine.models.journey import Segment
from engine.models.segment_index import EVERYTHING, SegmentIndex, Touch


def seg(sid: str, rule: dict[str, Any]) -> Segment:
    return Segment.model_validate({"id": sid, "rule": rule})


INDEX = SegmentIndex(
    {
        s.id: s
        for s in [
            seg("viewers", {"event": "live.viewed", "count": {"gte": 2}}),
            seg("recent_form", {"event": "form.submitted", "within": "7d"}),
            seg("vip", {"tag": "vip"}),
            seg("myopic", {"attribute": "medical.myopia", "gte": 3}),
            seg("marketing_ok", {"consent": {"purpose": "marketing"}}),
            seg("from_school", {"source": {"channel": "school_event"}}),
            seg("engaged_vip", {"all": [{"segment": "vip"}, {"segment": "viewers"}]}),
            seg("top", {"any": [{"segment": "engaged_vip"}, {"tag": "ambassador"}]}),
            seg("recent_vip", {"all": [{"segment": "vip"}, {"segment": "recent_form"}]}),
        ]
    }
)


def test_an_event_picks_the_segments_that_count_it_and_those_built_on_them() -> None:
    assert INDEX.affected(Touch(events=["live.viewed"])) == ["viewers", "engaged_vip", "top"]
    assert INDEX.affected(Touch(events=["form.submitted"])) == ["recent_form", "recent_vip"]


def test_an_event_no_segment_reads_picks_none() -> None:
    assert not INDEX.reads_event("page.viewed")
    assert INDEX.affected(Touch(events=["page.viewed"])) == []


def test_tags_attributes_consent_and_source() -> None:
    assert INDEX.affected(Touch(tags=["vip"])) == ["vip", "engaged_vip", "recent_vip", "top"]
    assert INDEX.affected(Touch(tags=["ambassador"])) == ["top"]
    assert INDEX.affected(Touch(tags=["other"])) == []
    # A dotted path is indexed under its top-level attribute, which updates replace.
    assert INDEX.affected(Touch(attributes=["medical"])) == ["myopic"]
    assert INDEX.affected(Touch(attributes=["name"])) == []
    assert INDEX.affected(Touch(consent=True)) == ["marketing_ok"]
    assert INDEX.affected(Touch(source=True)) == ["from_school"]


def test_referring_segments_come_after_the_segments_they_use() -> None:
    order = INDEX.affected(EVERYTHING)
    assert sorted(order) == sorted(INDEX.segments)
    for later, earlier in [
        ("engaged_vip", "vip"),
        ("engaged_vip", "viewers"),
        ("top", "engaged_vip"),
        ("recent_vip", "recent_form"),
    ]:
        assert order.index(earlier) < order.index(later)


def test_what_evaluating_them_reads() -> None:
    needs = INDEX.needs(["viewers", "engaged_vip", "top"])
    assert needs.events == {"live.viewed"} and needs.tags
    assert not (needs.attributes or needs.consents or needs.source)


def test_time_based_segments_include_those_using_one() -> None:
    assert INDEX.timed == {"recent_form", "recent_vip"}
