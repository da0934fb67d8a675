"""Reading workspace files: every problem names its file, line and fix."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from engine.errors import Problem, ValidationFailed
from engine.models.journey import Journey, Segment
from engine.models.reading import load_model
from engine.workspace.loader import load_workspace

CLINIC = Path(__file__).parents[2] / "fixtures" / "clinic"

JOURNEY = """\
id: j
trigger: {api: true}
steps:
  - id: remind
    send:
      message: payment_reminder
      channels: [sms]
  - id: end
    exit: done
"""


def clinic(tmp_path: Path, files: dict[str, str] | None = None) -> Path:
    """A copy of the clean fixture workspace with some files replaced or added."""
    root = tmp_path / "ws"
    shutil.copytree(CLINIC, root)
    for name, text in (files or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(ValidationFailed) as caught:
        load_workspace(root)
    return caught.value.problems


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, "\n".join(str(p) for p in problems)
    return problems[0]


def test_clean_workspace_loads_with_every_file(tmp_path: Path) -> None:
    ws = load_workspace(CLINIC)
    assert sorted(ws.journeys) == ["ortho_k_followup", "payment_recovery"]
    assert sorted(ws.messages) == ["parent_tip", "payment_reminder"]
    assert sorted(ws.segments) == ["high_intent_parents", "live_stream_viewers"]
    assert ws.files["journeys/payment_recovery"].endswith("journeys/payment_recovery.yaml")
    assert ws.files["segments/live_stream_viewers"].endswith("live_stream_viewers.yaml")
    bundle = ws.bundle("ortho_k_followup")
    assert set(bundle.segments) == {"high_intent_parents", "live_stream_viewers"}
    assert set(bundle.messages) == {"parent_tip"}


def test_yml_files_are_read_too(tmp_path: Path) -> None:
    root = clinic(tmp_path, {"journeys/extra.yml": JOURNEY})
    assert "j" in load_workspace(root).journeys


def test_unknown_key_names_step_and_suggests_the_closest_key(tmp_path: Path) -> None:
    text = JOURNEY.replace("channels: [sms]", "chanels: [sms]")
    problems = problems_of(clinic(tmp_path, {"journeys/j.yaml": text}))
    unknown = [p for p in problems if p.rule == "E-unknown-key"]
    assert len(unknown) == 1
    p = unknown[0]
    assert p.file.endswith("journeys/j.yaml")
    assert p.line == 7
    assert str(p).endswith("unknown key 'chanels' in step 'remind' (did you mean 'channels'?)")
    missing = [p for p in problems if p.rule == "E-missing-key"]
    assert [(m.line, m.message) for m in missing] == [(5, "step 'remind' is missing 'channels'")]


def test_unknown_top_level_key(tmp_path: Path) -> None:
    text = JOURNEY.replace("trigger:", "trigerr:")
    problems = problems_of(clinic(tmp_path, {"journeys/j.yaml": text}))
    p = next(p for p in problems if p.rule == "E-unknown-key")
    assert (p.line, p.message, p.fix) == (
        2,
        "unknown key 'trigerr' in this file",
        "did you mean 'trigger'?",
    )


def test_unknown_step_kind_suggests_and_lists_kinds(tmp_path: Path) -> None:
    text = JOURNEY.replace("    send:", "    sned:")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule) == (4, "E-step-kind")
    assert p.message == "unknown step kind 'sned' in step 'remind'"
    assert p.fix == "did you mean 'send'?"


def test_step_without_any_kind_lists_the_kinds(tmp_path: Path) -> None:
    text = JOURNEY.replace("    exit: done", "    finish: done")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule) == (8, "E-step-kind")
    assert p.message == "step 'end' has no step kind (found 'finish')"
    assert p.fix == "write one of: wait, wait_for, branch, split, send, tag, update, handoff, exit"


def test_step_with_two_kinds(tmp_path: Path) -> None:
    text = JOURNEY.replace("    exit: done", "    exit: done\n    wait: {duration: 1d}")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule) == (8, "E-step-kind")
    assert "more than one step kind: wait, exit" in p.message


def test_bad_duration_says_how_to_write_one(tmp_path: Path) -> None:
    text = JOURNEY.replace("    exit: done", "    wait:\n      duration: 3 days")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule) == (10, "E-duration")
    assert p.message == "'3 days' is not a duration (duration in step 'end')"
    assert p.fix is not None and "30s, 15m, 2h, 3d, 2w" in p.fix and "1d12h" in p.fix


def test_bad_channel_name_suggests_the_closest(tmp_path: Path) -> None:
    text = JOURNEY.replace("channels: [sms]", "channels:\n        - sms\n        - wechat_templat")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule, p.fix) == (9, "E-choice", "did you mean 'wechat_template'?")


def test_nested_rule_typo_points_at_the_key_line(tmp_path: Path) -> None:
    text = """\
    id: j
    trigger: {api: true}
    steps:
      - id: choose
        branch:
          - when:
              all:
                - tag: VIP
                - attribute: age_group
                  eqq: child
            goto: end
      - id: end
        exit: done
    """
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule, p.fix) == (10, "E-unknown-key", "did you mean 'eq'?")
    assert p.message == "unknown key 'eqq' in step 'choose'"


def test_unknown_rule_key_suggests(tmp_path: Path) -> None:
    text = JOURNEY.replace("steps:", "entry:\n  tagg: VIP\nsteps:")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule, p.fix) == (3, "E-rule-kind", "did you mean 'tag'?")


def test_unknown_trigger(tmp_path: Path) -> None:
    text = JOURNEY.replace("trigger: {api: true}", "trigger: {tag_add: VIP}")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule, p.fix) == (2, "E-trigger", "did you mean 'tag_added'?")


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    text = JOURNEY.replace("channels: [sms]", "channels: [sms}")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert p.file.endswith("journeys/j.yaml")
    assert (p.line, p.rule) == (7, "E-yaml")
    assert p.message.startswith("YAML syntax error")


def test_unclosed_quote_points_where_it_opened(tmp_path: Path) -> None:
    text = JOURNEY.replace("id: j", 'id: j\nname: "unclosed')
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule) == (2, "E-yaml")


def test_duplicate_yaml_key(tmp_path: Path) -> None:
    text = JOURNEY.replace("trigger: {api: true}", "trigger: {api: true}\nid: k")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule) == (3, "E-yaml")
    assert "duplicate key" in p.message


def test_duplicate_ids_across_files(tmp_path: Path) -> None:
    root = clinic(tmp_path, {"journeys/a.yaml": JOURNEY, "journeys/b.yaml": JOURNEY})
    p = only(problems_of(root))
    assert p.file.endswith("journeys/b.yaml")
    assert (p.line, p.rule) == (1, "E-duplicate-id")
    assert p.message.endswith("journeys/a.yaml")


def test_same_id_for_a_journey_and_a_message_is_fine(tmp_path: Path) -> None:
    root = clinic(tmp_path, {"journeys/j.yaml": JOURNEY.replace("id: j", "id: parent_tip")})
    assert "parent_tip" in load_workspace(root).journeys


def test_id_need_not_match_file_name(tmp_path: Path) -> None:
    root = clinic(tmp_path, {"journeys/some_file.yaml": JOURNEY})
    ws = load_workspace(root)
    assert ws.files["journeys/j"].endswith("some_file.yaml")


def test_every_problem_of_every_file_at_once(tmp_path: Path) -> None:
    root = clinic(
        tmp_path,
        {
            "journeys/a.yaml": JOURNEY.replace("channels: [sms]", "chanels: [sms]"),
            "journeys/b.yaml": JOURNEY.replace("id: j", "id: k").replace("[sms]", "[sms}"),
            "segments/s.yaml": "id: s\nrule: {tag: x}\nrefresh: every hour\n",
            "messages/m.yaml": "id: m\npurpose: promo\nsms: {text: hi}\n",
        },
    )
    problems = problems_of(root)
    by_file = {Path(p.file).name for p in problems}
    assert by_file == {"a.yaml", "b.yaml", "s.yaml", "m.yaml"}
    rules = {p.rule for p in problems}
    assert {"E-unknown-key", "E-yaml", "E-cron", "E-choice", "E-missing-key"} <= rules


def test_empty_file_and_top_level_list(tmp_path: Path) -> None:
    root = clinic(tmp_path, {"journeys/empty.yaml": "# nothing\n", "journeys/list.yaml": "- a\n"})
    problems = sorted(problems_of(root), key=lambda p: p.file)
    assert [(Path(p.file).name, p.rule) for p in problems] == [
        ("empty.yaml", "E-empty"),
        ("list.yaml", "E-type"),
    ]


def test_not_a_workspace(tmp_path: Path) -> None:
    p = only(problems_of(tmp_path))
    assert p.rule == "E-workspace"
    assert only(problems_of(tmp_path / "missing")).rule == "E-workspace"


def test_load_model_is_generic(tmp_path: Path) -> None:
    good = tmp_path / "s.yaml"
    good.write_text("id: s\nrule: {tag: VIP}\n", encoding="utf-8")
    segment, problems = load_model(good, Segment)
    assert problems == [] and segment is not None and segment.id == "s"

    bad = tmp_path / "j.yaml"
    bad.write_text(JOURNEY.replace("exit: done", "exit: done\n    nxt: remind"), encoding="utf-8")
    journey, problems = load_model(bad, Journey)
    assert journey is None
    p = only(problems)
    assert (p.file, p.line, p.fix) == (str(bad), 10, "did you mean 'next'?")


def test_duplicate_step_id_points_at_the_second(tmp_path: Path) -> None:
    text = JOURNEY.replace("  - id: end", "  - id: remind\n    tag: {add: x}\n  - id: end")
    p = only(problems_of(clinic(tmp_path, {"journeys/j.yaml": text})))
    assert (p.line, p.rule) == (8, "E-duplicate-step")
    assert (p.message, p.fix) == ("step id 'remind' is used twice", "give each step its own id")


def test_a_broken_message_is_not_also_reported_missing(tmp_path: Path) -> None:
    broken = "id: payment_reminder\npurpose: service\nsms: {text: hi}\n"
    root = clinic(tmp_path, {"messages/payment_reminder.yaml": broken})
    found = problems_of(root)
    assert {Path(p.file).name for p in found} == {"payment_reminder.yaml"}
