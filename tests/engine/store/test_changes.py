"""The change log in the SQL store: appended lines read newest first by subject,
customer and action; user changes logged in their own transaction; a customer's
changes in their audit trail with who made them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from engine.models.changes import NewChange
from engine.store.records import Identities
from engine.store.sql import SqlStore

pytestmark = pytest.mark.db

T0 = datetime(2027, 2, 9, 2, 0, tzinfo=UTC)


def _change(n: int, **fields: object) -> NewChange:
    values: dict[str, object] = {
        "at": T0 + timedelta(minutes=n),
        "actor": "console:ana",
        "action": "journey.paused",
        "subject_kind": "journey",
        "subject_id": "welcome",
        "detail": {"n": n},
    }
    return NewChange.model_validate(values | fields)


def test_lines_come_back_newest_first_filtered_and_paged(sql_store: SqlStore) -> None:
    sql_store.record_change(_change(1))
    sql_store.record_change(_change(2, action="journey.resumed"))
    sql_store.record_change(_change(3, subject_id="recall"))
    sql_store.record_change(
        _change(4, action="channel.reset", subject_kind="channel", subject_id="sms")
    )
    welcome = sql_store.list_changes(subject_kind="journey", subject_id="welcome")
    assert [c.detail["n"] for c in welcome] == [2, 1]
    assert [c.action for c in welcome] == ["journey.resumed", "journey.paused"]
    assert welcome[0].at == T0 + timedelta(minutes=2) and welcome[0].actor == "console:ana"
    resets = sql_store.list_changes(actions=["channel.reset"])
    assert [(c.subject_kind, c.subject_id) for c in resets] == [("channel", "sms")]
    first_page = sql_store.list_changes(limit=3)
    assert [c.detail["n"] for c in first_page] == [4, 3, 2]
    rest = sql_store.list_changes(before=first_page[-1].id, limit=3)
    assert [c.detail["n"] for c in rest] == [1]


def test_user_changes_are_logged_with_who_made_them(sql_store: SqlStore) -> None:
    user = sql_store.create_user("ana", "correct horse battery", "staff", ["c1"], by="cli", at=T0)
    sql_store.set_password("ana", "another good phrase", by="console:root", at=T0)
    sql_store.disable_user("ana", by="console:root", at=T0 + timedelta(hours=1))
    sql_store.disable_user("ana", by="console:root")  # already disabled: nothing new
    lines = sql_store.list_changes(subject_kind="user", subject_id=user.id)
    assert [(c.action, c.actor) for c in lines] == [
        ("user.disabled", "console:root"),
        ("user.password", "console:root"),
        ("user.created", "cli"),
    ]
    assert lines[-1].detail == {"username": "ana", "role": "staff", "clinics": ["c1"]}
    assert all("password" not in str(c.detail).replace("user.password", "") for c in lines)


def test_a_customers_changes_are_in_their_audit_trail(sql_store: SqlStore) -> None:
    resolved = sql_store.resolve(Identities(phone="13800138000"), at=T0)
    cid = resolved.customer_id
    sql_store.record_change(
        _change(
            5,
            action="phone.revealed",
            subject_kind="task",
            subject_id="t-1",
            customer_id=cid,
            actor="console:li",
            detail={"task_id": "t-1"},
        )
    )
    sql_store.record_change(_change(6, customer_id="someone-else"))
    trail = sql_store.audit_trail(cid)
    revealed = [e for e in trail if e.kind == "phone.revealed"]
    assert len(revealed) == 1
    assert revealed[0].actor == "console:li" and revealed[0].detail == "task_id t-1"
    assert not [e for e in trail if e.kind == "journey.paused"]
