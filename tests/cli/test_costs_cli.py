"""``carepath costs import FILE.csv``: rows written idempotently; a bad line refuses the
whole file, naming its line and column."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from cli.main import main
from engine.store.sql import SqlStore, upgrade

GOOD = """\
date,amount,utm_source,utm_medium,utm_campaign,clinic_id,impressions,clicks
2026-03-01,120.50,baidu,cpc,myopia-spring,sz-01,10000,40
2026-03-01,80,,,,sz-01,,
2026-03-02,0.10,baidu,cpc,myopia-spring,sz-01,9000,
"""


def url_in(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'var' / 'carepath.db'}"


def run(tmp_path: Path, name: str, text: str) -> int:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return main(["costs", "import", str(path), "--database-url", url_in(tmp_path)])


def amounts(tmp_path: Path) -> list[tuple[str, Decimal, str | None]]:
    upgrade(url_in(tmp_path))  # a refused file leaves the database untouched, or absent
    store = SqlStore(url_in(tmp_path))
    try:
        return [(str(c.date), c.amount, c.utm_source) for c in store.list_costs()]
    finally:
        store.close()


def test_import_writes_the_rows_and_a_second_import_replaces_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "baidu.csv", GOOD) == 0
    assert "3 rows" in capsys.readouterr().out
    restated = GOOD.replace("2026-03-01,120.50", "2026-03-01,133.07")
    assert run(tmp_path, "baidu.csv", restated) == 0
    assert "0 new, 3 replaced" in capsys.readouterr().out
    assert sorted(amounts(tmp_path), key=str) == sorted(
        [
            ("2026-03-01", Decimal("133.07"), "baidu"),
            ("2026-03-01", Decimal("80.00"), None),
            ("2026-03-02", Decimal("0.10"), "baidu"),
        ],
        key=str,
    )


def test_a_bad_line_refuses_the_whole_file_naming_line_and_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = GOOD + "2026-03-03,12.345,baidu,cpc,myopia-spring,sz-01,,\n2026-02-30,1,,,,,,\n"
    assert run(tmp_path, "bad.csv", bad) == 2
    err = capsys.readouterr().err
    assert "bad.csv:5: column amount:" in err
    assert "bad.csv:6: column date:" in err
    assert "nothing was imported" in err
    assert amounts(tmp_path) == []  # not even the good lines before it


def test_an_unknown_or_missing_column_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(tmp_path, "cols.csv", "day,amount,utm_sorce\n2026-03-01,1,x\n") == 2
    err = capsys.readouterr().err
    assert "cols.csv:1:" in err and "'utm_sorce'" in err and "no column 'date'" in err
