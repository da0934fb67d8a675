"""Access tokens: refreshed once after a refusal, never in a loop."""

from __future__ import annotations

from activities.channels.base import ChannelAdapter, ChannelName, Outcome
from activities.channels.registry import build_adapters
from simulators import ProviderSimulators
from tests.activities.channels.conftest import make_request

TEMPLATE_SEND = "message/template/send"


def test_refused_token_is_refreshed_once_and_the_send_retried(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    sims.wechat.configure(per_call=[40001])

    result = adapters["wechat_template"].send(make_request("wechat_template"))

    assert result.outcome is Outcome.ACCEPTED, result
    assert sims.wechat.call_count("stable_token") == 2  # first fetch + one refresh
    assert sims.wechat.call_count(TEMPLATE_SEND) == 2
    assert len(sims.wechat.messages) == 1


def test_token_refused_again_after_refresh_is_config_not_a_loop(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    sims.wechat.configure(default=40001)

    result = adapters["wechat_template"].send(make_request("wechat_template"))

    assert result.outcome is Outcome.CONFIG
    assert result.detail.startswith("40001 invalid credential")
    assert sims.wechat.call_count("stable_token") == 2
    assert sims.wechat.call_count(TEMPLATE_SEND) == 2
    assert sims.wechat.messages == []


def test_revoked_and_expired_tokens_are_replaced(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    text = adapters["wechat_text"]
    assert text.send(make_request("wechat_text")).outcome is Outcome.DELIVERED
    sims.wechat.revoke_tokens()  # the platform answers 40001 to the token we hold
    assert text.send(make_request("wechat_text")).outcome is Outcome.DELIVERED
    sims.wechat.expire_tokens()  # ... and 42001 here
    assert text.send(make_request("wechat_text")).outcome is Outcome.DELIVERED
    assert sims.wechat.call_count("stable_token") == 3
    assert len(sims.wechat.messages) == 3


def test_the_three_wechat_adapters_share_one_token(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    for channel in ("wechat_template", "wechat_subscribe", "wechat_text"):
        assert adapters[channel].send(make_request(channel)).outcome in (
            Outcome.ACCEPTED,
            Outcome.DELIVERED,
        )
    assert sims.wechat.call_count("stable_token") == 1
    assert sims.wechat.call_count("cgi-bin/token") == 0  # never the rotating endpoint


def test_wecom_expired_token_is_refreshed_once(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    wecom = adapters["wecom"]
    assert wecom.send(make_request("wecom")).outcome is Outcome.ACCEPTED
    sims.wecom.expire_tokens()
    assert wecom.send(make_request("wecom")).outcome is Outcome.ACCEPTED
    assert sims.wecom.call_count("gettoken") == 2
    assert len(sims.wecom.messages) == 2


def test_wrong_appsecret_is_config_and_nothing_is_sent(sims: ProviderSimulators) -> None:
    settings = sims.channel_settings(timeout_seconds=0.5)
    settings.wechat.app_secret = "not-the-secret"
    settings.wecom.corp_secret = "not-the-secret"
    adapters = build_adapters(settings)

    template = adapters["wechat_template"].send(make_request("wechat_template"))
    wecom = adapters["wecom"].send(make_request("wecom"))

    assert (template.outcome, template.detail) == (Outcome.CONFIG, "token: 40125 invalid appsecret")
    assert (wecom.outcome, wecom.detail) == (Outcome.CONFIG, "token: 40001 invalid credential")
    assert sims.wechat.call_count(TEMPLATE_SEND) == 0
    assert sims.wecom.call_count("add_msg_template") == 0
