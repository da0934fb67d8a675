"""Medical data needs health_data consent: a journey whose rules read a medical or
vision attribute (``health_attributes`` of the compliance rules) must require
``consent: {purpose: health_data}`` in its ``entry`` (PIPL art. 28-29: sensitive
personal information needs separate consent).

The rules looked at are the ones that decide who is enrolled and where they go: the
entry rule, branch conditions, and the rules of every segment the journey uses
(trigger, goal, exits, rules), followed through segment references.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.models.journey import Journey
from engine.models.references import RefPath, rules_read
from rules.deps import dependencies
from rules.models import Rule, dump_rule


def medical_attributes_read(
    journey: Journey, segments: Mapping[str, Rule], health_attributes: frozenset[str]
) -> set[str]:
    """The medical attributes the journey's rules read."""
    read: set[str] = set()
    for rule in rules_read(journey, segments):
        read |= set(dependencies(rule, segments).attributes)
    return read & health_attributes


def requires_health_data(entry: Rule | None) -> bool:
    """Whether the entry rule demands health_data consent (itself, or inside ``all``)."""
    return entry is not None and _demands(dump_rule(entry))


def _demands(node: Any) -> bool:
    if not isinstance(node, dict):
        return False
    consent = node.get("consent")
    if isinstance(consent, dict) and consent.get("purpose") == "health_data":
        return True
    return any(_demands(child) for child in node.get("all") or [])


def check(
    journey: Journey, segments: Mapping[str, Rule], health_attributes: frozenset[str]
) -> tuple[RefPath, str] | None:
    """(where, what) when the journey reads medical data without requiring consent."""
    read = medical_attributes_read(journey, segments, health_attributes)
    if not read or requires_health_data(journey.entry):
        return None
    where: RefPath = ("entry",) if journey.entry is not None else ("id",)
    return where, ", ".join(sorted(read))
