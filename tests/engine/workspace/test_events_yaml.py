"""events.yaml: the workspace's event names mapped onto the contract's roles, read with
file and line problems and merged over the defaults."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from engine.errors import Problem, ValidationFailed
from engine.models.events import DEFAULT_ROLES, effective_roles
from engine.workspace.events import DOCUMENT, deployed_roles
from engine.workspace.loader import load_workspace

CLINIC = Path(__file__).parents[2] / "fixtures" / "clinic"
EYE_CLINIC = Path(__file__).parents[3] / "examples" / "eye-clinic"

EVENTS = """\
conversion: [appointment.paid, order.paid, mall.order_paid]
activity_exclude: [his.sync.*]
events:
  mall.coupon_used:
    role: conversion
    description: a coupon redeemed at the desk
  mall.order_refunded: {role: refund}
"""


def workspace(tmp_path: Path, events: str | None) -> Path:
    root = tmp_path / "ws"
    shutil.copytree(CLINIC, root)
    if events is not None:
        (root / "events.yaml").write_text(textwrap.dedent(events), encoding="utf-8")
    return root


def problems_of(root: Path) -> list[Problem]:
    with pytest.raises(ValidationFailed) as caught:
        load_workspace(root)
    return caught.value.problems


def test_the_roles_reach_the_workspace_documents_merged_over_the_defaults(
    tmp_path: Path,
) -> None:
    document = load_workspace(workspace(tmp_path, EVENTS)).documents[DOCUMENT]
    roles = effective_roles(document)
    assert roles.names("conversion") == (
        "appointment.paid",
        "order.paid",
        "mall.order_paid",
        "mall.coupon_used",
    )
    # A role the file does not write keeps the default, plus the file's own names.
    assert roles.names("refund") == (
        "appointment.refunded",
        "order.refunded",
        "mall.order_refunded",
    )
    assert roles.names("lead") == ("form.submitted",)
    assert not roles.is_activity("his.sync.patient")
    assert not roles.is_activity("carepath.channel_alert")  # carepath's own, always
    assert roles.is_activity("page.viewed") and roles.is_activity("his")


def test_without_the_file_the_contract_defaults_apply(tmp_path: Path) -> None:
    document = load_workspace(workspace(tmp_path, None)).documents[DOCUMENT]
    assert document == {}
    roles = effective_roles(document)
    assert roles.names("conversion") == ("appointment.paid", "order.paid")
    assert roles.roles == DEFAULT_ROLES
    assert roles.activity_exclude == ("carepath.*", "journey.*")
    assert effective_roles(None) == roles


def test_a_bad_role_is_reported_with_file_and_line(tmp_path: Path) -> None:
    text = EVENTS.replace("{role: refund}", "{role: refunds}")
    found = problems_of(workspace(tmp_path, text))
    assert [(Path(p.file).name, p.line) for p in found] == [("events.yaml", 7)]
    assert "refunds" in found[0].message or "conversion" in found[0].message


def test_a_misspelt_key_and_a_bad_name_are_reported_with_their_lines(tmp_path: Path) -> None:
    text = "conversoin: [appointment.paid]\nrefund: [order refunded]\n"
    found = problems_of(workspace(tmp_path, text))
    assert sorted((Path(p.file).name, p.line) for p in found) == [
        ("events.yaml", 1),
        ("events.yaml", 2),
    ]


def test_an_event_with_two_roles_and_carepaths_own_names_are_refused(tmp_path: Path) -> None:
    text = "refund: [mall.order_paid]\nevents:\n  mall.order_paid: {role: conversion}\n"
    found = problems_of(workspace(tmp_path, text))
    assert [(p.line, p.rule) for p in found] == [(3, "E-event-role")]
    own = problems_of(workspace(tmp_path / "own", "events:\n  carepath.paid: {role: conversion}\n"))
    assert "carepath's own" in own[0].message


def test_the_deployed_document_is_what_the_store_hands_back(tmp_path: Path) -> None:
    document = load_workspace(EYE_CLINIC).documents[DOCUMENT]

    class Store:
        def get_document(self, name: str) -> dict[str, object] | None:
            return document if name == DOCUMENT else None

    roles = deployed_roles(Store())
    assert "orthok.fitted" in roles.names("conversion")
    assert "orthok.refunded" in roles.names("refund")
