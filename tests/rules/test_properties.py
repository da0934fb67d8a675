"""Properties that hold for every rule and every customer (hypothesis)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rules.evaluate import evaluate
from rules.models import dump_rule, parse_rule
from rules.view import CustomerView
from tests.rules.factories import NOW, consent, event

PATHS = ["age", "name", "child.age", "visited_at", "flags", "missing"]
DURATIONS = ["1h", "1d", "7d", "30d", "1w2d"]
scalars = st.one_of(
    st.integers(-3, 20),
    st.sampled_from([0.5, 9.0]),
    st.sampled_from(["a", "b", "ab", "9"]),
    st.booleans(),
)
ordered = st.one_of(st.integers(-3, 20), st.sampled_from(["a", "b", "2026-03-01"]))
iso_times = st.integers(0, 60 * 24).map(lambda m: (NOW - timedelta(hours=m)).isoformat())
values = st.one_of(scalars, iso_times, st.lists(scalars, max_size=3), st.none())


def condition() -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        st.builds(lambda op, v: {op: v}, st.sampled_from(["eq", "ne", "contains"]), scalars),
        st.builds(
            lambda op, v: {op: v},
            st.sampled_from(["in", "not_in"]),
            st.lists(scalars, min_size=1, max_size=3),
        ),
        st.builds(lambda op, v: {op: v}, st.sampled_from(["gt", "gte", "lt", "lte"]), ordered),
        st.builds(lambda v: {"exists": v}, st.booleans()),
        st.builds(
            lambda op, v: {op: v},
            st.sampled_from(["within", "older_than"]),
            st.sampled_from(DURATIONS),
        ),
    )


where_value = st.one_of(scalars, condition())
atoms = st.one_of(
    st.builds(lambda p, c: {"attribute": p, **c}, st.sampled_from(PATHS), condition()),
    st.builds(lambda p, c: {"context": p, **c}, st.sampled_from(PATHS), condition()),
    st.builds(lambda t: {"tag": t}, st.sampled_from(["a", "b"])),
    st.builds(
        lambda name, where, count, within: {
            "event": name,
            **({"where": where} if where else {}),
            **({"count": count} if count else {}),
            **({"within": within} if within else {}),
        },
        st.sampled_from(["open", "paid"]),
        st.dictionaries(st.sampled_from(["form", "n"]), where_value, max_size=2),
        st.none()
        | st.builds(
            lambda op, n: {op: n},
            st.sampled_from(["eq", "gte", "gt", "lte", "lt"]),
            st.integers(0, 3),
        ),
        st.none() | st.sampled_from(DURATIONS),
    ),
    st.builds(
        lambda f: {"source": f},
        st.dictionaries(
            st.sampled_from(["channel", "utm_source"]), where_value, min_size=1, max_size=2
        ),
    ),
    st.builds(lambda s: {"segment": s}, st.sampled_from(["s1", "s2"])),
    st.builds(
        lambda p, c: {"consent": {"purpose": p, **({"channel": c} if c else {})}},
        st.sampled_from(["service", "marketing"]),
        st.none() | st.sampled_from(["sms", "wecom"]),
    ),
)
rules = st.recursive(
    atoms,
    lambda inner: st.one_of(
        st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda items: {"any": items}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda item: {"not": item}, inner),
    ),
    max_leaves=6,
)
records = st.builds(
    lambda p, c, g, h: consent(p, c, NOW - timedelta(hours=h), granted=g),
    st.sampled_from(["service", "marketing"]),
    st.none() | st.sampled_from(["sms", "wecom"]),
    st.booleans(),
    st.integers(0, 5),
)
views = st.builds(
    lambda attrs, tags, events, source, consents, segs: CustomerView(
        attributes={**attrs, "child": {"age": attrs.get("age")}},
        tags=tags,
        events=events,
        source=source,
        consents=consents,
        segments=segs,
    ),
    st.dictionaries(st.sampled_from(PATHS[:5]), values, max_size=5),
    st.sets(st.sampled_from(["a", "b"])),
    st.lists(
        st.builds(
            lambda name, props, h: event(name, NOW - timedelta(hours=h), **props),
            st.sampled_from(["open", "paid"]),
            st.dictionaries(st.sampled_from(["form", "n"]), values, max_size=2),
            st.integers(-2, 24 * 40),
        ),
        max_size=5,
    ),
    st.dictionaries(st.sampled_from(["channel", "utm_source"]), values, max_size=2),
    st.lists(records, max_size=4),
    st.sets(st.sampled_from(["s1", "s2"])),
)
contexts = st.dictionaries(st.sampled_from(PATHS[:5]), values, max_size=4)


@settings(max_examples=300, deadline=None)
@given(rules, views, contexts)
def test_not_is_the_complement_and_single_item_combinators_are_identity(
    data: dict[str, Any], view: CustomerView, context: dict[str, Any]
) -> None:
    def ev(rule: dict[str, Any]) -> bool:
        return evaluate(parse_rule(rule), view, now=NOW, context=context)

    answer = ev(data)
    assert ev({"not": data}) is (not answer)
    assert ev({"all": [data]}) is answer
    assert ev({"any": [data]}) is answer
    assert ev({"not": {"not": data}}) is answer


@settings(max_examples=150, deadline=None)
@given(rules, rules, views)
def test_de_morgan(a: dict[str, Any], b: dict[str, Any], view: CustomerView) -> None:
    def ev(rule: dict[str, Any]) -> bool:
        return evaluate(parse_rule(rule), view, now=NOW)

    assert ev({"not": {"all": [a, b]}}) is ev({"any": [{"not": a}, {"not": b}]})


@settings(max_examples=200, deadline=None)
@given(rules)
def test_every_rule_round_trips(data: dict[str, Any]) -> None:
    rule = parse_rule(data)
    assert parse_rule(dump_rule(rule)) == rule
