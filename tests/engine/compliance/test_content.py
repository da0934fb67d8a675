"""Compliance: banned medical-advertising claims, marketing SMS opt-out, template misuse."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from engine.compliance.content import banned_in, default_rules, load_rules
from engine.errors import Problem, ValidationFailed
from engine.workspace.loader import load_workspace

DEFAULT_PHRASES = [
    "根治", "治愈", "痊愈", "保证", "100%", "无效退款", "有效率", "治愈率", "康复", "恢复视力",
    "降低度数", "近视治愈", "近视克星", "度数修复", "最佳", "第一", "国家级", "药到病除",
    "无副作用", "零风险",
]  # fmt: skip

JOURNEY = "id: j\ntrigger: {api: true}\nsteps: [{id: a, exit: x}]\n"


def workspace(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "ws"
    for name, text in {"journeys/j.yaml": JOURNEY, **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def problems(tmp_path: Path, files: dict[str, str]) -> list[Problem]:
    with pytest.raises(ValidationFailed) as caught:
        load_workspace(workspace(tmp_path, files))
    return caught.value.problems


@pytest.mark.parametrize("phrase", DEFAULT_PHRASES)
def test_every_default_phrase_is_banned_with_its_law(phrase: str) -> None:
    found = banned_in(f"您好,{phrase}。", default_rules())
    assert [b.phrase for b in found] == [phrase]
    assert any(law in found[0].law for law in ("art. 16", "art. 7", "art. 9", "myopia-control"))


def test_laws_cited() -> None:
    laws = {b.phrase: b.law for b in default_rules().banned}
    assert "Advertising Law art. 16" in laws["治愈率"]
    assert "Medical Advertising Measures art. 7" in laws["根治"]
    assert "myopia-control" in laws["近视克星"]


def test_longer_phrase_is_reported_once() -> None:
    assert [b.phrase for b in banned_in("近视治愈不是梦", default_rules())] == ["近视治愈"]


def test_first_time_is_not_a_ranking() -> None:
    assert banned_in("孩子第一次验光", default_rules()) == []
    assert [b.phrase for b in banned_in("全市第一的眼科", default_rules())] == ["第一"]


MESSAGE = """\
id: promo
purpose: service
wechat_template:
  template_id: T1
  url: "https://example.cn/100%"
  data:
    thing1: 复查提醒
    thing2: 保证满意
wechat_subscribe: {template_id: S1, data: {thing1: 根治近视}}
wechat_text: {text: 药到病除}
wecom:
  text: 零风险
sms:
  template_id: "1"
  sign_name: 某某眼科
  text: "{1}您好,最佳复查时间到了"
  params: ["国家级专家"]
phone:
  script: 告诉家长可以恢复视力
"""


def test_every_text_field_of_every_channel_is_checked(tmp_path: Path) -> None:
    found = problems(tmp_path, {"messages/promo.yaml": MESSAGE})
    assert all(p.rule == "C-banned-phrase" for p in found)
    assert all(p.file.endswith("messages/promo.yaml") for p in found)
    got = {(p.line, p.message.split(":")[0], p.message.split("'")[1]) for p in found}
    assert got == {
        (8, "message promo wechat_template data.thing2", "保证"),
        (9, "message promo wechat_subscribe data.thing1", "根治"),
        (10, "message promo wechat_text text", "药到病除"),
        (12, "message promo wecom text", "零风险"),
        (16, "message promo sms text", "最佳"),
        (17, "message promo sms params.0", "国家级"),
        (19, "message promo phone script", "恢复视力"),
    }
    wecom = next(p for p in found if p.line == 12)
    assert "Advertising Law art. 16" in wecom.message
    assert wecom.fix is not None and "allow in compliance.yaml" in wecom.fix


SMS = """\
id: promo
purpose: {purpose}
sms:
  template_id: "1"
  sign_name: 某某眼科
  text: "{text}"
"""


@pytest.mark.parametrize(
    "ending",
    ["拒收请回复R", "回T退订", "退订回T", "回TD退订", "回N退订", "回复TD退订。", "退订请回复T"],
)
def test_marketing_sms_with_opt_out_is_accepted(tmp_path: Path, ending: str) -> None:
    text = SMS.replace("{purpose}", "marketing").replace("{text}", f"暑期验光季开始了,{ending}")
    assert "promo" in load_workspace(workspace(tmp_path, {"messages/promo.yaml": text})).messages


def test_marketing_sms_without_opt_out_is_refused(tmp_path: Path) -> None:
    text = SMS.replace("{purpose}", "marketing").replace("{text}", "暑期验光季开始了,回T退订了吗")
    [p] = problems(tmp_path, {"messages/promo.yaml": text})
    assert (p.line, p.rule) == (6, "C-sms-opt-out")
    assert p.message.startswith("message promo sms text: a marketing SMS must end with an opt-out")
    assert p.fix == "end the template text with e.g. 拒收请回复R or 回T退订"


def test_service_sms_needs_no_opt_out(tmp_path: Path) -> None:
    text = SMS.replace("{purpose}", "service").replace("{text}", "您的预约已确认")
    assert "promo" in load_workspace(workspace(tmp_path, {"messages/promo.yaml": text})).messages


def test_marketing_message_with_template_content(tmp_path: Path) -> None:
    text = "id: promo\npurpose: marketing\nwechat_template:\n  template_id: T\n  data: {a: b}\n"
    [p] = problems(tmp_path, {"messages/promo.yaml": text})
    assert (p.line, p.rule) == (3, "C-marketing-template")


WECOM = "id: promo\npurpose: service\nwecom: {text: 孩子可参加康复训练，院区第一分院}\n"


def test_workspace_rules_add_and_allow(tmp_path: Path) -> None:
    compliance = """\
    banned_phrases:
      - 特效
      - {phrase: 神奇, law: ad_law_16}
    allow:
      - {phrase: 康复训练, reason: 视功能训练项目的正式名称}
      - {phrase: 第一分院, reason: 院区名称, messages: [promo]}
    """
    extra = "id: other\npurpose: service\nwecom: {text: 特效神奇，第一分院}\n"
    files = {
        "messages/promo.yaml": WECOM,
        "messages/other.yaml": extra,
        "compliance.yaml": compliance,
    }
    found = problems(tmp_path, files)
    assert {(Path(p.file).name, p.message.split("'")[1]) for p in found} == {
        ("other.yaml", "特效"),
        ("other.yaml", "神奇"),
        ("other.yaml", "第一"),
    }
    magic = next(p for p in found if "神奇" in p.message)
    assert "Advertising Law art. 16" in magic.message


def test_allow_without_reason_is_a_problem(tmp_path: Path) -> None:
    compliance = "allow:\n  - {phrase: 康复训练, reason: 项目名称}\n  - phrase: 第一分院\n"
    found = problems(tmp_path, {"messages/promo.yaml": WECOM, "compliance.yaml": compliance})
    rules = sorted((Path(p.file).name, p.line, p.rule) for p in found)
    assert rules == [
        ("compliance.yaml", 3, "C-allow-no-reason"),
        ("promo.yaml", 3, "C-banned-phrase"),
    ]


def test_compliance_file_unknown_key(tmp_path: Path) -> None:
    root = workspace(tmp_path, {"compliance.yaml": "banned_phrase: [x]\n"})
    _, found = load_rules(root)
    assert [(p.line, p.rule, p.fix) for p in found] == [
        (1, "E-unknown-key", "did you mean 'banned_phrases'?")
    ]
