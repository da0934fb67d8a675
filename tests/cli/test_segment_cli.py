"""``carepath segment count``: a segment file, a workspace segment id or an inline rule,
counted in SQL against the database; invalid input exits 2 naming the file and line
or the field."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cli.main import main
from engine.store.records import Identities
from engine.store.sql import SqlStore
from tests.engine.store.conftest import postgres_url, sql_url
from tests.factories import workspace

__all__ = ["postgres_url", "sql_url"]

pytestmark = pytest.mark.db

SEGMENTS = [
    {"id": "vip", "rule": {"tag": "VIP"}},
    {"id": "kids", "rule": {"attribute": "age_group", "eq": "child"}},
]
JOURNEY = {"id": "by_api", "trigger": {"api": True}, "steps": [{"id": "done", "exit": "done"}]}


@pytest.fixture
def people(sql_url: str) -> dict[str, str]:
    """Two VIPs (one a child), one other child, one neither."""
    store = SqlStore(sql_url)
    now = datetime.now(UTC)
    ids: dict[str, str] = {}
    try:
        for name, phone, age, vip in [
            ("a", "13800000001", "child", True),
            ("b", "13800000002", "adult", True),
            ("c", "13800000003", "child", False),
            ("d", "13800000004", "adult", False),
        ]:
            cid = store.identify(Identities(phone=phone), {"age_group": age}, at=now).customer_id
            if vip:
                store.tag(cid, ["VIP"], [], "test", at=now)
            ids[name] = cid
    finally:
        store.close()
    return ids


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return workspace(tmp_path / "ws", [JOURNEY], segments=SEGMENTS)


def test_a_segment_file_is_counted_with_a_sample(
    sql_url: str, people: dict[str, str], root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = root / "segments" / "vip.yaml"
    assert main(["segment", "count", str(path), "--database-url", sql_url, "--sample", "5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"2 customers in segment vip ({path})"
    assert [line.strip() for line in lines[1:]] == sorted([people["a"], people["b"]])


def test_a_segment_id_of_the_workspace_is_counted(
    sql_url: str, people: dict[str, str], root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["segment", "count", "kids", "--workspace", str(root), "--database-url", sql_url]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("2 customers in segment kids")


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ('{"tag": "VIP"}', 2),  # JSON
        ("{all: [{segment: vip}, {segment: kids}]}", 1),  # YAML, workspace segments
        ("not: {segment: vip}", 2),
        ("{attribute: age_group, eq: teen}", 0),
    ],
)
def test_an_inline_rule_is_counted(
    sql_url: str,
    people: dict[str, str],
    root: Path,
    capsys: pytest.CaptureFixture[str],
    rule: str,
    expected: int,
) -> None:
    argv = ["segment", "count", rule, "--workspace", str(root), "--database-url", sql_url]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(f"{expected} customer"), out


def test_an_invalid_segment_file_names_the_file_and_line(
    sql_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "segments" / "bad.yaml"
    bad.parent.mkdir(parents=True)
    bad.write_text("id: bad\nrule:\n  attribute: age_group\n  eqq: child\n", encoding="utf-8")
    assert main(["segment", "count", str(bad), "--database-url", sql_url]) == 2
    err = capsys.readouterr().err
    assert f"{bad}:4: unknown key 'eqq'" in err and "did you mean 'eq'?" in err


@pytest.mark.parametrize(
    ("rule", "words"),
    [
        ("{all: [{tag: VIP}, {attribute: age_group, eqq: child}]}", "RULE all.1.eqq: unknown key"),
        ("{event: visit, within: 3 days}", "RULE within: '3 days' is not a duration"),
        ("{all: [tag: VIP", "RULE: not valid YAML or JSON"),
        ("high_intent", "is not a segments/*.yaml file, a segment id of the workspace (kids, vip)"),
        ("segments/missing.yaml", "segments/missing.yaml: no such file"),
    ],
)
def test_invalid_input_exits_2_naming_the_field(
    sql_url: str, root: Path, capsys: pytest.CaptureFixture[str], rule: str, words: str
) -> None:
    argv = ["segment", "count", rule, "--workspace", str(root), "--database-url", sql_url]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert words in captured.err and captured.out == "", captured.err


def test_help_shows_the_three_kinds_of_input(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["segment", "count", "--help"])
    assert stopped.value.code == 0
    out = capsys.readouterr().out
    assert "RULE_OR_FILE" in out and "segments/high_intent_parents.yaml" in out
    assert "--sample N" in out and "--workspace DIR" in out and "--database-url URL" in out
