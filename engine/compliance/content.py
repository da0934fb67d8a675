"""Compliance rules for message content: banned medical-advertising claims, SMS opt-out.

The shipped rules live in ``engine/data/compliance.yaml``; a workspace may add banned
phrases and allow phrases (each with a written reason) in its own ``compliance.yaml``.
Every text a customer can read is checked, in every channel of every message.

The same file also holds what the running engine uses in place of the settings
(``opt_out_keywords``, ``frequency_caps``, ``quiet_hours``: see
:class:`engine.models.compliance.CompliancePolicy`); :func:`load_rules` validates them
and returns them as the ``compliance`` document a deploy stores.

Rule codes: ``C-banned-phrase``, ``C-sms-opt-out``, ``C-marketing-template``,
``C-allow-no-reason``, ``C-config``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field

from engine.errors import Problem
from engine.models.common import Strict
from engine.models.compliance import CompliancePolicy
from engine.models.message import Message
from engine.models.reading import Locate, read_model

__all__ = [
    "BannedPhrase",
    "ComplianceRules",
    "banned_in",
    "check_message",
    "default_rules",
    "load_rules",
]

_NOT_TEXT = frozenset({"template_id", "url", "page", "pagepath", "appid", "miniprogram"})
_MASK = "\x00"


class _PhraseSpec(Strict):
    phrase: str = Field(min_length=1, description="text that may not appear in any message")
    law: str | list[str] | None = Field(None, description="law key (see laws) or text")
    kind: str | None = Field(None, description="the kind of claim: cure claim, testimonial, ...")
    unless: list[str] = Field(default_factory=list, description="longer phrases that are fine")


class _Allowance(Strict):
    phrase: str = Field(min_length=1, description="phrase that is fine in this workspace")
    reason: str | None = Field(None, description="why it is not a prohibited claim here")
    messages: list[str] | None = Field(None, description="only in these messages (default: all)")


class ComplianceFile(CompliancePolicy):
    """A compliance.yaml file (shipped defaults or a workspace's additions)."""

    laws: dict[str, str] = Field(default_factory=dict, description="law key -> citation")
    banned_phrases: list[str | _PhraseSpec] = Field(default_factory=list)
    allow: list[_Allowance] = Field(default_factory=list)
    sms_opt_out: str | None = Field(None, description="regex the end of a marketing SMS matches")
    health_attributes: list[str] = Field(
        default_factory=list,
        description="profile attributes that are medical or vision data (PIPL sensitive "
        "personal information): a journey whose rules read one needs health_data consent "
        "in its entry",
    )
    school_screening_attributes: list[str] = Field(
        default_factory=list,
        description="profile attributes that come from school screenings: a journey whose "
        "rules read one needs guardian_consent",
    )
    school_screening_events: list[str] = Field(
        default_factory=list,
        description="events of school screenings: a journey triggered by or reading one "
        "needs guardian_consent",
    )


@dataclass(frozen=True)
class BannedPhrase:
    """A phrase that may not appear, the law it breaks, and longer phrases that are fine."""

    phrase: str
    law: str
    unless: tuple[str, ...] = ()
    kind: str = "banned claim"


@dataclass(frozen=True)
class ComplianceRules:
    """The rules one workspace is checked against."""

    banned: tuple[BannedPhrase, ...]
    allow: tuple[tuple[str, frozenset[str] | None], ...]
    sms_opt_out: re.Pattern[str]
    health_attributes: frozenset[str] = frozenset()
    school_attributes: frozenset[str] = frozenset()
    school_events: frozenset[str] = frozenset()
    policy: dict[str, Any] | None = None  # the ``compliance`` document (None: none written)


def _phrases(spec: ComplianceFile, laws: dict[str, str]) -> list[BannedPhrase]:
    out: list[BannedPhrase] = []
    for item in spec.banned_phrases:
        if isinstance(item, str):
            out.append(BannedPhrase(item, "the workspace's compliance.yaml"))
            continue
        keys = [item.law] if isinstance(item.law, str) else item.law or []
        law = "; ".join(laws.get(k, k) for k in keys) or "the workspace's compliance.yaml"
        out.append(BannedPhrase(item.phrase, law, tuple(item.unless), item.kind or "banned claim"))
    return out


@lru_cache(maxsize=1)
def _shipped() -> tuple[ComplianceFile, str]:
    source = resources.files("engine").joinpath("data/compliance.yaml")
    with resources.as_file(source) as path:
        loaded = read_model(path, ComplianceFile)
    if not isinstance(loaded.model, ComplianceFile) or loaded.problems:  # pragma: no cover
        raise RuntimeError(f"shipped compliance rules are broken: {loaded.problems}")
    assert loaded.model.sms_opt_out is not None
    return loaded.model, loaded.model.sms_opt_out


def default_rules() -> ComplianceRules:
    """The shipped rules alone."""
    spec, pattern = _shipped()
    return ComplianceRules(
        tuple(_phrases(spec, spec.laws)),
        (),
        re.compile(pattern),
        frozenset(spec.health_attributes),
        frozenset(spec.school_screening_attributes),
        frozenset(spec.school_screening_events),
    )


def load_rules(root: str | Path | None) -> tuple[ComplianceRules, list[Problem]]:
    """The shipped rules plus the workspace's ``compliance.yaml`` (if any), and its problems."""
    base = default_rules()
    path = Path(root, "compliance.yaml") if root is not None else None
    if path is None or not path.is_file():
        return base, []
    loaded = read_model(path, ComplianceFile)
    spec = loaded.model
    problems = list(loaded.problems)
    if not isinstance(spec, ComplianceFile):
        return base, problems
    allow: list[tuple[str, frozenset[str] | None]] = []
    for i, item in enumerate(spec.allow):
        if not (item.reason or "").strip():
            problems.append(
                Problem(
                    loaded.file,
                    loaded.line(("allow", i)),
                    f"allow of {item.phrase!r} has no reason",
                    "write why the phrase is not a prohibited claim here: reason: ...",
                    "C-allow-no-reason",
                )
            )
            continue
        allow.append((item.phrase, frozenset(item.messages) if item.messages else None))
    pattern = base.sms_opt_out
    if spec.sms_opt_out is not None:
        try:
            pattern = re.compile(spec.sms_opt_out)
        except re.error as exc:
            problems.append(
                Problem(
                    loaded.file,
                    loaded.line(("sms_opt_out",)),
                    f"sms_opt_out is not a valid regular expression: {exc}",
                    "write a Python regular expression that matches the end of the text",
                    "C-config",
                )
            )
    laws = {**_shipped()[0].laws, **spec.laws}
    banned = base.banned + tuple(_phrases(spec, laws))
    health = base.health_attributes | frozenset(spec.health_attributes)
    school = base.school_attributes | frozenset(spec.school_screening_attributes)
    events = base.school_events | frozenset(spec.school_screening_events)
    policy = CompliancePolicy.model_validate(
        spec.model_dump(include=set(CompliancePolicy.model_fields), exclude_none=True)
    ).model_dump(mode="json", exclude_none=True)
    return (
        ComplianceRules(banned, tuple(allow), pattern, health, school, events, policy),
        problems,
    )


def banned_in(
    text: str, rules: ComplianceRules, message_id: str | None = None
) -> list[BannedPhrase]:
    """The banned phrases a text contains (longest first; a phrase inside another counts once)."""
    folded = text.casefold()
    for phrase, only in rules.allow:
        if only is None or message_id in only:
            folded = folded.replace(phrase.casefold(), _MASK * len(phrase))
    found: list[BannedPhrase] = []
    for banned in sorted(rules.banned, key=lambda b: -len(b.phrase)):
        target = banned.phrase.casefold()
        view = folded
        for fine in banned.unless:
            view = view.replace(fine.casefold(), _MASK * len(fine))
        if target in view:
            found.append(banned)
            folded = folded.replace(target, _MASK * len(target))
    return found


def _texts(message: Message) -> Iterator[tuple[str, tuple[str | int, ...], str]]:
    """(channel, path, text) for every text a customer can read in a message."""
    for channel in message.channels():
        content = getattr(message, channel)
        for field, value in content.model_dump(exclude_none=True).items():
            if field in _NOT_TEXT:
                continue
            yield from _strings(channel, (channel, field), value)


def _strings(channel: str, path: tuple[str | int, ...], value: Any) -> Iterator[Any]:
    if isinstance(value, str):
        yield channel, path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(channel, (*path, key), item)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(channel, (*path, i), item)


def check_message(
    message: Message, rules: ComplianceRules, file: str, locate: Locate
) -> list[Problem]:
    """Every compliance problem of one message, each naming channel, field and phrase."""
    problems: list[Problem] = []
    for channel, path, text in _texts(message):
        field = ".".join(str(p) for p in path[1:])
        for banned in banned_in(text, rules, message.id):
            problems.append(
                Problem(
                    file,
                    locate(file, path),
                    f"message {message.id} {channel} {field}: banned phrase "
                    f"{banned.phrase!r} ({banned.kind}) breaks {banned.law}",
                    f"rephrase without {banned.phrase!r}; if it makes no medical claim here, "
                    "list it under allow in compliance.yaml with a reason",
                    "C-banned-phrase",
                )
            )
    if message.purpose != "marketing":
        return problems
    if message.sms is not None and not rules.sms_opt_out.search(message.sms.text.rstrip()):
        problems.append(
            Problem(
                file,
                locate(file, ("sms", "text")),
                f"message {message.id} sms text: a marketing SMS must end with an opt-out "
                "instruction (MIIT order 31; Advertising Law art. 43)",
                "end the template text with e.g. 拒收请回复R or 回T退订",
                "C-sms-opt-out",
            )
        )
    if message.wechat_template is not None:
        problems.append(
            Problem(
                file,
                locate(file, ("wechat_template",)),
                f"message {message.id} is marketing but has wechat_template content: "
                "template messages are for service notices only",
                "send marketing by wechat_subscribe, wecom or sms, or drop the wechat_template "
                "block (purpose: service if this is really a service notice)",
                "C-marketing-template",
            )
        )
    return problems
