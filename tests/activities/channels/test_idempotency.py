"""A retried activity never sends twice; an unknown outcome is never retried by an SDK."""

from __future__ import annotations

from activities.channels.base import ChannelAdapter, ChannelName, Outcome
from simulators import ProviderSimulators
from tests.activities.channels.conftest import make_request


def test_same_idempotency_key_sends_one_template_message(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    template = adapters["wechat_template"]
    first = template.send(make_request("wechat_template", key="enr-1:step-1:wechat_template:1"))
    again = template.send(make_request("wechat_template", key="enr-1:step-1:wechat_template:1"))
    other = template.send(make_request("wechat_template", key="enr-1:step-1:wechat_template:2"))

    assert first.outcome is again.outcome is other.outcome is Outcome.ACCEPTED
    assert first.provider_ref == again.provider_ref != other.provider_ref
    assert sims.wechat.call_count("message/template/send") == 3
    assert len(sims.wechat.messages) == 2


def test_sms_timeout_is_unknown_and_the_sdk_does_not_resend(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    sims.sms.configure(default="timeout", timeout_hold=2.0)

    result = adapters["sms"].send(make_request("sms"))

    assert result.outcome is Outcome.UNKNOWN
    assert "ReadTimeout" in result.detail
    assert sims.sms.call_count("/") == 1
    [message] = sims.sms.messages  # the provider did take it: a resend would double it
    assert message.idempotency == "enr-1:step-1:sms:1"


def test_sms_request_limit_is_not_retried_either(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    sims.sms.configure(default="RequestLimitExceeded")

    result = adapters["sms"].send(make_request("sms"))

    assert result.outcome is Outcome.UNKNOWN
    assert sims.sms.call_count("/") == 1


def test_sms_carries_the_idempotency_key_as_session_context(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    sims.sms.register_template("1234567", "{1}您好,您预约的{2}尚未支付,请在24小时内完成。")
    result = adapters["sms"].send(make_request("sms", key="enr-9:step-3:sms:2"))
    [message] = sims.sms.messages
    assert result.provider_ref == message.provider_ref
    assert message.idempotency == "enr-9:step-3:sms:2"
    assert message.recipient == "+8613800138000"
    assert message.content["text"] == "王女士您好,您预约的角膜塑形镜尚未支付,请在24小时内完成。"
