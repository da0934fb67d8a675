"""Eligibility, content checks and the registry."""

from __future__ import annotations

import pytest

from activities.channels.base import CHANNELS, ChannelAdapter, ChannelName, Outcome
from simulators import ProviderSimulators
from tests.activities.channels.conftest import CUSTOMER, make_request


@pytest.mark.parametrize(
    ("channel", "missing", "detail"),
    [
        ("wechat_template", "wechat_openid", "no wechat_openid"),
        ("wechat_subscribe", "wechat_openid", "no wechat_openid"),
        ("wechat_text", "wechat_openid", "no wechat_openid"),
        ("wecom", "wecom_external_userid", "no wecom_external_userid"),
        ("wecom", "wecom_owner_userid", "no wecom_owner_userid"),
        ("sms", "phone", "no phone"),
    ],
)
def test_missing_identity_is_skipped_without_a_call(
    sims: ProviderSimulators,
    adapters: dict[ChannelName, ChannelAdapter],
    channel: ChannelName,
    missing: str,
    detail: str,
) -> None:
    recipient = CUSTOMER.model_copy(update={missing: None})

    result = adapters[channel].send(make_request(channel, recipient=recipient))

    assert (result.outcome, result.detail) == (Outcome.SKIPPED, detail)
    assert not (sims.wechat.calls or sims.wecom.calls or sims.sms.calls)


@pytest.mark.parametrize(
    ("channel", "content", "detail"),
    [
        ("wechat_template", {"data": {}}, "content: template_id: Field required"),
        ("wechat_text", {"text": ""}, "content: text: String should have at least 1 character"),
        ("sms", {"template_id": "1", "sign_name": "x", "params": [1]}, "params.0"),
        ("wecom", {"text": "x", "image": "y"}, "content: image: Extra inputs"),
    ],
)
def test_malformed_content_is_config(
    sims: ProviderSimulators,
    adapters: dict[ChannelName, ChannelAdapter],
    channel: ChannelName,
    content: dict[str, object],
    detail: str,
) -> None:
    result = adapters[channel].send(make_request(channel, content=content))
    assert result.outcome is Outcome.CONFIG
    assert detail in result.detail


def test_template_message_is_sent_in_wechat_shape(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    adapters["wechat_template"].send(make_request("wechat_template"))
    [message] = sims.wechat.messages
    assert message.content["data"] == {
        "thing1": {"value": "角膜塑形镜"},
        "time2": {"value": "2025-03-01 10:00"},
    }
    assert message.content["url"] == "https://m.example-clinic.cn/orders/42"
    assert message.idempotency and len(message.idempotency) == 32


def test_wecom_message_goes_out_in_the_owner_s_name(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    adapters["wecom"].send(make_request("wecom"))
    [message] = sims.wecom.messages
    assert message.recipient == CUSTOMER.wecom_external_userid
    assert message.extra["sender"] == "zhangsan"
    assert message.content["text"] == {"content": "王女士您好,复查时间到了。"}


def test_registry_has_every_channel_but_phone(adapters: dict[ChannelName, ChannelAdapter]) -> None:
    assert set(adapters) == set(CHANNELS) - {"phone"}
    assert all(adapter.name == channel for channel, adapter in adapters.items())


def test_wechat_text_sends_a_picture_by_media_id(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    request = make_request("wechat_text", content={"image_media_id": "MEDIA_group_qr"})
    result = adapters["wechat_text"].send(request)
    assert result.outcome == Outcome.DELIVERED
    (message,) = sims.wechat.messages
    assert message.content["msgtype"] == "image"
    assert message.content["image"] == {"media_id": "MEDIA_group_qr"}
