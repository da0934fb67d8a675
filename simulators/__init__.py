"""Local stand-ins for WeChat, WeCom and Tencent Cloud SMS that the real SDKs talk to.

    with ProviderSimulators() as sims:
        settings = sims.channel_settings(timeout_seconds=2)
        sims.wechat.configure(per_recipient={"o-blocked": 43004})
        ...                         # send through the adapters built from ``settings``
        sims.wechat.messages        # what was accepted
        sims.sms.receipt_for(serial_no)

Each simulator is an HTTP server on 127.0.0.1 (port chosen by the OS).
"""

from __future__ import annotations

from types import TracebackType

from engine.settings import ChannelSettings
from simulators.answers import Answer, CallRecord, MessageRecord
from simulators.common import ProviderSimulator
from simulators.tencent_sms import TencentSmsSimulator
from simulators.wechat import WeChatSimulator
from simulators.wecom import WeComSimulator

__all__ = [
    "Answer",
    "CallRecord",
    "MessageRecord",
    "ProviderSimulator",
    "ProviderSimulators",
    "TencentSmsSimulator",
    "WeChatSimulator",
    "WeComSimulator",
]


class ProviderSimulators:
    """The three simulators, started and stopped together."""

    def __init__(self, settings: ChannelSettings | None = None) -> None:
        # Credentials come from ``settings`` (default: the development ones), so the
        # simulators accept exactly what the adapters built from channel_settings() send.
        self.settings = settings or ChannelSettings()
        wechat, wecom, sms = self.settings.wechat, self.settings.wecom, self.settings.sms
        self.wechat = WeChatSimulator(wechat.app_id, wechat.app_secret, wechat.token)
        self.wecom = WeComSimulator(wecom.corp_id, wecom.corp_secret)
        self.sms = TencentSmsSimulator(
            sms.secret_id, sms.secret_key, sms.sdk_app_id, callback_token=sms.callback_token
        )

    @property
    def all(self) -> tuple[ProviderSimulator, ...]:
        return (self.wechat, self.wecom, self.sms)

    def start(self) -> ProviderSimulators:
        for sim in self.all:
            sim.start()
        return self

    def stop(self) -> None:
        for sim in self.all:
            sim.stop()

    def reset(self) -> None:
        """Forget answers, messages and calls of every simulator."""
        for sim in self.all:
            sim.reset()

    def __enter__(self) -> ProviderSimulators:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def receipt_for(self, provider_ref: str) -> tuple[str, float] | None:
        """The planned receipt of a message from any simulator (msgid / SerialNo)."""
        for sim in self.all:
            receipt = sim.receipt_for(provider_ref)
            if receipt is not None:
                return receipt
        return None

    def channel_settings(self, timeout_seconds: float | None = None) -> ChannelSettings:
        """``settings`` with every endpoint pointed at the running simulators."""
        s = self.settings
        return s.model_copy(
            update={
                "wechat": s.wechat.model_copy(
                    update={"api_base": f"{self.wechat.base_url}cgi-bin/"}
                ),
                "wecom": s.wecom.model_copy(update={"api_base": f"{self.wecom.base_url}cgi-bin/"}),
                "sms": s.sms.model_copy(
                    update={"endpoint": f"127.0.0.1:{self.sms.port}", "protocol": "http"}
                ),
                "timeout_seconds": timeout_seconds or s.timeout_seconds,
            }
        )
