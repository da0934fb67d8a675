"""The carepath command line: validate, schema, and the simulate entry point."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import build_parser, main

ROOT = Path(__file__).parents[2]
CLINIC = ROOT / "tests" / "fixtures" / "clinic"
LINE = re.compile(
    r"^(?P<file>\S+):(?P<line>\d+): (?P<message>.+) \((?P<fix>.+)\) \[(?P<rule>[CE]-[\w-]+)\]$"
)


def test_clean_workspace_prints_summaries_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(CLINIC)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "ortho_k_followup: trigger schedule '0 10 * * 1' on high_intent_parents, 2 steps, "
        "channels wecom, sms, version 1",
        "payment_recovery: trigger tag_added 预约取消支付, 7 steps, channels wechat_template, "
        "wechat_subscribe, sms, wecom, phone, version 1",
        "2 journeys, 2 messages, 2 segments: OK",
    ]


def test_tagging_rules_are_summed_up_and_a_bad_pattern_is_listed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(CLINIC, root)
    rules = "rules:\n  - {tag: 近视关注, keywords: [近视]}\n  - {tag: 询价, patterns: ['多少钱']}\n"
    (root / "tagging.yaml").write_text(rules, encoding="utf-8")
    assert main(["validate", str(root)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-2] == "tagging.yaml: 2 keyword rules, tags 近视关注, 询价"
    (root / "tagging.yaml").write_text(rules.replace("多少钱", "(多少钱"), encoding="utf-8")
    assert main(["validate", str(root)]) == 2
    (line, _) = capsys.readouterr().out.splitlines()
    found = LINE.match(line)
    assert found is not None, line
    assert (found["line"], found["rule"]) == ("3", "E-regex")
    assert found["file"].endswith("tagging.yaml") and "missing )" in found["message"]


def test_default_workspace_is_the_current_folder(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(CLINIC)
    assert main(["validate"]) == 0
    assert capsys.readouterr().out.endswith("2 journeys, 2 messages, 2 segments: OK\n")


def test_every_problem_is_listed_and_exit_is_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "ws"
    shutil.copytree(CLINIC, root)
    journey = root / "journeys" / "payment_recovery.yaml"
    text = journey.read_text(encoding="utf-8")
    text = text.replace(
        "      channels: [wechat_template, wechat_subscribe, sms]", "      chanels: [sms]"
    )
    journey.write_text(text, encoding="utf-8")
    ortho = root / "journeys" / "ortho_k_followup.yaml"
    ortho.write_text(ortho.read_text(encoding="utf-8").replace("parent_tip", "parent_tips"))
    tip = root / "messages" / "parent_tip.yaml"
    tip.write_text(tip.read_text(encoding="utf-8").replace("回T退订", "保证有效"), encoding="utf-8")
    monkeypatch.chdir(root)
    assert main(["validate"]) == 2
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "5 problems found in ."
    parsed = [LINE.match(line) for line in out[:-1]]
    assert all(parsed), out
    got = sorted((m["file"], int(m["line"]), m["rule"]) for m in parsed if m)
    assert got == [
        ("journeys/ortho_k_followup.yaml", 7, "E-message-missing"),
        ("journeys/payment_recovery.yaml", 18, "E-missing-key"),
        ("journeys/payment_recovery.yaml", 20, "E-unknown-key"),
        ("messages/parent_tip.yaml", 8, "C-banned-phrase"),
        ("messages/parent_tip.yaml", 8, "C-sms-opt-out"),
    ]
    assert (
        "journeys/payment_recovery.yaml:20: unknown key 'chanels' in step 'remind' "
        "(did you mean 'channels'?) [E-unknown-key]"
    ) in out


def test_schema_writes_every_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "schema"
    assert main(["schema", "--out", str(out_dir)]) == 0
    written = sorted(p.name for p in out_dir.iterdir())
    assert {"journey.schema.json", "message.schema.json", "segment.schema.json"} <= set(written)
    assert "tagging.schema.json" in written
    assert {"compliance.schema.json", "holidays.schema.json"} <= set(written)
    holidays = json.loads((out_dir / "holidays.schema.json").read_text(encoding="utf-8"))
    assert "clinics" in holidays["$defs"]["Holiday"]["properties"]
    if (ROOT / "engine" / "models" / "scenario.py").exists():
        assert "scenario.schema.json" in written
    journey = json.loads((out_dir / "journey.schema.json").read_text(encoding="utf-8"))
    assert "steps" in journey["properties"]
    printed = capsys.readouterr().out
    assert f"wrote {out_dir / 'journey.schema.json'}" in printed
    assert "# yaml-language-server: $schema=" in printed


def test_schema_default_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["schema"]) == 0
    assert (tmp_path / "schema" / "message.schema.json").is_file()
    assert "$schema=../schema/journey.schema.json" in capsys.readouterr().out


def test_help_shows_examples(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "carepath validate" in text and "simulate" in text and "schema" in text


def test_simulate_is_registered() -> None:
    args = build_parser().parse_args(["simulate", "scenario.yaml", "--json"])
    assert (args.command, args.scenario, args.json) == ("simulate", "scenario.yaml", True)


def test_python_dash_m_cli(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "validate", str(CLINIC)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.endswith("2 journeys, 2 messages, 2 segments: OK\n")
