"""The simulators' QR endpoints answer the unmodified wechatpy as the platforms do:
``qrcode/create`` (ticket, expire_seconds, url; 40052/40053 for bad requests) and
WeCom's ``add_contact_way`` (config_id, qr_code; 40058 for bad parameters)."""

from __future__ import annotations

import pytest
from wechatpy import parse_message
from wechatpy.enterprise import parse_message as parse_wecom
from wechatpy.exceptions import WeChatClientException

from activities.channels.wechat.client import OfficialAccountClient
from activities.channels.wecom.client import WeComClient
from activities.channels.wecom.events import ChangeExternalContactEvent
from simulators import ProviderSimulators


def wechat(sims: ProviderSimulators) -> OfficialAccountClient:
    return OfficialAccountClient(sims.channel_settings(timeout_seconds=2).wechat, timeout=2)


def wecom(sims: ProviderSimulators) -> WeComClient:
    return WeComClient(sims.channel_settings(timeout_seconds=2).wecom, timeout=2)


def test_qrcode_create_answers_a_ticket_and_the_scan_carries_the_scene(
    sims: ProviderSimulators,
) -> None:
    client = wechat(sims)
    scene = {"scene": {"scene_str": "ch=poster;cl=sz-01"}}
    temporary = client.qrcode.create(
        {"action_name": "QR_STR_SCENE", "expire_seconds": 3600, "action_info": scene}
    )
    assert temporary["expire_seconds"] == 3600
    assert temporary["url"].startswith("http://weixin.qq.com/q/")
    permanent = client.qrcode.create({"action_name": "QR_LIMIT_STR_SCENE", "action_info": scene})
    assert "expire_seconds" not in permanent and permanent["ticket"] != temporary["ticket"]
    follow = parse_message(sims.wechat.scan_xml("o-1", temporary["ticket"], follows=False))
    assert (follow.event, follow.scene_id) == ("subscribe_scan", "ch=poster;cl=sz-01")
    scan = parse_message(sims.wechat.scan_xml("o-1", permanent["ticket"], follows=True))
    assert (scan.event, scan.scene_id) == ("scan", "ch=poster;cl=sz-01")


@pytest.mark.parametrize(
    ("data", "errcode"),
    [
        ({"action_name": "QR_FOREVER", "action_info": {"scene": {"scene_str": "x"}}}, 40052),
        ({"action_name": "QR_STR_SCENE", "action_info": {"scene": {"scene_str": "x" * 65}}}, 40053),
        ({"action_name": "QR_STR_SCENE", "action_info": {}}, 40053),
        ({"action_name": "QR_LIMIT_SCENE", "action_info": {"scene": {"scene_id": 100_001}}}, 40053),
    ],
)
def test_qrcode_create_refuses_bad_requests(
    sims: ProviderSimulators, data: dict[str, object], errcode: int
) -> None:
    with pytest.raises(WeChatClientException) as refused:
        wechat(sims).qrcode.create(data)
    assert refused.value.errcode == errcode


def test_add_contact_way_answers_a_config_id_and_the_add_event_its_state(
    sims: ProviderSimulators,
) -> None:
    client = wecom(sims)
    answer = client.external_contact.add_contact_way(
        type=1, scene=2, state="ch=desk;cl=sz-01", user=["zhangsan"]
    )
    assert answer["errcode"] == 0 and answer["qr_code"].startswith("https://")
    event = parse_wecom(sims.wecom.contact_added_xml(answer["config_id"], "wmX"))
    assert isinstance(event, ChangeExternalContactEvent)
    assert (event.state, event.user_id, event.external_user_id) == (
        "ch=desk;cl=sz-01",
        "zhangsan",
        "wmX",
    )
    for kwargs in (
        {"type": 1, "scene": 2, "user": ["a", "b"]},  # type 1 is one staff member
        {"type": 2, "scene": 2, "user": ["a"], "state": "s" * 31},  # state over 30
        {"type": 3, "scene": 2, "user": ["a"]},
    ):
        with pytest.raises(WeChatClientException) as refused:
            client.external_contact.add_contact_way(**kwargs)
        assert refused.value.errcode == 40058
