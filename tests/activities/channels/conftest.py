from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from activities.channels.base import ChannelAdapter, ChannelName, ChannelRequest, Recipient
from activities.channels.registry import build_adapters
from simulators import ProviderSimulators
from tests.simulators.receiver import Receiver

CONTENT: dict[ChannelName, dict[str, Any]] = {
    "wechat_template": {
        "template_id": "TM00015",
        "url": "https://m.example-clinic.cn/orders/42",
        "data": {"thing1": "角膜塑形镜", "time2": "2025-03-01 10:00"},
    },
    "wechat_subscribe": {"template_id": "SUB_0001", "page": "pages/order", "data": {"thing1": "x"}},
    "wechat_text": {"text": "王女士您好,您预约的角膜塑形镜尚未支付……"},
    "wecom": {"text": "王女士您好,复查时间到了。"},
    "sms": {
        "template_id": "1234567",
        "sign_name": "某某眼科",
        "text": "{1}您好,您预约的{2}尚未支付,请在24小时内完成。",
        "params": ["王女士", "角膜塑形镜"],
    },
}

CUSTOMER = Recipient(
    customer_id="cust-1",
    phone="13800138000",
    wechat_openid="o6_bmjrPTlm6_2sgVt7hMZOPfL2M",
    wecom_external_userid="wmqfasd1e1927831291723123109r712",
    wecom_owner_userid="zhangsan",
)

Send = Callable[..., ChannelRequest]


def make_request(
    channel: ChannelName,
    key: str = "enr-1:step-1:{channel}:1",
    recipient: Recipient = CUSTOMER,
    content: dict[str, Any] | None = None,
) -> ChannelRequest:
    return ChannelRequest(
        channel=channel,
        idempotency_key=key.format(channel=channel),
        recipient=recipient,
        content=CONTENT[channel] if content is None else content,
    )


@pytest.fixture(scope="module")
def running() -> Iterator[ProviderSimulators]:
    with ProviderSimulators() as sims:
        yield sims


@pytest.fixture
def sims(running: ProviderSimulators) -> ProviderSimulators:
    running.reset()
    return running


@pytest.fixture
def adapters(sims: ProviderSimulators) -> dict[ChannelName, ChannelAdapter]:
    # 0.5 s: long enough for any local answer, short enough for the timeout cases.
    return build_adapters(sims.channel_settings(timeout_seconds=0.5))


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
