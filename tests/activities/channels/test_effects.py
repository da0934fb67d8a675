"""The outcome table's effect column: what a refusal says beyond the attempt, through
the real SDKs against the simulators (``activities.channel_state`` records it)."""

from __future__ import annotations

import pytest

from activities.channels.base import ChannelAdapter, ChannelName, Effect
from simulators import ProviderSimulators
from tests.activities.channels.conftest import make_request
from tests.activities.channels.test_outcomes import simulator

E = Effect

ROWS: list[tuple[ChannelName, int | str, Effect | None, float | None]] = [
    ("wechat_template", 40003, E.NOT_FOLLOWING, None),
    ("wechat_template", 43004, E.NOT_FOLLOWING, None),
    ("wechat_subscribe", 43101, E.SUBSCRIBE_SPENT, None),
    ("wechat_template", 45009, E.CIRCUIT_TODAY, None),
    ("wechat_template", 45011, E.CIRCUIT, 60),
    ("sms", "FailedOperation.InsufficientBalanceInSmsPackage", E.CIRCUIT, 3600),
    ("sms", "FailedOperation.PhoneNumberInBlacklist", E.SMS_OPT_OUT, None),
    # configuration errors: a circuit of the template, or of the whole channel
    ("wechat_template", 40037, E.TEMPLATE_BROKEN, None),
    ("sms", "FailedOperation.TemplateIncorrectOrUnapproved", E.TEMPLATE_BROKEN, None),
    ("sms", "FailedOperation.SignatureIncorrectOrUnapproved", E.TEMPLATE_BROKEN, None),
    ("sms", "FailedOperation.TemplateParamSetNotMatchApprovedTemplate", E.TEMPLATE_BROKEN, None),
    ("sms", "AuthFailure.SecretIdNotFound", E.CHANNEL_BROKEN, None),
    ("sms", "UnauthorizedOperation.RequestIpNotInWhitelist", E.CHANNEL_BROKEN, None),
    # refusals that say nothing beyond the attempt
    ("wechat_text", 45015, None, None),
    ("wechat_template", 47003, None, None),  # one customer's data, not the template
    ("sms", "FailedOperation.ContainSensitiveWord", None, None),
    ("sms", "LimitExceeded.PhoneNumberDailyLimit", None, None),
    ("sms", "InvalidParameterValue.IncorrectPhoneNumber", None, None),
    ("sms", "Ok", None, None),
]


@pytest.mark.parametrize(("channel", "answer", "effect", "seconds"), ROWS, ids=str)
def test_effect_column(
    sims: ProviderSimulators,
    adapters: dict[ChannelName, ChannelAdapter],
    channel: ChannelName,
    answer: int | str,
    effect: Effect | None,
    seconds: float | None,
) -> None:
    simulator(sims, channel).configure(default=answer)
    result = adapters[channel].send(make_request(channel))
    assert (result.effect, result.circuit_seconds) == (effect, seconds), result
