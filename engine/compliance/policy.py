"""The compliance settings a running engine uses: the deployed documents, else settings.

The API (opt-out replies), the worker (frequency caps, quiet hours, holidays) and
``carepath simulate`` read the workspace's ``compliance`` and ``holidays`` documents
(deployed from ``compliance.yaml`` and ``holidays.yaml``) through the store. A key the
workspace did not write, or a store with no documents, falls back to the settings'
``compliance`` section, so an installation without these files behaves as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.compliance.holidays import parse_document
from engine.models.compliance import CompliancePolicy, FrequencyCap, Holiday
from engine.models.journey import QuietHours
from engine.settings import ComplianceSettings, get_settings

__all__ = [
    "DEFAULT_QUIET_HOURS",
    "Policy",
    "is_opt_out_of",
    "opt_out_channels",
    "policy_from",
    "read_policy",
]

DEFAULT_QUIET_HOURS = QuietHours(start="21:00", end="08:00")

#: The channels an opt-out reply withdraws marketing from, by the event it arrives as.
_OPT_OUT_EVENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "sms.replied": ("text", ("sms",)),
    "wechat.message_received": ("content", ("wechat_template", "wechat_subscribe", "wechat_text")),
}


def is_opt_out_of(keywords: tuple[str, ...], text: str) -> bool:
    """Whether a customer's message is exactly one of the keywords (trimmed, any case)."""
    reply = text.strip().upper()
    return bool(reply) and reply in {k.strip().upper() for k in keywords}


@dataclass(frozen=True)
class Policy:
    """Opt-out keywords, frequency caps, default quiet hours and clinic holidays."""

    opt_out_keywords: tuple[str, ...]
    frequency_caps: tuple[FrequencyCap, ...]
    quiet_hours: QuietHours
    holidays: tuple[Holiday, ...] = ()

    def is_opt_out(self, text: str) -> bool:
        """Whether a customer's message is an opt-out reply."""
        return is_opt_out_of(self.opt_out_keywords, text)


def policy_from(
    compliance: Mapping[str, Any] | None,
    holidays: Mapping[str, Any] | None,
    settings: ComplianceSettings | None = None,
) -> Policy:
    """The policy of deployed documents (either may be None), settings filling the gaps."""
    fallback = settings or get_settings().compliance
    doc = CompliancePolicy.model_validate(dict(compliance or {}))
    caps = doc.frequency_caps if doc.frequency_caps is not None else fallback.frequency_caps
    keywords = doc.opt_out_keywords or fallback.opt_out_keywords
    return Policy(
        opt_out_keywords=tuple(keywords),
        frequency_caps=tuple(caps),
        quiet_hours=doc.quiet_hours or DEFAULT_QUIET_HOURS,
        holidays=parse_document(dict(holidays) if holidays else None),
    )


_parsed: dict[tuple[int, int], tuple[Any, Any, Policy]] = {}


def read_policy(store: object, settings: ComplianceSettings | None = None) -> Policy:
    """The policy of the documents deployed in ``store`` (settings alone if it has none).

    Parsed once per pair of document objects: the SQL store hands back the same cached
    objects for a few seconds, so a busy worker does not re-validate on every send.
    """
    get = getattr(store, "get_document", None)
    if get is None:
        return policy_from(None, None, settings)
    compliance, holidays = get("compliance"), get("holidays")
    if settings is not None:
        return policy_from(compliance, holidays, settings)
    key = (id(compliance), id(holidays))
    hit = _parsed.get(key)
    if hit is not None and hit[0] is compliance and hit[1] is holidays:
        return hit[2]
    policy = policy_from(compliance, holidays)
    if len(_parsed) > 64:
        _parsed.clear()
    _parsed[key] = (compliance, holidays, policy)
    return policy


def opt_out_channels(name: str, properties: Mapping[str, Any], policy: Policy) -> tuple[str, ...]:
    """The channels whose marketing consent a customer's event withdraws (an opt-out
    reply by SMS or WeChat message), or none."""
    spec = _OPT_OUT_EVENTS.get(name)
    if spec is None:
        return ()
    text = properties.get(spec[0])
    return spec[1] if isinstance(text, str) and policy.is_opt_out(text) else ()
