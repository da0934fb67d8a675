"""Hypothesis strategies for the SQL parity test: rules of every atom and combinator,
and small populations with histories (attributes with nested values, lists and bad
dates, tags, events, source, consents, segment memberships, a merged-away customer)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from hypothesis import strategies as st

from rules.view import CustomerView
from tests.rules.factories import NOW, consent, event

DURATIONS = ["1h", "1d", "2d", "7d", "30d", "1w2d"]
TEXTS = ["a", "b", "ab", "B", "Z", "é", "中", "9", "", "2026-03-01", "true", "null", "[1]"]
scalars = st.one_of(
    st.integers(-3, 20),
    st.sampled_from([0.5, 9.0, 2.0, -1.5]),
    st.sampled_from(TEXTS),
    st.booleans(),
)
ordered = st.one_of(st.integers(-3, 20), st.sampled_from([2.0, 0.5]), st.sampled_from(TEXTS))
iso_times = st.builds(
    lambda minutes, form: form(NOW - timedelta(minutes=minutes)),
    st.integers(-120, 60 * 24 * 40),
    st.sampled_from(
        [
            lambda t: t.isoformat(),
            lambda t: t.strftime("%Y-%m-%d"),
            lambda t: t.strftime("%Y-%m-%dT%H:%M"),
            lambda t: t.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z",
            lambda t: t.strftime("%Y-%m-%dT%H:%M:%S+08:00"),
            lambda t: t.strftime("%Y-%m-%dT%H:%M:%S-05:30"),
        ]
    ),
)
bad_times = st.sampled_from(
    ["2026-02-30", "2026-03-01T24:00", "2026-03-01T10:60", "2026-03-01T10:00:60",
     "2026-03-01T10:00+24:00", "0000-01-01", "2026-3-1", "yesterday", "2026-03-01T10"]
)  # fmt: skip
leaves = st.one_of(scalars, iso_times, bad_times, st.none())
values = st.one_of(
    leaves,
    st.lists(leaves, max_size=3),
    st.lists(st.lists(scalars, max_size=1), max_size=2),
    st.dictionaries(st.sampled_from(["k", "0"]), leaves, max_size=2),
)

PATHS = ["age", "name", "visited_at", "flags", "child.age", "child.0", "child.k.k",
         "name.x", "missing", "child.missing"]  # fmt: skip
PROPS = ["form", "n", "when", "meta.k"]


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
_plain_atoms = st.one_of(
    st.builds(lambda p, c: {"attribute": p, **c}, st.sampled_from(PATHS), condition()),
    st.builds(lambda p, c: {"context": p, **c}, st.sampled_from(PATHS[:5]), condition()),
    st.builds(lambda t: {"tag": t}, st.sampled_from(["a", "b", "VIP"])),
    st.builds(
        lambda name, where, count, within: {
            "event": name,
            **({"where": where} if where else {}),
            **({"count": count} if count else {}),
            **({"within": within} if within else {}),
        },
        st.sampled_from(["open", "paid"]),
        st.dictionaries(st.sampled_from(PROPS), where_value, max_size=2),
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
    st.builds(
        lambda p, c: {"consent": {"purpose": p, **({"channel": c} if c else {})}},
        st.sampled_from(["service", "marketing"]),
        st.none() | st.sampled_from(["sms", "wecom"]),
    ),
)


def rules_over(segment_ids: list[str], max_leaves: int = 6) -> st.SearchStrategy[dict[str, Any]]:
    """Rules whose segment atoms name only ``segment_ids`` (so definitions form no circle)."""
    atoms = _plain_atoms
    if segment_ids:
        atoms = st.one_of(
            _plain_atoms, st.builds(lambda s: {"segment": s}, st.sampled_from(segment_ids))
        )
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.builds(lambda items: {"all": items}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda items: {"any": items}, st.lists(inner, min_size=1, max_size=3)),
            st.builds(lambda item: {"not": item}, inner),
        ),
        max_leaves=max_leaves,
    )


#: s1 and s2 may be defined (s1 may use s2); s3 is only ever read from memberships.
rules = rules_over(["s1", "s2", "s3"])
definitions = st.none() | st.builds(
    lambda s1, s2, with_s2: {"s1": s1, **({"s2": s2} if with_s2 else {})},
    rules_over(["s2", "s3"], max_leaves=3),
    rules_over(["s3"], max_leaves=3),
    st.booleans(),
)
records = st.builds(
    lambda p, c, g, h: consent(p, c, NOW - timedelta(hours=h), granted=g),
    st.sampled_from(["service", "marketing"]),
    st.none() | st.sampled_from(["sms", "wecom"]),
    st.booleans(),
    st.integers(0, 4),
)
customer_views = st.builds(
    lambda attrs, child, tags, events, source, consents, segs: CustomerView(
        attributes={**attrs, **({} if child is None else {"child": child})},
        tags=tags,
        events=events,
        source=source,
        consents=consents,
        segments=segs,
    ),
    st.dictionaries(st.sampled_from(["age", "name", "visited_at", "flags"]), values, max_size=4),
    st.none() | values,
    st.sets(st.sampled_from(["a", "b", "VIP"])),
    st.lists(
        st.builds(
            lambda name, props, meta, h: event(
                name, NOW - timedelta(hours=h), **props, **({} if meta is None else {"meta": meta})
            ),
            st.sampled_from(["open", "paid"]),
            st.dictionaries(st.sampled_from(["form", "n", "when"]), values, max_size=2),
            st.none() | values,
            st.integers(-2, 24 * 40),
        ),
        max_size=5,
    ),
    st.dictionaries(st.sampled_from(["channel", "utm_source"]), values, max_size=2),
    st.lists(records, max_size=4),
    st.sets(st.sampled_from(["s1", "s2", "s3"])),
)
populations = st.lists(customer_views, min_size=1, max_size=4)
contexts = st.dictionaries(st.sampled_from(PATHS[:5]), values, max_size=3)
