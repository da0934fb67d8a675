"""Build the real SDK clients from ``ChannelSettings``.

wechatpy (1.8.18) and tencentcloud-sdk-python are used unmodified; what is set here:
- every client gets ``settings.timeout_seconds``;
- wechatpy's ``auto_retry`` is off: with it, a token the platform keeps refusing is
  refetched forever (RecursionError). The adapters refresh once themselves;
- tokens come from ``API_BASE_URL`` (wechatpy hard-codes the production host for them):
  the Official Account uses ``cgi-bin/stable_token``, which hands every holder the same
  token instead of invalidating the one other workers hold;
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
from wechatpy.enterprise import WeChatClient as EnterpriseClient
from wechatpy.exceptions import WeChatClientException
from wechatpy.session.memorystorage import MemoryStorage

from engine.settings import ChannelSettings, SmsSettings, WeChatSettings, WeComSettings


def _store_token(client: Any, response: requests.Response) -> dict[str, Any]:
    """Check a token answer and keep the token in the client's session."""
    try:
        response.raise_for_status()
    except requests.RequestException as exc:
        raise WeChatClientException(None, None, client=client, response=response) from exc
    result: dict[str, Any] = response.json()
    if result.get("errcode", 0) != 0:
        raise WeChatClientException(
            result["errcode"], result.get("errmsg"), client=client, response=response
        )
    expires_in = int(result.get("expires_in", 7200))
    client.session.set(client.access_token_key, result["access_token"], expires_in)
    client.expires_at = int(time.time()) + expires_in
    return result


class OfficialAccountClient(WeChatClient):  # type: ignore[misc]  # wechatpy is untyped
    """wechatpy's Official Account client, on ``settings.api_base`` with stable tokens."""

    def __init__(self, settings: WeChatSettings, timeout: float) -> None:
        super().__init__(
            settings.app_id,
            settings.app_secret,
            session=MemoryStorage(),
            timeout=timeout,
            auto_retry=False,
        )
        self.API_BASE_URL = settings.api_base
        self._token_lock = threading.Lock()

    def fetch_access_token(self) -> dict[str, Any]:
        """Get the account's stable token (``cgi-bin/stable_token``, never force-refreshed:
        a forced refresh would invalidate the token other workers hold)."""
        body = {
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret,
            "force_refresh": False,
        }
        with self._token_lock:
            response = self._http.post(
                f"{self.API_BASE_URL}stable_token",
                data=json.dumps(body),
                headers={"Content-Type": "application/json"},
                timeout=self.timeout,
            )
            return _store_token(self, response)

    def refresh_token(self) -> None:
        """Drop the cached token and fetch the current one (after a 40001/40014/42001)."""
        self.session.delete(self.access_token_key)
        self.expires_at = None
        self.fetch_access_token()


class WeComClient(EnterpriseClient):  # type: ignore[misc]  # wechatpy is untyped
    """wechatpy's WeCom client on ``settings.api_base``."""

    def __init__(self, settings: WeComSettings, timeout: float) -> None:
        super().__init__(
            settings.corp_id,
            settings.corp_secret,
            session=MemoryStorage(),
            timeout=timeout,
            auto_retry=False,
        )
        self.API_BASE_URL = settings.api_base
        self._token_lock = threading.Lock()

    def fetch_access_token(self) -> dict[str, Any]:
        """Get a token from ``gettoken`` (WeCom has no stable-token endpoint)."""
        with self._token_lock:
            response = self._http.get(
                f"{self.API_BASE_URL}gettoken",
                params={"corpid": self.corp_id, "corpsecret": self.secret},
                timeout=self.timeout,
            )
            return _store_token(self, response)

    def refresh_token(self) -> None:
        """Drop the cached token and fetch a new one."""
        self.session.delete(self.access_token_key)
        self.expires_at = None
        self.fetch_access_token()


def build_sms_client(settings: SmsSettings, timeout: float) -> Any:
    """Tencent's ``SmsClient`` on ``settings.endpoint``, never retrying a call."""
    http = HttpProfile(endpoint=settings.endpoint, protocol=settings.protocol, reqTimeout=timeout)
    # NoopRetryer: SendSms must reach the provider at most once per call.
    profile = ClientProfile(httpProfile=http, retryer=NoopRetryer())
    credential = Credential(settings.secret_id, settings.secret_key)
    return SmsClient(credential, settings.region, profile)


def build_official_account_client(settings: ChannelSettings) -> OfficialAccountClient:
    return OfficialAccountClient(settings.wechat, settings.timeout_seconds)


def build_wecom_client(settings: ChannelSettings) -> WeComClient:
    return WeComClient(settings.wecom, settings.timeout_seconds)
