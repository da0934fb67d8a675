"""Rules compiled to SQL: the cases that matter, on SQLite (and PostgreSQL in CI).

Over 400 lines on purpose: one case per rule atom, each a few lines, read as one table
of what the compiler must answer; split by atom they would repeat the fixtures.
"""

from __future__ import annotations

import ast
import itertools
import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, cast, func, insert, inspect, literal, select
from sqlalchemy.dialects.postgresql import JSONB

import rules.sql
from engine.store.records import Customer
from engine.store.sql import SqlStore
from engine.store.sql.db import make_engine
from engine.store.sql.tables import Base, ConsentRow, CustomerRow, EventRow, TagRow
from rules.errors import SegmentCycleError
from rules.evaluate import evaluate
from rules.match import as_instant
from rules.models import parse_rule
from rules.sql import count_matching, customers_matching, rule_condition
from rules.sql.tables import CUSTOMERS, TABLES
from rules.sql.values import _Value, instant_param
from rules.view import ConsentRecord, EventRecord
from tests.db import migrated_database
from tests.rules.factories import NOW, ago
from tests.rules.test_sql_parity import SEGMENT_MEMBERS, _members


def test_the_tables_compiled_rules_read_exist_with_these_names() -> None:
    for clause in TABLES:
        if clause.name == "segment_members" and clause.name not in Base.metadata.tables:
            continue  # created with real-time segments (migration 0007)
        real = Base.metadata.tables[clause.name]
        assert {c.name for c in clause.c} <= {c.name for c in real.c}, clause.name


def test_rules_sql_imports_only_stdlib_pydantic_sqlalchemy_and_rules() -> None:
    for path in Path(rules.sql.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        roots = {
            alias.name.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for alias in node.names
        } | {
            node.module.split(".")[0]
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
        }
        foreign = roots - set(sys.stdlib_module_names) - {"pydantic", "sqlalchemy", "rules"}
        assert not foreign, f"{path.name} imports {sorted(foreign)}"


# on a database ------------------------------------------------------------------------------

_ids = itertools.count()


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with migrated_database(tmp_path_factory.mktemp("sql")) as url:
        yield url


@pytest.fixture(scope="module")
def db(url: str) -> Iterator[Engine]:
    engine = make_engine(url)
    if not inspect(engine).has_table("segment_members"):
        _members.create_all(engine)
    yield engine
    engine.dispose()


class Population:
    """Customers of one test (ids with a prefix of their own) in the shared database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.prefix = f"t{next(_ids)}-"

    def add(
        self,
        name: str,
        attributes: dict[str, Any] | None = None,
        *,
        source: dict[str, Any] | None = None,
        tags: tuple[str, ...] = (),
        events: list[tuple[str, timedelta, dict[str, Any]]] = (),  # type: ignore[assignment]
        consents: list[tuple[str, str | None, bool, timedelta]] = (),  # type: ignore[assignment]
        members: dict[str, bool] | None = None,
        merged_into: str | None = None,
    ) -> str:
        cid = self.prefix + name
        with self.engine.begin() as conn:
            conn.execute(
                insert(CustomerRow.__table__).values(
                    id=cid,
                    attributes=attributes or {},
                    source=source or {},
                    merged_into=None if merged_into is None else self.prefix + merged_into,
                    created_at=NOW,
                )
            )
            for i, (event, before, props) in enumerate(events):
                conn.execute(
                    insert(EventRow.__table__).values(
                        message_id=f"{cid}-{i}",
                        customer_id=cid,
                        name=event,
                        properties=props,
                        at=NOW - before,
                    )
                )
            for tag in tags:
                conn.execute(
                    insert(TagRow.__table__).values(customer_id=cid, tag=tag, source="t", at=NOW)
                )
            for purpose, channel, granted, before in consents:
                conn.execute(
                    insert(ConsentRow.__table__).values(
                        customer_id=cid,
                        purpose=purpose,
                        channel=channel,
                        granted=granted,
                        at=NOW - before,
                    )
                )
            for sid, current in (members or {}).items():
                conn.execute(
                    insert(SEGMENT_MEMBERS).values(
                        segment_id=sid,
                        customer_id=cid,
                        entered_at=ago(days=2),
                        exited_at=None if current else ago(days=1),
                    )
                )
        return cid

    def members(self, rule: dict[str, Any], **options: Any) -> list[str]:
        """Names (without the prefix) of this test's customers the compiled rule selects."""
        dialect = self.engine.dialect.name
        query = customers_matching(parse_rule(rule), now=NOW, dialect=dialect, **options).where(
            CUSTOMERS.c.id.startswith(self.prefix)
        )
        count = count_matching(parse_rule(rule), now=NOW, dialect=dialect, **options).where(
            CUSTOMERS.c.id.startswith(self.prefix)
        )
        with self.engine.connect() as conn:
            ids = [cid.removeprefix(self.prefix) for cid in conn.execute(query).scalars()]
            assert conn.execute(count).scalar() == len(ids)
        return ids


@pytest.fixture
def people(db: Engine) -> Population:
    return Population(db)


pytestmark = pytest.mark.db


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"eq": 1}, ["float_one", "one"]),
        ({"eq": "1"}, ["text_one"]),
        ({"eq": True}, ["true"]),
        ({"ne": 1}, ["B", "a", "list", "nested", "null_inside", "text_one", "true"]),
        ({"in": [1, "a"]}, ["a", "float_one", "one"]),
        ({"not_in": [1, "a"]}, ["B", "list", "nested", "null_inside", "text_one", "true"]),
        ({"gt": 0}, ["float_one", "one"]),
        ({"lte": 1.0}, ["float_one", "one"]),
        ({"gt": "B"}, ["a"]),  # code point order: "B" < "a"
        ({"lt": "a"}, ["B", "text_one"]),
        (
            {"exists": True},
            ["B", "a", "float_one", "list", "nested", "null_inside", "one", "text_one", "true"],
        ),  # fmt: skip
        ({"exists": False}, ["absent", "null"]),
        ({"contains": "a"}, ["a", "list"]),
        ({"contains": 1}, ["list"]),
    ],
)
def test_each_operator_on_values_of_each_kind(
    people: Population, condition: dict[str, Any], expected: list[str]
) -> None:
    for name, value in [
        ("one", 1), ("float_one", 1.0), ("text_one", "1"), ("true", True), ("a", "a"),
        ("B", "B"), ("list", [1.0, "a"]), ("nested", {"v": 1}), ("null", None),
        ("null_inside", [None]),
    ]:  # fmt: skip
        people.add(name, {"v": value})
    people.add("absent", {"other": 1})
    assert people.members({"attribute": "v", **condition}) == expected


def test_dotted_paths_walk_objects_only(people: Population) -> None:
    people.add("nested", {"child": {"age": 7, "0": "x"}})
    people.add("list", {"child": [{"age": 7}], "items": ["x"]})
    people.add("through_text", {"child": "age"})
    assert people.members({"attribute": "child.age", "eq": 7}) == ["nested"]
    assert people.members({"attribute": "child.0", "exists": True}) == ["nested"]
    assert people.members({"attribute": "items.0", "exists": True}) == []
    assert people.members({"attribute": "child.age", "exists": False}) == [
        "list",
        "through_text",
    ]


def test_dates_in_attributes_are_read_like_the_evaluator(people: Population) -> None:
    people.add("yesterday_utc", {"seen": (NOW - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")})
    # 10:00 at +08:00 is 02:00 UTC today: within a day, unlike its naive reading.
    people.add("shanghai_today", {"seen": NOW.strftime("%Y-%m-%dT%H:%M:%S+08:00")})
    people.add("date_only_old", {"seen": "2025-12-01"})
    people.add("impossible", {"seen": "2026-02-30"})
    people.add("hour_24", {"seen": "2026-03-01T24:00"})
    people.add("number", {"seen": 20260301})
    assert people.members({"attribute": "seen", "within": "1d"}) == [
        "shanghai_today",
        "yesterday_utc",
    ]
    assert people.members({"attribute": "seen", "older_than": "30d"}) == ["date_only_old"]
    assert people.members({"not": {"attribute": "seen", "within": "1d"}}) == [
        "date_only_old",
        "hour_24",
        "impossible",
        "number",
    ]


def test_event_counts_windows_and_where(people: Population) -> None:
    form = {"form_id": "vision_feedback", "meta": {"score": 9}}
    people.add("none")
    people.add("one_recent", events=[("form.submitted", timedelta(days=3), form)])
    people.add(
        "two_old",
        events=[("form.submitted", timedelta(days=100), form)] * 2,
    )
    people.add("future_only", events=[("form.submitted", -timedelta(hours=1), form)])
    people.add("other_form", events=[("form.submitted", timedelta(days=1), {"form_id": "x"})])
    submitted = {"event": "form.submitted"}
    assert people.members({**submitted, "count": {"eq": 0}}) == ["future_only", "none"]
    assert people.members({**submitted, "count": {"lt": 2}}) == [
        "future_only",
        "none",
        "one_recent",
        "other_form",
    ]
    assert people.members({**submitted, "count": {"gte": 2}}) == ["two_old"]
    assert people.members({**submitted, "count": {"eq": 2}, "within": "90d"}) == []
    assert people.members(
        {**submitted, "where": {"form_id": "vision_feedback", "meta.score": {"gte": 5}}}
    ) == ["one_recent", "two_old"]
    assert people.members({**submitted, "within": "90d", "count": {"eq": 0}}) == [
        "future_only",
        "none",
        "two_old",
    ]


def test_consent_rules(people: Population) -> None:
    hour = timedelta(hours=1)
    people.add("sms", consents=[("marketing", "sms", True, 2 * hour)])
    people.add("all_channels", consents=[("marketing", None, True, 2 * hour)])
    people.add(
        "withdrawn_same_time",
        consents=[("marketing", "sms", True, hour), ("marketing", "sms", False, hour)],
    )
    people.add(
        "withdrawn_everywhere",
        consents=[("marketing", "sms", True, 2 * hour), ("marketing", None, False, hour)],
    )
    people.add(
        "withdrawn_on_wecom",
        consents=[("marketing", "sms", True, 2 * hour), ("marketing", "wecom", False, hour)],
    )
    people.add(
        "granted_again",
        consents=[("marketing", "sms", False, 2 * hour), ("marketing", "sms", True, hour)],
    )
    people.add("service_only", consents=[("service", "sms", True, hour)])
    assert people.members({"consent": {"purpose": "marketing", "channel": "sms"}}) == [
        "all_channels",
        "granted_again",
        "sms",
        "withdrawn_on_wecom",
    ]
    assert people.members({"consent": {"purpose": "marketing", "channel": "wecom"}}) == [
        "all_channels"
    ]
    assert people.members({"consent": {"purpose": "marketing"}}) == [
        "all_channels",
        "granted_again",
        "sms",
        "withdrawn_on_wecom",
    ]


def test_tags_source_context_and_merged_customers(people: Population) -> None:
    people.add("vip", tags=("VIP",), source={"channel": "school_event", "clinic": "bj-01"})
    people.add("plain", source={"channel": "wechat_qr"})
    people.add("merged", tags=("VIP",), merged_into="vip")
    assert people.members({"tag": "VIP"}) == ["vip"]
    assert people.members({"source": {"channel": "school_event", "clinic": {"in": ["bj-01"]}}}) == [
        "vip"
    ]
    assert people.members({"not": {"source": {"clinic": {"exists": True}}}}) == ["plain"]
    rule = {"all": [{"context": "campaign", "eq": "spring"}, {"tag": "VIP"}]}
    assert people.members(rule, context={"campaign": "spring"}) == ["vip"]
    assert people.members(rule, context={"campaign": "autumn"}) == []


def test_segments_by_definition_or_membership(people: Population) -> None:
    people.add("member", members={"loyal": True})
    people.add("former_member", members={"loyal": False})
    people.add("vip", tags=("VIP",))
    assert people.members({"segment": "loyal"}) == ["member"]
    definitions = {"loyal": parse_rule({"tag": "VIP"})}
    assert people.members({"segment": "loyal"}, segments=definitions) == ["vip"]
    circle = {
        "a": parse_rule({"segment": "b"}),
        "b": parse_rule({"any": [{"tag": "VIP"}, {"segment": "a"}]}),
    }
    with pytest.raises(SegmentCycleError):
        people.members({"segment": "a"}, segments=circle)


def test_rule_condition_combines_with_a_query_over_another_table(people: Population) -> None:
    people.add("vip", {"tier": "gold"}, events=[("visit", timedelta(days=1), {})])
    people.add("plain", {"tier": "none"}, events=[("visit", timedelta(days=1), {})])
    events = EventRow.__table__
    held = rule_condition(
        parse_rule({"attribute": "tier", "eq": "gold"}),
        events.c.customer_id,
        now=NOW,
        dialect=people.engine.dialect.name,
    )
    query = select(events.c.customer_id).where(held, events.c.customer_id.startswith(people.prefix))
    with people.engine.connect() as conn:
        assert list(conn.execute(query).scalars()) == [people.prefix + "vip"]


def test_the_sql_agrees_with_the_view_the_store_hands_the_evaluator(url: str) -> None:
    store = SqlStore(url)
    try:
        store.put_customer(
            Customer(
                id="store-1",
                attributes={"lifetime_value": 6000.0, "next_check": "2026-02-20"},
                tags={"VIP": "import"},
                consents=[ConsentRecord(purpose="marketing", channel="sms", at=ago(days=2))],
                events=[
                    EventRecord(name="school_screening.attended", at=ago(days=d)) for d in (5, 40)
                ],
                source={"channel": "school_event"},
            )
        )
        rules_ = [
            {"attribute": "lifetime_value", "gte": 5000},
            {"attribute": "next_check", "older_than": "7d"},
            {"event": "school_screening.attended", "count": {"gte": 2}, "within": "180d"},
            {"event": "school_screening.attended", "count": {"eq": 1}, "within": "30d"},
            {"consent": {"purpose": "marketing", "channel": "sms"}},
            {"not": {"consent": {"purpose": "marketing", "channel": "wecom"}}},
            {"source": {"channel": "school_event"}},
        ]
        view = store.get_customer("store-1").view()
        dialect = store._db.dialect
        with store._db.read() as s:
            for data in rules_:
                rule = parse_rule(data)
                query = customers_matching(rule, now=NOW, dialect=dialect).where(
                    CUSTOMERS.c.id == "store-1"
                )
                assert evaluate(rule, view, now=NOW) is True, data
                assert list(s.execute(query).scalars()) == ["store-1"], data
    finally:
        store.close()


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-01", "2026-03-01T10:00", "2026-03-01 10:00:05", "2026-03-01T10:00:05.5",
        "2026-03-01T10:00:05.123456Z", "2026-03-01T10:00+08:00", "2026-03-01T01:00-05:30",
        "2026-03-01T00:00+23:59", "0001-01-01", "9999-12-31T23:59:59",
        "2026-02-30", "2024-02-29", "2023-02-29", "2026-03-01T24:00", "2026-03-01T10:60",
        "2026-03-01T10:00:60", "2026-03-01T10:00+24:00", "0000-01-01", "2026-3-1",
        "2026-03-01T10", "2026-03-01T10:00:05.1234567", "2026-03-01\n", " 2026-03-01", "soon",
    ],
)  # fmt: skip
def test_dates_are_read_in_sql_exactly_like_as_instant(db: Engine, value: str) -> None:
    expected = as_instant(value)
    dialect = db.dialect.name
    doc = literal(json.dumps({"v": value}))
    instant = _Value(cast(doc, JSONB) if dialect == "postgresql" else doc, "v", dialect).instant()
    with db.connect() as conn:
        for read in (func.carepath_instant(value), instant):
            got = conn.execute(
                select(read == instant_param(expected, dialect))
                if expected is not None
                else select(read.is_(None))
            ).scalar()
            assert got, (value, expected, str(read))
