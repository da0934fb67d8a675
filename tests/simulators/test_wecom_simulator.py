"""The WeCom simulator: tokens, queued group messages and their per-customer status."""

from __future__ import annotations

import time

import pytest
from wechatpy.exceptions import WeChatClientException

from activities.channels.wecom.client import WeComClient
from simulators import ProviderSimulators

CUSTOMER = "wmqfasd1e1927831291723123109r712"


def client(sims: ProviderSimulators, secret: str | None = None) -> WeComClient:
    settings = sims.channel_settings().wecom
    if secret is not None:
        settings = settings.model_copy(update={"corp_secret": secret})
    return WeComClient(settings, timeout=2)


def queue(c: WeComClient) -> str:
    answer = c.external_contact.add_msg_template(
        {"external_userid": [CUSTOMER], "sender": "zhangsan", "text": {"content": "复查提醒"}}
    )
    assert answer["errcode"] == 0 and answer["fail_list"] == []
    return str(answer["msgid"])


def status(c: WeComClient, msgid: str) -> int:
    answer = c.post("externalcontact/get_groupmsg_send_result", data={"msgid": msgid})
    [row] = answer["send_list"]
    assert (row["external_userid"], row["userid"]) == (CUSTOMER, "zhangsan")
    return int(row["status"])


def test_gettoken_refuses_a_wrong_secret(sims: ProviderSimulators) -> None:
    with pytest.raises(WeChatClientException) as raised:
        client(sims, secret="nope").fetch_access_token()
    assert raised.value.errcode == 40001


def test_status_is_unsent_until_the_staff_confirms_then_sent(sims: ProviderSimulators) -> None:
    sims.wecom.configure(default={"after": 0.2})
    c = client(sims)
    msgid = queue(c)
    assert status(c, msgid) == 0
    assert sims.wecom.receipt_for(msgid) == ("sent", 0.2)
    time.sleep(0.25)
    assert status(c, msgid) == 1
    old_api = c.external_contact.get_group_msg_result(msgid)
    assert old_api["detail_list"][0]["status"] == 1


@pytest.mark.parametrize(("receipt", "code"), [("not_friend", 2), ("limit", 3), ("none", 0)])
def test_failed_statuses(sims: ProviderSimulators, receipt: str, code: int) -> None:
    sims.wecom.configure(default={"receipt": receipt, "after": 0})
    c = client(sims)
    assert status(c, queue(c)) == code


def test_fail_list_names_customers_that_cannot_be_reached(sims: ProviderSimulators) -> None:
    sims.wecom.configure(per_recipient={CUSTOMER: "fail_list"})
    answer = client(sims).external_contact.add_msg_template(
        {"external_userid": [CUSTOMER], "sender": "zhangsan", "text": {"content": "x"}}
    )
    assert answer["fail_list"] == [CUSTOMER]
    assert sims.wecom.messages == []
