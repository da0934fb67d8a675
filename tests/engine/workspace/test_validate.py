"""Cross-file validation: each refusal of the contract names file, line, fix and rule."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.errors import Problem, ValidationFailed
from engine.models.references import messages_used, segments_used
from engine.workspace.loader import load_workspace

MESSAGES = {
    "messages/m.yaml": """\
        id: m
        purpose: service
        sms: {template_id: "1", sign_name: 眼科, text: "{1}您好", params: ["{{ customer.name }}"]}
        wecom: {text: "您好"}
        phone: {script: "请确认预约"}
        """,
    "messages/promo.yaml": """\
        id: promo
        purpose: marketing
        wecom: {text: "复查季优惠"}
        sms: {template_id: "2", sign_name: 眼科, text: "复查季优惠。拒收请回复R"}
        """,
    "segments/vip.yaml": "id: vip\nrule: {tag: VIP}\n",
}


def workspace(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "ws"
    for name, text in {**MESSAGES, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def problems(tmp_path: Path, journey: str, **files: str) -> list[Problem]:
    extra = {f"{k.replace('__', '/')}.yaml": v for k, v in files.items()}
    root = workspace(tmp_path, {"journeys/j.yaml": journey, **extra})
    with pytest.raises(ValidationFailed) as caught:
        load_workspace(root)
    return caught.value.problems


API = "id: j\ntrigger: {api: true}\n"
EXIT = "steps: [{id: a, exit: x}]\n"


def only(found: list[Problem]) -> Problem:
    assert len(found) == 1, "\n".join(f"{p} [{p.rule}]" for p in found)
    return found[0]


def test_minimal_workspace_is_valid(tmp_path: Path) -> None:
    root = workspace(tmp_path, {"journeys/j.yaml": "id: j\ntrigger: {api: true}\n" + EXIT})
    assert list(load_workspace(root).journeys) == ["j"]


GOTO_CASES = {
    "next": ("  - id: a\n    send: {message: m, channels: [sms]}\n    next: ende\n", 6),
    "on_failure": ("  - id: a\n    send: {message: m, channels: [sms]}\n    on_failure: ende\n", 6),
    "goto": ("  - id: a\n    branch:\n      - when: {tag: VIP}\n        goto: ende\n", 7),
    "else": (
        "  - id: a\n    branch:\n      - when: {tag: VIP}\n        goto: end\n      - else: ende\n",
        8,
    ),
    "on_event": (
        "  - id: a\n    wait_for: {event: e, timeout: 1d}\n"
        "    on_event: ende\n    on_timeout: end\n",
        6,
    ),
    "on_timeout": (
        "  - id: a\n    wait_for: {event: e, timeout: 1d}\n"
        "    on_event: end\n    on_timeout: ende\n",
        7,
    ),
    "outcomes": (
        "  - id: a\n    handoff:\n      queue: q\n      outcomes:\n        booked: ende\n",
        8,
    ),
    "split": (
        "  - id: a\n    split:\n      variants:\n        - {name: x, weight: 1, goto: end}\n"
        "        - {name: y, weight: 1, goto: ende}\n",
        8,
    ),
}


@pytest.mark.parametrize("case", sorted(GOTO_CASES))
def test_target_that_is_no_step(tmp_path: Path, case: str) -> None:
    steps, line = GOTO_CASES[case]
    journey = "id: j\ntrigger: {api: true}\nsteps:\n" + steps + "  - id: end\n    exit: done\n"
    p = only(problems(tmp_path, journey))
    assert p.file.endswith("journeys/j.yaml")
    assert (p.line, p.rule) == (line, "E-goto-missing")
    assert p.message == "step 'a' goes to 'ende', which is not a step of this journey"
    assert p.fix == "did you mean 'end'?"


def test_unreachable_step(tmp_path: Path) -> None:
    journey = """\
    id: j
    trigger: {api: true}
    steps:
      - id: a
        send: {message: m, channels: [sms]}
        next: end
      - id: orphan
        tag: {add: x}
      - id: end
        exit: done
    """
    p = only(problems(tmp_path, journey))
    assert (p.line, p.rule) == (7, "E-unreachable")
    assert p.message == "step 'orphan' can never be reached from the first step 'a'"


def test_loop_without_waiting_names_its_steps(tmp_path: Path) -> None:
    journey = """\
    id: j
    trigger: {api: true}
    steps:
      - id: start
        tag: {add: x}
      - id: check
        branch:
          - when: {tag: VIP}
            goto: end
          - else: mark
      - id: mark
        update: {set: {n: 1}}
        next: check
      - id: end
        exit: done
    """
    p = only(problems(tmp_path, journey))
    assert (p.line, p.rule) == (6, "E-loop-no-wait")
    assert "check -> mark -> check" in p.message
    assert "wait" in (p.fix or "")


def test_step_that_goes_to_itself(tmp_path: Path) -> None:
    journey = "id: j\ntrigger: {api: true}\nsteps:\n  - id: a\n    tag: {add: x}\n    next: a\n"
    p = only(problems(tmp_path, journey))
    assert (p.line, p.rule) == (4, "E-loop-no-wait")


def test_loops_through_a_wait_or_handoff_are_fine(tmp_path: Path) -> None:
    journey = """\
    id: j
    trigger: {api: true}
    steps:
      - id: call
        handoff: {queue: q, message: m, outcomes: {done: end}}
      - id: later
        wait: {duration: 1d}
        next: call
      - id: end
        exit: done
    """
    root = workspace(tmp_path, {"journeys/j.yaml": journey})
    assert "j" in load_workspace(root).journeys


def test_missing_message(tmp_path: Path) -> None:
    journey = API + "steps:\n  - id: a\n    send:\n      message: promoo\n      channels: [sms]\n"
    p = only(problems(tmp_path, journey))
    assert (p.line, p.rule) == (6, "E-message-missing")
    assert p.message == "message 'promoo' does not exist"
    assert p.fix is not None and p.fix.startswith("did you mean 'promo'?")


def test_missing_handoff_message(tmp_path: Path) -> None:
    journey = (
        "id: j\ntrigger: {api: true}\nsteps:\n  - id: a\n    handoff: {queue: q, message: nope}\n"
    )
    p = only(problems(tmp_path, journey))
    assert (p.line, p.rule) == (5, "E-message-missing")


@pytest.mark.parametrize(
    ("where", "line"),
    [
        ("trigger: {segment_entered: vipp}\n" + EXIT, 2),
        (
            "trigger:\n  schedule: {cron: '0 10 * * 1', segment: vipp}\n" + EXIT,
            3,
        ),
        (
            "trigger: {api: true}\nentry:\n  any:\n    - tag: x\n    - not: {segment: vipp}\n"
            + EXIT,
            6,
        ),
        ("trigger: {api: true}\ngoal: {segment_entered: vipp}\n" + EXIT, 3),
        (
            "trigger: {api: true}\nexit_when:\n  - segment_exited: vipp\n" + EXIT,
            4,
        ),
        (
            "trigger: {api: true}\nsteps:\n  - id: a\n    branch:\n      - when: {segment: vipp}\n"
            "        goto: b\n  - id: b\n    exit: x\n",
            6,
        ),
    ],
)
def test_missing_segment(tmp_path: Path, where: str, line: int) -> None:
    p = only(problems(tmp_path, "id: j\n" + where))
    assert (p.line, p.rule) == (line, "E-segment-missing")
    assert p.message == "segment 'vipp' does not exist"
    assert p.fix is not None and p.fix.startswith("did you mean 'vip'?")


def test_missing_segment_inside_a_segment(tmp_path: Path) -> None:
    journey = "id: j\ntrigger: {api: true}\n" + EXIT
    found = problems(tmp_path, journey, segments__s="id: s\nrule:\n  all:\n    - segment: gone\n")
    p = only(found)
    assert p.file.endswith("segments/s.yaml")
    assert (p.line, p.rule) == (4, "E-segment-missing")


def test_segment_cycle(tmp_path: Path) -> None:
    journey = "id: j\ntrigger: {segment_entered: a}\n" + EXIT
    found = problems(
        tmp_path,
        journey,
        segments__a="id: a\nrule:\n  any:\n    - tag: x\n    - segment: b\n",
        segments__b="id: b\nrule: {segment: a}\n",
    )
    p = only(found)
    assert p.file.endswith("segments/a.yaml")
    assert (p.line, p.rule) == (5, "E-segment-cycle")
    assert "a -> b -> a" in p.message


def test_channel_without_content(tmp_path: Path) -> None:
    journey = (
        "id: j\ntrigger: {api: true}\nsteps:\n  - id: a\n    send:\n      message: m\n"
        "      channels:\n        - sms\n        - wechat_text\n"
    )
    p = only(problems(tmp_path, journey))
    assert (p.line, p.rule) == (9, "E-channel-no-content")
    assert p.message == "message m has no content for wechat_text"
    assert p.fix == "add a wechat_text block to the message or drop the channel"


def test_handoff_message_without_phone_script(tmp_path: Path) -> None:
    journey = API + "steps:\n  - id: a\n    handoff:\n      queue: q\n      message: promo\n"
    p = only(problems(tmp_path, journey))
    assert (p.line, p.rule) == (7, "E-channel-no-content")


def test_marketing_message_on_wechat_template(tmp_path: Path) -> None:
    promo = """\
    id: promo2
    purpose: marketing
    wechat_template: {template_id: T1, data: {thing1: 复查}}
    """
    journey = (
        "id: j\ntrigger: {api: true}\nsteps:\n  - id: a\n    send:\n      message: promo2\n"
        "      channels: [wechat_template]\n"
    )
    found = problems(tmp_path, journey, messages__promo2=promo)
    assert {(Path(p.file).name, p.line, p.rule) for p in found} == {
        ("j.yaml", 7, "C-marketing-template"),
        ("promo2.yaml", 3, "C-marketing-template"),
    }


def test_template_syntax_errors(tmp_path: Path) -> None:
    broken = """\
    id: broken
    purpose: service
    wecom:
      text: "{{ customer.name }"
    """
    journey = 'id: j\ntrigger: {api: true}\nkey: "{{ context.id"\nsteps: [{id: a, exit: x}]\n'
    found = problems(tmp_path, journey, messages__broken=broken)
    assert {(Path(p.file).name, p.line, p.rule) for p in found} == {
        ("j.yaml", 3, "E-template-syntax"),
        ("broken.yaml", 4, "E-template-syntax"),
    }


def test_event_matchers_allow_only_context_references(tmp_path: Path) -> None:
    journey = """\
    id: j
    trigger:
      event: booked
      where: {clinic: "{{ context.clinic }}"}
    goal:
      event: paid
      where:
        appointment_id: "{{ context.appointment_id }}"
        name: "{{ customer.name }}"
    exit_when:
      - event: cancelled
        where: {id: "A-{{ context.appointment_id }}"}
    steps:
      - id: a
        wait_for:
          event: e
          where: {x: "{{ context.x | upper }}"}
          timeout: 1d
    """
    found = problems(tmp_path, journey)
    assert [(p.line, p.rule) for p in found] == [
        (4, "E-where-template"),
        (9, "E-where-template"),
        (17, "E-where-template"),
    ]
    assert "trigger has no enrollment context" in found[0].message
    assert (
        found[1].fix
        == "only {{ context.field }} can be used here, as the whole value or inside text"
    )


def test_invalid_cron_and_timezone(tmp_path: Path) -> None:
    journey = """\
    id: j
    trigger:
      schedule:
        cron: "0 25 * * 1"
        segment: vip
        timezone: Asia/Shanghia
    steps: [{id: a, exit: x}]
    """
    seg = "id: s\nrule: {tag: x}\nrefresh: '*/15 * * *'\n"
    found = problems(tmp_path, journey, segments__s=seg)
    assert {(Path(p.file).name, p.line, p.rule) for p in found} == {
        ("j.yaml", 4, "E-cron"),
        ("j.yaml", 6, "E-timezone"),
        ("s.yaml", 3, "E-cron"),
    }
    zone = next(p for p in found if p.rule == "E-timezone")
    assert zone.fix is not None and zone.fix.startswith("did you mean 'Asia/Shanghai'?")


def test_customer_timezone_is_accepted(tmp_path: Path) -> None:
    journey = (
        "id: j\ntrigger:\n  schedule: {cron: '0 10 * * 1', segment: vip, timezone: customer}\n"
    )
    journey += EXIT
    assert "j" in load_workspace(workspace(tmp_path, {"journeys/j.yaml": journey})).journeys


def test_references_sets() -> None:
    ws = load_workspace(Path(__file__).parents[2] / "fixtures" / "clinic")
    assert messages_used(ws.journeys["payment_recovery"]) == {"payment_reminder", "parent_tip"}
    assert segments_used(ws.journeys["ortho_k_followup"], ws.segments) == {
        "high_intent_parents",
        "live_stream_viewers",
    }


def test_rule_values_allow_only_context_references(tmp_path: Path) -> None:
    journey = """\
    id: j
    trigger: {api: true}
    entry: {attribute: clinic_id, eq: "{{ context.clinic_id }}"}
    steps:
      - id: a
        branch:
          - when: {attribute: name, eq: "{{ customer.nickname }}"}
            goto: b
      - id: b
        exit: x
    """
    p = only(problems(tmp_path, journey))
    assert (p.line, p.rule) == (7, "E-where-template")
    assert p.message == "'{{ customer.nickname }}' is not a plain context reference"
