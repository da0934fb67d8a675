"""Every row of the outcome table, driven through the real SDKs against the simulators."""

from __future__ import annotations

import socket

import pytest

from activities.channels.base import ChannelAdapter, ChannelName, Outcome
from activities.channels.registry import build_adapters
from simulators import ProviderSimulator, ProviderSimulators
from tests.activities.channels.conftest import make_request

O = Outcome  # noqa: E741

WECHAT_ROWS: list[tuple[ChannelName, int | str, Outcome, str]] = [
    ("wechat_template", "ok", O.ACCEPTED, "0 ok"),
    ("wechat_subscribe", "ok", O.ACCEPTED, "0 ok"),
    ("wechat_text", "ok", O.DELIVERED, "0 ok"),
    ("wechat_template", -1, O.TRANSIENT, "-1 system error"),
    ("wechat_template", 40001, O.CONFIG, "40001 invalid credential"),
    ("wechat_template", 40014, O.CONFIG, "40014 invalid access_token"),
    ("wechat_template", 42001, O.CONFIG, "42001 access_token expired"),
    ("wechat_template", 40003, O.RECIPIENT, "40003 invalid openid"),
    ("wechat_template", 43004, O.RECIPIENT, "43004 require subscribe"),
    ("wechat_subscribe", 43101, O.RECIPIENT, "43101 user refuse to accept the msg"),
    ("wechat_text", 43019, O.RECIPIENT, "43019 require remove blacklist"),
    ("wechat_text", 45015, O.RECIPIENT, "45015 response out of time limit"),
    ("wechat_text", 45047, O.RECIPIENT, "45047 out of response count limit"),
    ("wechat_template", 45009, O.QUOTA, "45009 reach max api daily quota limit"),
    ("wechat_template", 45011, O.QUOTA, "45011 api minute-quota reach limit"),
    ("wechat_template", 40037, O.CONFIG, "40037 invalid template_id"),
    ("wechat_template", 47003, O.CONFIG, "47003 argument invalid!"),
    ("wechat_text", 48001, O.CONFIG, "48001 api unauthorized"),
    ("wechat_template", 99999, O.CONFIG, "99999 unknown error"),
    ("wecom", "ok", O.ACCEPTED, "0 ok"),
    ("wecom", 84061, O.RECIPIENT, "84061 not exist contact"),
    ("wecom", 40096, O.RECIPIENT, "40096 invalid external userid"),
    ("wecom", "fail_list", O.RECIPIENT, "0 ok, but the customer is in fail_list"),
    ("wecom", 60011, O.CONFIG, "60011 no privilege"),
]

SMS_ROWS: list[tuple[ChannelName, int | str, Outcome, str]] = [
    ("sms", code, outcome, code)
    for code, outcome in [
        ("Ok", O.ACCEPTED),
        ("LimitExceeded.PhoneNumberDailyLimit", O.QUOTA),
        ("LimitExceeded.PhoneNumberOneHourLimit", O.QUOTA),
        ("LimitExceeded.PhoneNumberThirtySecondLimit", O.QUOTA),
        ("LimitExceeded.PhoneNumberSameContentDailyLimit", O.QUOTA),
        ("FailedOperation.InsufficientBalanceInSmsPackage", O.QUOTA),
        ("FailedOperation.PhoneNumberInBlacklist", O.RECIPIENT),
        ("InvalidParameterValue.IncorrectPhoneNumber", O.RECIPIENT),
        ("FailedOperation.MarketingSendTimeConstraint", O.DEFERRED),
        ("FailedOperation.TemplateIncorrectOrUnapproved", O.CONFIG),
        ("FailedOperation.SignatureIncorrectOrUnapproved", O.CONFIG),
        ("InvalidParameterValue.TemplateParameterFormatError", O.CONFIG),
        ("AuthFailure.SignatureFailure", O.CONFIG),
        ("UnauthorizedOperation.SmsSdkAppIdVerifyFail", O.CONFIG),
        # answered by the provider: the request reached it, so never transient
        ("InternalError.Timeout", O.UNKNOWN),
        ("InternalError.SendAndRecvFail", O.UNKNOWN),
        ("RequestLimitExceeded", O.UNKNOWN),
        ("SomethingNew.NeverSeen", O.UNKNOWN),
    ]
]

# No answer at all: a timeout or a reset after sending may hide a send.
NETWORK_CHANNELS: tuple[ChannelName, ...] = ("wechat_template", "wechat_text", "wecom", "sms")
NETWORK_ROWS: list[tuple[ChannelName, int | str, Outcome, str]] = [
    (channel, answer, O.UNKNOWN, detail)
    for channel in NETWORK_CHANNELS
    for answer, detail in [("timeout", "ReadTimeout after sending"), ("reset", "after sending")]
]
NETWORK_ROWS += [
    ("sms", "slow:0.1", O.ACCEPTED, "Ok"),
    ("wechat_template", "slow:0.1", O.ACCEPTED, "0 ok"),
]


def simulator(sims: ProviderSimulators, channel: ChannelName) -> ProviderSimulator:
    return {"wecom": sims.wecom, "sms": sims.sms}.get(channel, sims.wechat)


@pytest.mark.parametrize(
    ("channel", "answer", "outcome", "detail"),
    WECHAT_ROWS + SMS_ROWS + NETWORK_ROWS,
    ids=lambda v: str(v.value if isinstance(v, Outcome) else v),
)
def test_outcome_table(
    sims: ProviderSimulators,
    adapters: dict[ChannelName, ChannelAdapter],
    channel: ChannelName,
    answer: int | str,
    outcome: Outcome,
    detail: str,
) -> None:
    sims.sms.configure(timeout_hold=1.0)
    sims.wechat.configure(timeout_hold=1.0)
    sims.wecom.configure(timeout_hold=1.0)
    simulator(sims, channel).configure(default=answer)

    result = adapters[channel].send(make_request(channel))

    assert result.outcome is outcome, result
    assert detail in result.detail
    accepted = (
        outcome in (O.ACCEPTED, O.DELIVERED)
        or outcome is O.UNKNOWN
        and answer
        in (
            "timeout",
            "reset",
        )
    )
    assert len(simulator(sims, channel).messages) == (1 if accepted else 0)
    if outcome is O.ACCEPTED:
        assert result.provider_ref == simulator(sims, channel).messages[0].provider_ref


def test_quota_rows_carry_retry_after(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    sims.wechat.configure(per_call=[45011, 45009])
    sims.sms.configure(per_call=["LimitExceeded.PhoneNumberThirtySecondLimit"])
    template = adapters["wechat_template"]
    assert template.send(make_request("wechat_template")).retry_after_seconds == 60
    assert template.send(make_request("wechat_template")).retry_after_seconds is None
    assert adapters["sms"].send(make_request("sms")).retry_after_seconds == 30


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("channel", ["wechat_template", "wechat_text", "wecom", "sms"])
def test_connection_refused_is_transient(sims: ProviderSimulators, channel: ChannelName) -> None:
    port = closed_port()
    settings = sims.channel_settings(timeout_seconds=0.5)
    settings.wechat.api_base = f"http://127.0.0.1:{port}/cgi-bin/"
    settings.wecom.api_base = f"http://127.0.0.1:{port}/cgi-bin/"
    settings.sms.endpoint = f"127.0.0.1:{port}"

    result = build_adapters(settings)[channel].send(make_request(channel))

    assert result.outcome is O.TRANSIENT, result
    assert "ConnectionError before sending" in result.detail


def test_connection_refused_after_the_token_is_transient(sims: ProviderSimulators) -> None:
    adapters = build_adapters(sims.channel_settings(timeout_seconds=0.5))
    template = adapters["wechat_template"]
    assert template.send(make_request("wechat_template")).outcome is O.ACCEPTED
    sims.wechat.stop()
    try:
        result = template.send(make_request("wechat_template", key="other"))
    finally:
        sims.wechat.start()
    assert result.outcome is O.TRANSIENT, result
