"""The one table that turns provider answers into ``Outcome``s.

Three kinds of answer reach an adapter: a WeChat/WeCom ``errcode``, a Tencent Cloud
SMS ``Code`` (per number, or for the whole request), and a network failure. What
matters most is whether a message may have gone out: an answer the provider gave
after receiving the request, or a timeout / reset after sending, may hide a send
and is never ``transient`` (the caller would resend it); only a connection that was
never made is.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from activities.channels.base import ChannelName, ChannelResult, Effect, Outcome


@dataclass(frozen=True)
class Rule:
    """How one provider code is classified."""

    outcome: Outcome
    retry_after_seconds: float | None = None
    refresh_token: bool = False  # refresh the access token once and retry once first
    effect: Effect | None = None  # what it says beyond this attempt
    circuit_seconds: float | None = None  # with Effect.CIRCUIT


O = Outcome  # noqa: E741 - short alias keeps the table readable
E = Effect

# --- WeChat Official Account and WeCom errcodes ------------------------------------------

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
    40037: Rule(O.CONFIG),  # invalid template_id
    47003: Rule(O.CONFIG),  # argument invalid (template data)
    48001: Rule(O.CONFIG),  # api unauthorized
    40125: Rule(O.CONFIG),  # invalid appsecret
    40013: Rule(O.CONFIG),  # invalid appid / corpid
    # WeCom
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
    return WECHAT_ERRCODES.get(errcode, WECHAT_UNKNOWN_CODE)


# --- Tencent Cloud SMS codes -------------------------------------------------------------

SMS_CODES: Final[dict[str, Rule]] = {
    "Ok": Rule(O.ACCEPTED),  # a status report follows
    "LimitExceeded.PhoneNumberThirtySecondLimit": Rule(O.QUOTA, retry_after_seconds=30),
    "LimitExceeded.PhoneNumberOneHourLimit": Rule(O.QUOTA, retry_after_seconds=3600),
    "LimitExceeded.PhoneNumberDailyLimit": Rule(O.QUOTA),
    "LimitExceeded.PhoneNumberSameContentDailyLimit": Rule(O.QUOTA),
    # The SMS package is empty: nobody gets an SMS until it is topped up; try again
    # (one call) after an hour.
    "FailedOperation.InsufficientBalanceInSmsPackage": Rule(
        O.QUOTA, effect=E.CIRCUIT, circuit_seconds=3600
    ),
    # The number replied an opt-out (or asked the carrier): record it as a withdrawal.
    "FailedOperation.PhoneNumberInBlacklist": Rule(O.RECIPIENT, effect=E.SMS_OPT_OUT),
    "FailedOperation.PhoneNumberParseFail": Rule(O.RECIPIENT),
    "InvalidParameterValue.IncorrectPhoneNumber": Rule(O.RECIPIENT),
    "FailedOperation.MarketingSendTimeConstraint": Rule(O.DEFERRED),  # 08:00-22:00 only
    "FailedOperation.TemplateIncorrectOrUnapproved": Rule(O.CONFIG),
    "FailedOperation.SignatureIncorrectOrUnapproved": Rule(O.CONFIG),
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": Rule(O.CONFIG),
    "FailedOperation.ContainSensitiveWord": Rule(O.CONFIG),
    "InvalidParameterValue.TemplateParameterFormatError": Rule(O.CONFIG),
    "InvalidParameterValue.SdkAppIdNotExist": Rule(O.CONFIG),
    # The provider answered, so the request reached it: an internal error or a rate
    # refusal there may still hide a send. Only a connection that was never made
    # (see network_result) is transient.
    "RequestLimitExceeded": Rule(O.UNKNOWN),
    # An HTTP status other than 200 from the provider (the SDK's name for it).
    "ServerNetworkError": Rule(O.UNKNOWN),
    # The SDK refused to build the request: nothing was sent.
    "ClientError": Rule(O.CONFIG),
    "ClientParamsError": Rule(O.CONFIG),
    "InvalidCredential": Rule(O.CONFIG),
}
SMS_PREFIXES: Final[tuple[tuple[str, Rule], ...]] = (
    ("AuthFailure.", Rule(O.CONFIG)),
    ("InternalError.", Rule(O.UNKNOWN)),
    ("RequestLimitExceeded.", Rule(O.UNKNOWN)),
    ("LimitExceeded.", Rule(O.QUOTA)),
    ("UnauthorizedOperation.", Rule(O.CONFIG)),
    ("UnsupportedOperation.", Rule(O.CONFIG)),
    ("InvalidParameter", Rule(O.CONFIG)),
    ("MissingParameter", Rule(O.CONFIG)),
    ("FailedOperation.", Rule(O.CONFIG)),
)
# An unlisted per-number code is a definite refusal for that number; an unlisted
# whole-request failure (e.g. the SDK wrapping a JSONDecodeError) came after sending.
SMS_UNKNOWN_NUMBER_CODE: Final = Rule(O.CONFIG)
SMS_UNKNOWN_REQUEST_CODE: Final = Rule(O.UNKNOWN)


def sms_rule(code: str, per_number: bool) -> Rule:
    if code in SMS_CODES:
        return SMS_CODES[code]
    for prefix, rule in SMS_PREFIXES:
        if code.startswith(prefix):
            return rule
    return SMS_UNKNOWN_NUMBER_CODE if per_number else SMS_UNKNOWN_REQUEST_CODE


def sms_result(
    code: str, message: str | None, per_number: bool, provider_ref: str | None = None
) -> ChannelResult:
    """Classify a Tencent Cloud SMS code; detail is e.g. ``"FailedOperation.X text"``."""
    rule = sms_rule(code, per_number)
    return ChannelResult(
        outcome=rule.outcome,
        detail=f"{code} {message or ''}".strip(),
        provider_ref=provider_ref,
        retry_after_seconds=rule.retry_after_seconds,
        effect=rule.effect,
        circuit_seconds=rule.circuit_seconds,
    )


# --- network failures --------------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def never_reached(exc: BaseException) -> bool:
    """True only when the connection provably failed before any byte of the request left:
    refused, unresolvable, TLS handshake failed, or the connect itself timed out."""
    for err in _chain(exc):
        if isinstance(err, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
            return True
        if isinstance(err, requests.exceptions.ConnectionError):
            inner = err.args[0] if err.args else None
            reason = getattr(inner, "reason", inner)
            return isinstance(reason, NewConnectionError | ConnectTimeoutError)
        if isinstance(err, requests.exceptions.Timeout):
            return False  # read timeout: the request was sent
    return False


def network_result(exc: BaseException, phase: str = "") -> ChannelResult:
    """Classify a failure with no provider answer: transient if nothing was sent."""
    kind = type(exc).__name__
    for err in _chain(exc):
        if isinstance(err, requests.exceptions.RequestException):
            kind = type(err).__name__
            break
    where = f"{phase}: " if phase else ""
    if never_reached(exc):
        return ChannelResult(outcome=O.TRANSIENT, detail=f"{where}{kind} before sending")
    return ChannelResult(
        outcome=O.UNKNOWN, detail=f"{where}{kind} after sending: may have been sent"
    )
