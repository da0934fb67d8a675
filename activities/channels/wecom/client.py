"""WeCom's SDK client: wechatpy's enterprise client, on ``settings.api_base``.

What it shares with the Official Account's (no auto-retry, a token shared through a
``TokenCache``) is ``token_client.py``.
"""

from __future__ import annotations

from typing import Any

from wechatpy.enterprise import WeChatClient as EnterpriseClient
from wechatpy.session.memorystorage import MemoryStorage

from activities.channels.token_client import TokenHolder, checked_token
from activities.channels.tokens import TokenCache
from engine.settings import ChannelSettings, WeComSettings


class WeComClient(TokenHolder, EnterpriseClient):  # type: ignore[misc]
    """wechatpy's WeCom client on ``settings.api_base``; the token is shared through
    ``tokens`` (as ``wecom:{corp_id}``) when given."""

    def __init__(
        self, settings: WeComSettings, timeout: float, tokens: TokenCache | None = None
    ) -> None:
        super().__init__(
            settings.corp_id,
            settings.corp_secret,
            session=MemoryStorage(),
            timeout=timeout,
            auto_retry=False,
        )
        self.API_BASE_URL = settings.api_base
        self._init_tokens(tokens, f"wecom:{settings.corp_id}")

    def _request_token(self) -> dict[str, Any]:
        """A token from ``gettoken`` (WeCom has no stable-token endpoint)."""
        response = self._http.get(
            f"{self.API_BASE_URL}gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
            timeout=self.timeout,
        )
        return checked_token(self, response)


def build_wecom_client(settings: ChannelSettings, tokens: TokenCache | None = None) -> WeComClient:
    """The WeCom client with the channels' timeout."""
    return WeComClient(settings.wecom, settings.timeout_seconds, tokens)
