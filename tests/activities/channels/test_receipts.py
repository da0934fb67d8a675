"""Receipts: planned for a harness in skipped time, or pushed like the platforms do."""

from __future__ import annotations

import json
import time
import urllib.parse

from wechatpy import parse_message
from wechatpy.utils import check_signature

from activities.channels.base import ChannelAdapter, ChannelName, Outcome
from simulators import ProviderSimulators
from tests.activities.channels.conftest import CUSTOMER, make_request
from tests.simulators.receiver import Receiver


def test_receipts_are_planned_for_accepted_messages_only(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    sims.wechat.configure(default={"receipt": "failed:user block", "after": 120})
    sims.sms.configure(default={"receipt": "FAIL", "after": 30})
    template = adapters["wechat_template"].send(make_request("wechat_template"))
    text = adapters["wechat_text"].send(make_request("wechat_text"))
    sms = adapters["sms"].send(make_request("sms"))
    wecom = adapters["wecom"].send(make_request("wecom"))

    assert template.provider_ref and sms.provider_ref and wecom.provider_ref
    assert sims.receipt_for(template.provider_ref) == ("failed:user block", 120.0)
    assert sims.receipt_for(sms.provider_ref) == ("FAIL", 30.0)
    assert sims.receipt_for(wecom.provider_ref) == ("sent", 5.0)
    assert text.outcome is Outcome.DELIVERED and text.provider_ref is None
    assert sims.receipt_for("no-such-ref") is None


def test_no_receipt_when_told_none(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter]
) -> None:
    sims.wechat.configure(default={"receipt": "none"})
    result = adapters["wechat_template"].send(make_request("wechat_template"))
    assert result.outcome is Outcome.ACCEPTED and result.provider_ref
    assert sims.receipt_for(result.provider_ref) is None


def test_wechat_template_receipt_is_pushed_to_the_callback(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter], receiver: Receiver
) -> None:
    sims.wechat.configure(callback_url=receiver.url, default={"after": 0.05})

    result = adapters["wechat_template"].send(make_request("wechat_template"))

    push = receiver.next()
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(push.path).query))
    check_signature(
        sims.settings.wechat.token, query["signature"], query["timestamp"], query["nonce"]
    )
    event = parse_message(push.body)
    assert event.event == "templatesendjobfinish"
    assert (str(event.id), event.status) == (result.provider_ref, "success")
    assert event.source == CUSTOMER.wechat_openid


def test_sms_status_report_is_pushed_with_the_serial_no(
    sims: ProviderSimulators, adapters: dict[ChannelName, ChannelAdapter], receiver: Receiver
) -> None:
    sims.sms.configure(callback_url=receiver.url, default={"after": 0.05})

    result = adapters["sms"].send(make_request("sms"))

    [report] = json.loads(receiver.next().body)
    assert report["sid"] == result.provider_ref
    assert report["report_status"] == "SUCCESS"
    assert report["mobile"] == "13800138000"
    deadline = time.monotonic() + 2
    while not sims.sms.pushes and time.monotonic() < deadline:
        time.sleep(0.01)  # the simulator notes the push once our answer reached it
    assert sims.sms.pushes == [(result.provider_ref, 200)]
