"""The Tencent Cloud SMS code table: what a ``SendSms`` answer means.

A code comes per number (``SendStatusSet``) or for the whole request (the SDK's
exception). Failures with no answer are classified by ``network_result``
(``activities/channels/outcomes.py``).
"""

from __future__ import annotations

from typing import Final

from activities.channels.base import ChannelResult, Effect, Outcome
from activities.channels.outcomes import Rule

O = Outcome  # noqa: E741 - short alias keeps the table readable
E = Effect

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
    # The template, its signature or its shape is wrong for everyone: a circuit stops
    # the next sends of that template (channel_state) until a reset or a deploy.
    "FailedOperation.TemplateIncorrectOrUnapproved": Rule(O.CONFIG, effect=E.TEMPLATE_BROKEN),
    "FailedOperation.SignatureIncorrectOrUnapproved": Rule(O.CONFIG, effect=E.TEMPLATE_BROKEN),
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": Rule(
        O.CONFIG, effect=E.TEMPLATE_BROKEN
    ),
    # These depend on one customer's rendered values (a name, a long param): no circuit.
    "FailedOperation.ContainSensitiveWord": Rule(O.CONFIG),
    "InvalidParameterValue.TemplateParameterFormatError": Rule(O.CONFIG),
    # Our account or credentials: every SMS would fail the same way.
    "InvalidParameterValue.SdkAppIdNotExist": Rule(O.CONFIG, effect=E.CHANNEL_BROKEN),
    # The provider answered, so the request reached it: an internal error or a rate
    # refusal there may still hide a send. Only a connection that was never made
    # (see network_result) is transient.
    "RequestLimitExceeded": Rule(O.UNKNOWN),
    # An HTTP status other than 200 from the provider (the SDK's name for it).
    "ServerNetworkError": Rule(O.UNKNOWN),
    # The SDK refused to build the request: nothing was sent.
    "ClientError": Rule(O.CONFIG),
    "ClientParamsError": Rule(O.CONFIG),
    "InvalidCredential": Rule(O.CONFIG, effect=E.CHANNEL_BROKEN),
}
SMS_PREFIXES: Final[tuple[tuple[str, Rule], ...]] = (
    ("AuthFailure.", Rule(O.CONFIG, effect=E.CHANNEL_BROKEN)),  # SecretId/SecretKey
    ("InternalError.", Rule(O.UNKNOWN)),
    ("RequestLimitExceeded.", Rule(O.UNKNOWN)),
    ("LimitExceeded.", Rule(O.QUOTA)),
    # IP not whitelisted, SdkAppId not ours, service suspended for arrears
    ("UnauthorizedOperation.", Rule(O.CONFIG, effect=E.CHANNEL_BROKEN)),
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
    """The rule of one code: listed, else by prefix, else by where it was given."""
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
