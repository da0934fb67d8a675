"""The SQL compiler and the in-memory evaluator give the same members (hypothesis).

Each example inserts a small population with histories into a migrated database
(SQLite, or PostgreSQL with ``CAREPATH_TEST_DATABASE_URL``), asks the compiled query for
the members of a generated rule (and of its negation, customer by customer) and
compares with :func:`rules.evaluate.evaluate` for every customer; the transaction is
rolled back afterwards.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import (
    Column,
    Connection,
    DateTime,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    insert,
    inspect,
    select,
)

from engine.store.sql.db import make_engine
from engine.store.sql.tables import ConsentRow, CustomerRow, EventRow, TagRow
from rules.evaluate import evaluate
from rules.models import Rule, parse_rule
from rules.sql import count_matching, customers_matching, rule_condition
from rules.sql.tables import CUSTOMERS
from rules.view import CustomerView
from tests.db import migrated_database
from tests.rules import sql_strategies as strat
from tests.rules.factories import NOW

pytestmark = pytest.mark.db

_members = MetaData()
#: The membership table real-time segments keep (migration 0007); created here with its
#: documented shape on a schema that does not have it yet.
SEGMENT_MEMBERS = Table(
    "segment_members",
    _members,
    Column("segment_id", String(128), nullable=False),
    Column("customer_id", String(64), nullable=False),
    Column("entered_at", DateTime(timezone=True), nullable=False),
    Column("exited_at", DateTime(timezone=True), nullable=True),
    PrimaryKeyConstraint("segment_id", "customer_id"),
)


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    folder: Path = tmp_path_factory.mktemp("parity")
    with migrated_database(folder) as url:
        engine = make_engine(url)  # registers carepath_instant on SQLite connections
        if not inspect(engine).has_table("segment_members"):
            _members.create_all(engine)
        yield engine
        engine.dispose()


def insert_population(conn: Connection, views: list[CustomerView]) -> list[str]:
    """Insert the customers (plus one merged into the first); their ids, in order."""
    ids = [f"c{i}" for i in range(len(views))]
    customers = [
        {
            "id": cid,
            "attributes": v.attributes,
            "source": v.source,
            "merged_into": None,
            "created_at": NOW,
        }
        for cid, v in zip(ids, views, strict=True)
    ]
    # Merged away into c0 with c0's own profile: never a member, whatever c0 is.
    merged = {**customers[0], "id": "m0", "merged_into": "c0"}
    conn.execute(insert(CustomerRow.__table__), [*customers, merged])
    events, tags, consents, members = [], [], [], []
    for cid, v in zip([*ids, "m0"], [*views, views[0]], strict=True):
        events += [
            {
                "message_id": f"{cid}-{i}",
                "customer_id": cid,
                "name": e.name,
                "properties": e.properties,
                "at": e.at,
            }
            for i, e in enumerate(v.events)
        ]
        tags += [{"customer_id": cid, "tag": t, "source": "test", "at": NOW} for t in v.tags]
        consents += [
            {
                "customer_id": cid,
                "purpose": c.purpose,
                "channel": c.channel,
                "granted": c.granted,
                "source": "test",
                "at": c.at,
            }
            for c in v.consents
        ]
        for sid in ("s1", "s2", "s3"):
            # A former member's row (exited) must not count.
            if sid in v.segments or cid.endswith("1"):
                members.append(
                    {
                        "segment_id": sid,
                        "customer_id": cid,
                        "entered_at": NOW - timedelta(days=3),
                        "exited_at": None if sid in v.segments else NOW - timedelta(days=1),
                    }
                )
    for table, rows in (
        (EventRow.__table__, events),
        (TagRow.__table__, tags),
        (ConsentRow.__table__, consents),
        (SEGMENT_MEMBERS, members),
    ):
        if rows:
            conn.execute(insert(table), rows)
    return ids


def check(
    conn: Connection,
    rule: Rule,
    views: list[CustomerView],
    ids: list[str],
    segments: Mapping[str, Rule] | None,
    context: dict[str, Any],
) -> None:
    dialect = conn.dialect.name
    expected = [
        cid
        for cid, v in zip(ids, views, strict=True)
        if evaluate(rule, v, now=NOW, segments=segments, context=context)
    ]
    query = customers_matching(rule, now=NOW, segments=segments, context=context, dialect=dialect)
    assert list(conn.execute(query).scalars()) == sorted(expected)
    # The condition is two-valued: its negation holds for exactly the others (one query
    # with the count, to keep each example to few round trips).
    negated = parse_rule({"not": rule.model_dump(by_alias=True, exclude_none=True)})
    held = rule_condition(
        negated, CUSTOMERS.c.id, now=NOW, segments=segments, context=context, dialect=dialect
    )
    counted = count_matching(rule, now=NOW, segments=segments, context=context, dialect=dialect)
    rows = conn.execute(
        select(CUSTOMERS.c.id, held, counted.scalar_subquery()).where(CUSTOMERS.c.id.in_(ids))
    ).all()
    assert {cid for cid, h, _ in rows if h} == set(ids) - set(expected)
    assert {n for _, _, n in rows} == {len(expected)}


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    data=strat.rules,
    definitions=strat.definitions,
    views=strat.populations,
    context=strat.contexts,
)
def test_compiled_rules_give_the_members_the_evaluator_gives(
    database: Engine,
    data: dict[str, Any],
    definitions: dict[str, dict[str, Any]] | None,
    views: list[CustomerView],
    context: dict[str, Any],
) -> None:
    rule = parse_rule(data)
    segments = (
        None if definitions is None else {sid: parse_rule(d) for sid, d in definitions.items()}
    )
    with database.connect() as conn:
        tx = conn.begin()
        try:
            ids = insert_population(conn, views)
            check(conn, rule, views, ids, segments, context)
        finally:
            tx.rollback()
