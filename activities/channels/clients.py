"""Build the real SDK clients from ``ChannelSettings``.

wechatpy (1.8.18) and tencentcloud-sdk-python are used unmodified; what is set here:
- every client gets ``settings.timeout_seconds``;
- wechatpy's ``auto_retry`` is off: with it, a token the platform keeps refusing is
  refetched forever (RecursionError). The adapters refresh once themselves;
- tokens come from ``API_BASE_URL`` (wechatpy hard-codes the production host for them):
  the Official Account uses ``cgi-bin/stable_token``, which hands every holder the same
  token instead of invalidating the one other workers hold;
- given a ``TokenCache`` (the SQL store), the WeChat and WeCom clients keep their token
  there, shared by every worker process, instead of in the process (``tokens.py``);
- the SMS client has no retryer: SendSms has no idempotency, and the SDK's
  StandardRetryer would resend an SMS after a timeout.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import requests
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.retry import NoopRetryer
from tencentcloud.sms.v20210111.sms_client import SmsClient
from wechatpy import WeChatClient
from wechatpy.client.base import BaseWeChatClient
from wechatpy.enterprise import WeChatClient as EnterpriseClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from activities.channels.tokens import SharedToken, TokenCache
from engine.settings import ChannelSettings, SmsSettings, WeChatSettings, WeComSettings


def _checked_token(client: Any, response: requests.Response) -> dict[str, Any]:
    """A token answer, or WeChatClientException when it is not one."""
    try:
        response.raise_for_status()
    except requests.RequestException as exc:
        raise WeChatClientException(None, None, client=client, response=response) from exc
    result: dict[str, Any] = response.json()
    if result.get("errcode", 0) != 0:
        raise WeChatClientException(
            result["errcode"], result.get("errmsg"), client=client, response=response
        )
    return result


def _lifetime(result: dict[str, Any]) -> tuple[str, int]:
    """The token of an answer and how many seconds it lasts."""
    return str(result["access_token"]), int(result.get("expires_in", 7200))


def _keep_in_session(client: Any, result: dict[str, Any]) -> dict[str, Any]:
    """Keep the token in the client's (per-process) session."""
    token, expires_in = _lifetime(result)
    client.session.set(client.access_token_key, token, expires_in)
    client.expires_at = int(time.time()) + expires_in
    return result


class _TokenHolder(BaseWeChatClient):  # type: ignore[misc]  # wechatpy is untyped
    """What both clients change in wechatpy's token handling: the token is fetched by
    ``_request_token`` (on ``API_BASE_URL``) and kept in the process's session or, given
    a ``TokenCache``, in that cache, shared by every worker process. A refused token is
    replaced by ``refresh_token``, which the adapters call once per call at most."""

    _shared: SharedToken | None = None

    def _init_tokens(self, tokens: TokenCache | None, name: str) -> None:
        self._token_lock = threading.Lock()
        self._shared = None if tokens is None else SharedToken(tokens, name, self._shared_fetch)

    def _request_token(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def access_token(self) -> str:
        """The token for the next call: from the shared cache when there is one."""
        if self._shared is not None:
            return self._shared.get()
        token: str = super().access_token
        return token

    def fetch_access_token(self) -> dict[str, Any]:
        """Get a token from the platform and keep it in this process's session."""
        with self._token_lock:
            return _keep_in_session(self, self._request_token())

    def _shared_fetch(self) -> tuple[str, int]:
        return _lifetime(self._request_token())

    def refresh_token(self) -> None:
        """Replace the token the platform refused (after a 40001/40014/42001)."""
        if self._shared is not None:
            self._shared.refresh()
            return
        self.session.delete(self.access_token_key)
        self.expires_at = None
        self.fetch_access_token()


class OfficialAccountClient(_TokenHolder, WeChatClient):  # type: ignore[misc]
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
        return _checked_token(self, response)


class WeComClient(_TokenHolder, EnterpriseClient):  # type: ignore[misc]
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
        return _checked_token(self, response)


def build_sms_client(settings: SmsSettings, timeout: float) -> Any:
    """Tencent's ``SmsClient`` on ``settings.endpoint``, never retrying a call."""
    http = HttpProfile(endpoint=settings.endpoint, protocol=settings.protocol, reqTimeout=timeout)
    # NoopRetryer: SendSms must reach the provider at most once per call.
    profile = ClientProfile(httpProfile=http, retryer=NoopRetryer())
    credential = Credential(settings.secret_id, settings.secret_key)
    return SmsClient(credential, settings.region, profile)


def build_official_account_client(
    settings: ChannelSettings, tokens: TokenCache | None = None
) -> OfficialAccountClient:
    return OfficialAccountClient(settings.wechat, settings.timeout_seconds, tokens)


def build_wecom_client(settings: ChannelSettings, tokens: TokenCache | None = None) -> WeComClient:
    return WeComClient(settings.wecom, settings.timeout_seconds, tokens)
