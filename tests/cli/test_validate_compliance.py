"""``carepath validate`` on a workspace seeded with one violation of each compliance
rule reports every one with file, line and rule code; the example validates clean."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from cli.main import main

ROOT = Path(__file__).parents[2]
VIOLATIONS = ROOT / "tests" / "fixtures" / "violations"
LINE = re.compile(r"^(?P<file>\S+):(?P<line>\d+): (?P<message>.+) \[(?P<rule>C-[\w-]+)\]$")


def reported(capsys: pytest.CaptureFixture[str]) -> list[tuple[str, int, str, str]]:
    assert main(["validate", str(VIOLATIONS)]) == 2
    *lines, total = capsys.readouterr().out.splitlines()
    assert total == f"{len(lines)} problems found in {VIOLATIONS}"
    out = []
    for text in lines:
        m = LINE.match(text)
        assert m, f"not file:line: message (fix) [rule]: {text}"
        file = str(Path(m["file"]).relative_to(VIOLATIONS))
        out.append((file, int(m["line"]), m["rule"], m["message"]))
    return out


def test_every_banned_phrase_family_is_named_with_message_channel_field_and_law(
    capsys: pytest.CaptureFixture[str],
) -> None:
    found = {
        (file, line, re.search(r"banned phrase '([^']+)' \(([^)]+)\)", msg).groups())  # type: ignore[union-attr]
        for file, line, rule, msg in reported(capsys)
        if rule == "C-banned-phrase"
    }
    assert found == {
        ("messages/cure.yaml", 6, ("根治", "cure claim")),
        ("messages/cure.yaml", 6, ("保证", "guarantee")),
        ("messages/rates.yaml", 4, ("有效率", "efficacy rate")),
        ("messages/rates.yaml", 4, ("100%", "efficacy rate")),
        ("messages/myopia.yaml", 4, ("恢复视力", "myopia claim")),
        ("messages/myopia.yaml", 4, ("近视克星", "myopia claim")),
        ("messages/superlative.yaml", 4, ("国家级", "superlative")),
        ("messages/superlative.yaml", 4, ("最佳", "superlative")),
        ("messages/testimonial.yaml", 4, ("家长反馈", "testimonial")),
        ("messages/comparison.yaml", 4, ("比其他医院", "comparison")),
    }


def test_every_other_compliance_rule_is_reported_where_it_is_broken(
    capsys: pytest.CaptureFixture[str],
) -> None:
    problems = reported(capsys)
    others = {(file, line, rule) for file, line, rule, _ in problems if rule != "C-banned-phrase"}
    assert others == {
        ("messages/template_marketing.yaml", 3, "C-marketing-template"),
        ("journeys/campaign.yaml", 19, "C-marketing-template"),
        ("messages/no_opt_out.yaml", 6, "C-sms-opt-out"),
        ("journeys/vision_data.yaml", 4, "C-health-data-consent"),
        ("journeys/screening.yaml", 4, "C-guardian-consent"),
        ("compliance.yaml", 2, "C-allow-no-reason"),
        ("compliance.yaml", 3, "C-config"),
        ("holidays.yaml", 2, "C-holidays"),
        ("holidays.yaml", 3, "C-holidays"),
    }
    messages = {(file, rule): msg for file, _, rule, msg in problems}
    law = messages[("messages/cure.yaml", "C-banned-phrase")]
    assert law.startswith("message cure sms text: banned phrase")
    assert "Medical Advertising Measures art. 7" in law
    assert "diopter" in messages[("journeys/vision_data.yaml", "C-health-data-consent")]
    assert (
        "school_screening.attended" in messages[("journeys/screening.yaml", "C-guardian-consent")]
    )


def test_an_allowed_phrase_with_a_reason_is_not_reported(tmp_path: Path) -> None:
    for folder in ("journeys", "messages"):
        (tmp_path / folder).mkdir()
    (tmp_path / "journeys" / "j.yaml").write_text(
        "id: j\ntrigger: {api: true}\nsteps:\n"
        "  - id: s\n    send: {message: m, channels: [wecom]}\n",
        encoding="utf-8",
    )
    (tmp_path / "messages" / "m.yaml").write_text(
        "id: m\npurpose: service\nwecom: {text: 本周六开放视功能康复训练预约。}\n", encoding="utf-8"
    )
    refused = subprocess.run(
        [sys.executable, "-m", "cli", "validate", str(tmp_path)], capture_output=True, text=True
    )
    assert refused.returncode == 2 and "'康复' (cure claim)" in refused.stdout
    (tmp_path / "compliance.yaml").write_text(
        "allow:\n  - {phrase: 康复训练, reason: 视功能训练项目的正式名称}\n", encoding="utf-8"
    )
    allowed = subprocess.run(
        [sys.executable, "-m", "cli", "validate", str(tmp_path)], capture_output=True, text=True
    )
    assert allowed.returncode == 0, allowed.stdout


def test_the_example_workspace_validates_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "cli", "validate", str(ROOT / "examples" / "eye-clinic")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout
    assert done.stdout.splitlines()[-1].endswith(": OK")
