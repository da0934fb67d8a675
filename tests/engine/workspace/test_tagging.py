"""tagging.yaml: loading with file and line problems, and matching customers' messages."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from engine.errors import Problem, ValidationFailed
from engine.models.tagging import TaggingFile
from engine.workspace.loader import load_workspace
from engine.workspace.tagging import DOCUMENT, KeywordMatch, Matcher, matcher_for

CLINIC = Path(__file__).parents[2] / "fixtures" / "clinic"
EYE_CLINIC = Path(__file__).parents[3] / "examples" / "eye-clinic"

RULES = """\
rules:
  - id: myopia
    tag: 近视
    keywords: [近视, 看不清黑板]
    patterns: ["度数.{0,4}(涨|加深)"]
    exclude: [不近视]
  - tag: 角膜塑形镜意向
    keywords: [OK镜]
  - tag: 询价
    keywords: [多少钱]
    sources: [wechat]
"""


def workspace(tmp_path: Path, tagging: str | None) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(CLINIC, root)
    if tagging is not None:
        (root / "tagging.yaml").write_text(textwrap.dedent(tagging), encoding="utf-8")
    return root


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(ValidationFailed) as caught:
        load_workspace(root)
    return caught.value.problems


def matcher(text: str = RULES) -> Matcher:
    data = YAML(typ="safe").load(text)  # a plain read: the loader's own path is tested above
    return Matcher(TaggingFile.model_validate(data).rules)


def tags(found: list[KeywordMatch]) -> dict[str, str]:
    return {m.tag: m.matched for m in found}


def test_the_rules_reach_the_workspace_documents(tmp_path: Path) -> None:
    ws = load_workspace(workspace(tmp_path, RULES))
    document = ws.documents[DOCUMENT]
    assert [r["tag"] for r in document["rules"]] == ["近视", "角膜塑形镜意向", "询价"]
    assert document["rules"][2]["sources"] == ["wechat"]
    # What a deploy stores is what every process matches with.
    found = matcher_for(document).match("孩子最近看不清黑板了", "wecom")
    assert found == [KeywordMatch("近视", "myopia", "看不清黑板")]
    assert found[0].source == "auto:keyword:myopia:看不清黑板"


def test_no_tagging_file_deploys_no_rules(tmp_path: Path) -> None:
    ws = load_workspace(workspace(tmp_path, None))
    assert ws.documents[DOCUMENT] == {"rules": []}
    assert not matcher_for(ws.documents[DOCUMENT])
    assert matcher_for(ws.documents[DOCUMENT]).match("近视", "wechat") == []


def test_the_example_workspace_tags_validate_clean() -> None:
    document = load_workspace(EYE_CLINIC).documents[DOCUMENT]
    found = matcher_for(document).match("想了解一下OK镜多少钱", "wechat")
    assert tags(found) == {"角膜塑形镜意向": "OK镜", "询价": "多少钱"}


def test_a_bad_regex_names_file_line_and_the_error(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        """\
        rules:
          - tag: 近视
            patterns:
              - "度数.{0,4}"
              - "度数(涨|加深"
        """,
    )
    (problem,) = problems_of(root)
    assert problem.file.endswith("tagging.yaml")
    assert problem.line == 5
    assert problem.rule == "E-regex"
    assert "'度数(涨|加深'" in problem.message and "missing )" in problem.message
    assert problem.fix is not None and "regular expression" in problem.fix


def test_schema_problems_name_their_lines(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        """\
        rules:
          - tag: 近视
            keywords: [近视]
            source: [wechat]
          - tag: 询价
          - tag: 投诉
            keywords: [投诉]
            sources: [sms]
          - tag: 空
            patterns: [".*"]
        """,
    )
    found = {(p.line, p.rule) for p in problems_of(root)}
    assert (4, "E-unknown-key") in found  # did you mean 'sources'?
    assert (5, "E-value") in found  # nothing to match
    assert (8, "E-choice") in found  # sms is no chat source
    assert (10, "E-value") in found  # a pattern that matches empty text tags everything
    unknown = next(p for p in problems_of(root) if p.rule == "E-unknown-key")
    assert unknown.fix == "did you mean 'sources'?"


def test_two_rules_with_one_name_are_refused(tmp_path: Path) -> None:
    root = workspace(
        tmp_path,
        """\
        rules:
          - tag: 近视
            keywords: [近视]
          - tag: 近视
            keywords: [看不清]
          - {id: myopia, tag: 近视, keywords: [眯眼]}
        """,
    )
    (problem,) = problems_of(root)
    assert (problem.line, problem.rule) == (4, "E-duplicate-id")
    assert problem.fix is not None and "id:" in problem.fix


def test_chinese_keywords_are_substrings_and_latin_ones_whole_words() -> None:
    m = matcher()
    assert tags(m.match("我家孩子近视三百度", "wechat")) == {"近视": "近视"}
    assert tags(m.match("想配ok镜", "wechat")) == {"角膜塑形镜意向": "ok镜"}
    assert tags(m.match("想配ＯＫ镜", "wechat")) == {"角膜塑形镜意向": "OK镜"}  # full-width
    assert m.match("BOOK镜头", "wechat") == []  # OK inside a longer Latin word
    assert tags(m.match("3OK镜", "wechat")) == {}  # a digit touches it too
    assert tags(m.match("配副OK镜吧", "wechat")) == {"角膜塑形镜意向": "OK镜"}


def test_patterns_and_exclusions() -> None:
    m = matcher()
    assert tags(m.match("这学期度数又涨了", "call")) == {"近视": "度数又涨"}
    assert m.match("医生说孩子不近视", "wechat") == []  # the match lies inside 不近视
    # An exclusion cancels only the match inside it, not another match in the text.
    assert tags(m.match("我不近视，但是看不清黑板", "wechat")) == {"近视": "看不清黑板"}
    assert tags(m.match("姐姐不近视，弟弟近视了", "wechat")) == {"近视": "近视"}


def test_sources_limit_which_messages_a_rule_reads() -> None:
    m = matcher()
    assert tags(m.match("OK镜多少钱", "wechat")) == {"角膜塑形镜意向": "OK镜", "询价": "多少钱"}
    assert tags(m.match("OK镜多少钱", "call")) == {"角膜塑形镜意向": "OK镜"}


def test_a_document_is_compiled_once() -> None:
    document = TaggingFile.model_validate({"rules": [{"tag": "a", "keywords": ["x"]}]})
    dumped = document.model_dump(mode="json")
    assert matcher_for(dumped) is matcher_for(dict(dumped))
