"""One adapter per channel, built from the settings."""

from __future__ import annotations

from activities.channels.base import ChannelAdapter, ChannelName
from activities.channels.tencent_sms.client import build_sms_client
from activities.channels.tencent_sms.send import SmsAdapter
from activities.channels.tokens import TokenCache
from activities.channels.wechat.client import build_official_account_client
from activities.channels.wechat.subscribe import WeChatSubscribeAdapter
from activities.channels.wechat.template import WeChatTemplateAdapter
from activities.channels.wechat.text import WeChatTextAdapter
from activities.channels.wecom.client import build_wecom_client
from activities.channels.wecom.send import WeComAdapter
from engine.settings import ChannelSettings


def build_adapters(
    settings: ChannelSettings, tokens: TokenCache | None = None
) -> dict[ChannelName, ChannelAdapter]:
    """Adapters for every channel but ``phone`` (the workflow turns a phone step into a
    handoff). The three WeChat adapters share one client, so one token cache; with
    ``tokens`` (the SQL store) the tokens are shared with every other worker process."""
    official_account = build_official_account_client(settings, tokens)
    return {
        "wechat_template": WeChatTemplateAdapter(official_account),
        "wechat_subscribe": WeChatSubscribeAdapter(official_account),
        "wechat_text": WeChatTextAdapter(official_account),
        "wecom": WeComAdapter(build_wecom_client(settings, tokens)),
        "sms": SmsAdapter(build_sms_client(settings.sms, settings.timeout_seconds), settings.sms),
    }
