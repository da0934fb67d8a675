"""The Official Account's SDK client: wechatpy's, on ``settings.api_base``.

Tokens come from ``cgi-bin/stable_token``, which hands every holder the same token
instead of invalidating the one other workers hold; what the client shares with
WeCom's (no auto-retry, a token shared through a ``TokenCache``) is ``token_client.py``.
"""

from __future__ import annotations

import json
from typing import Any

from wechatpy import WeChatClient
from wechatpy.session.memorystorage import MemoryStorage

from activities.channels.token_client import TokenHolder, checked_token
from activities.channels.tokens import TokenCache
from engine.settings import ChannelSettings, WeChatSettings


class OfficialAccountClient(TokenHolder, WeChatClient):  # type: ignore[misc]
    """wechatpy's Official Account client, on ``settings.api_base`` with stable tokens;
    the token is shared through ``tokens`` (as ``wechat:{app_id}``) when given."""

    def __init__(
        self, settings: WeChatSettings, timeout: float, tokens: TokenCache | None = None
    ) -> None:
        super().__init__(
            settings.app_id,
            settings.app_secret,
            session=MemoryStorage(),
            timeout=timeout,
            auto_retry=False,
        )
        self.API_BASE_URL = settings.api_base
        self._init_tokens(tokens, f"wechat:{settings.app_id}")

    def _request_token(self) -> dict[str, Any]:
        """The account's stable token (``cgi-bin/stable_token``, never force-refreshed:
        a forced refresh would invalidate the token other workers hold)."""
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret,
            "force_refresh": False,
        }
        response = self._http.post(
            f"{self.API_BASE_URL}stable_token",
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
        )
        return checked_token(self, response)


def build_official_account_client(
    settings: ChannelSettings, tokens: TokenCache | None = None
) -> OfficialAccountClient:
    """The Official Account client with the channels' timeout."""
    return OfficialAccountClient(settings.wechat, settings.timeout_seconds, tokens)
