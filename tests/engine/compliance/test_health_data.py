"""Journeys that read medical data must require health_data consent in their entry."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.workspace.loader import load_workspace
from tests.engine.workspace.test_validate import API, only, problems, workspace

BRANCH_ON_DIOPTER = """\
steps:
  - id: b
    branch:
      - when: {attribute: diopter, gte: 300}
        goto: high
      - else: low
  - {id: high, exit: high}
  - {id: low, exit: low}
"""
CONSENT = "entry: {consent: {purpose: health_data}}\n"


def test_a_branch_on_a_vision_attribute_without_consent_is_refused(tmp_path: Path) -> None:
    problem = only(problems(tmp_path, API + BRANCH_ON_DIOPTER))
    assert problem.rule == "C-health-data-consent"
    assert problem.file.endswith("journeys/j.yaml") and problem.line == 1
    assert "diopter" in problem.message and "health_data" in problem.fix


def test_consent_in_entry_alone_or_among_all_is_enough(tmp_path: Path) -> None:
    for entry in (
        CONSENT,
        "entry: {all: [{consent: {purpose: health_data}}, {tag: 塑形镜}]}\n",
    ):
        root = workspace(tmp_path, {"journeys/j.yaml": API + entry + BRANCH_ON_DIOPTER})
        assert list(load_workspace(root).journeys) == ["j"]


def test_consent_that_may_be_missing_does_not_count(tmp_path: Path) -> None:
    entry = "entry: {any: [{consent: {purpose: health_data}}, {tag: 塑形镜}]}\n"
    problem = only(problems(tmp_path, API + entry + BRANCH_ON_DIOPTER))
    assert (problem.rule, problem.line) == ("C-health-data-consent", 3)


def test_medical_data_read_through_a_segment_counts(tmp_path: Path) -> None:
    journey = "id: j\ntrigger: {segment_entered: high_myopia}\nsteps: [{id: a, exit: x}]\n"
    segment = "id: high_myopia\nrule: {attribute: myopia_degree, gte: 600}\n"
    problem = only(problems(tmp_path, journey, segments__high_myopia=segment))
    assert "myopia_degree" in problem.message


@pytest.mark.parametrize("extra", ["tear_film"])
def test_a_workspace_can_name_more_medical_attributes(tmp_path: Path, extra: str) -> None:
    steps = BRANCH_ON_DIOPTER.replace("diopter", extra)
    root = workspace(tmp_path, {"journeys/j.yaml": API + steps})
    assert list(load_workspace(root).journeys) == ["j"]  # not medical by default
    compliance = f"health_attributes: [{extra}]\n"
    problem = only(problems(tmp_path, API + steps, compliance=compliance))
    assert extra in problem.message
