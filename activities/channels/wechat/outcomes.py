"""The WeChat errcode table: what an Official Account (or WeCom) answer means.

WeCom answers in the same ``errcode``/``errmsg`` scheme, so its codes are rows of this
table too (marked below) and ``wecom/`` imports it. Failures with no answer are
classified by ``network_result`` (``activities/channels/outcomes.py``).
"""

from __future__ import annotations

import re
from typing import Final

from activities.channels.base import ChannelName, ChannelResult, Effect, Outcome
from activities.channels.outcomes import Rule

O = Outcome  # noqa: E741 - short alias keeps the table readable
E = Effect

# errcode 0 depends on the channel: template and subscribe messages wait for a receipt
# event, a customer-service message is delivered when the API says ok, and a WeCom
# group-message task still has to be confirmed by the staff member.
WECHAT_SUCCESS: Final[dict[ChannelName, Outcome]] = {
    "wechat_template": O.ACCEPTED,
    "wechat_subscribe": O.ACCEPTED,
    "wechat_text": O.DELIVERED,
    "wecom": O.ACCEPTED,
}

WECHAT_ERRCODES: Final[dict[int, Rule]] = {
    -1: Rule(O.TRANSIENT),  # system busy: the platform did not take the message
    40001: Rule(O.CONFIG, refresh_token=True),  # invalid credential
    40014: Rule(O.CONFIG, refresh_token=True),  # invalid access_token
    42001: Rule(O.CONFIG, refresh_token=True),  # access_token expired
    40003: Rule(O.RECIPIENT, effect=E.NOT_FOLLOWING),  # invalid openid (not of this account)
    43004: Rule(O.RECIPIENT, effect=E.NOT_FOLLOWING),  # require subscribe: does not follow
    43101: Rule(O.RECIPIENT, effect=E.SUBSCRIBE_SPENT),  # refuse to accept: no balance
    43019: Rule(O.RECIPIENT),  # require remove blacklist
    45015: Rule(O.RECIPIENT),  # customer-service window closed (48 h)
    45047: Rule(O.RECIPIENT),  # customer-service message count used up in the window
    45009: Rule(O.QUOTA, effect=E.CIRCUIT_TODAY),  # daily API quota reached
    # minute quota: retry next minute, and call nobody on it until then
    45011: Rule(O.QUOTA, retry_after_seconds=60, effect=E.CIRCUIT, circuit_seconds=60),
    # Our setup is wrong for everyone: a circuit stops the next sends (channel_state).
    40037: Rule(O.CONFIG, effect=E.TEMPLATE_BROKEN),  # invalid template_id
    # The data of one customer (a value too long for the field): no circuit.
    47003: Rule(O.CONFIG),  # argument invalid (template data)
    48001: Rule(O.CONFIG, effect=E.CHANNEL_BROKEN),  # api unauthorized for the account
    40125: Rule(O.CONFIG, effect=E.CHANNEL_BROKEN),  # invalid appsecret
    40013: Rule(O.CONFIG, effect=E.CHANNEL_BROKEN),  # invalid appid / corpid
    # WeCom-only codes: WeCom answers in this scheme, and its adapter and contact-me
    # codes use this table (wecom/ imports it).
    40096: Rule(O.RECIPIENT),  # invalid external userid
    84061: Rule(O.RECIPIENT),  # not exist contact: no relation with this staff member
    60011: Rule(O.CONFIG),  # no privilege to access the contact
}
WECHAT_UNKNOWN_CODE: Final = Rule(O.CONFIG)  # an unlisted refusal: our setup, alert

_HINT = re.compile(r",?\s*(hint|rid):.*$", re.S)


def wechat_result(errcode: int, errmsg: str | None) -> ChannelResult:
    """Classify a WeChat/WeCom refusal; detail is e.g. ``"43004 require subscribe"``."""
    rule = WECHAT_ERRCODES.get(errcode, WECHAT_UNKNOWN_CODE)
    text = _HINT.sub("", errmsg or "").strip()
    return ChannelResult(
        outcome=rule.outcome,
        detail=f"{errcode} {text}".strip(),
        retry_after_seconds=rule.retry_after_seconds,
        effect=rule.effect,
        circuit_seconds=rule.circuit_seconds,
    )


def wechat_rule(errcode: int) -> Rule:
    """The rule of one errcode (an unlisted one is CONFIG)."""
    return WECHAT_ERRCODES.get(errcode, WECHAT_UNKNOWN_CODE)
