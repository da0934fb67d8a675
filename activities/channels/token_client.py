"""What the WeChat and WeCom SDK clients share: wechatpy with our token handling.

wechatpy (1.8.18) is used unmodified; what both clients change in it:
- wechatpy's ``auto_retry`` is off: with it, a token the platform keeps refusing is
  refetched forever (RecursionError). The adapters refresh once themselves
  (``calls.py``);
- tokens come from ``API_BASE_URL`` (wechatpy hard-codes the production host for them),
  through each client's ``_request_token``;
- given a ``TokenCache`` (the SQL store), the token is kept there, shared by every
  worker process, instead of in the process (``tokens.py``).

Each platform's client is in its folder: ``wechat/client.py``, ``wecom/client.py``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import requests
from wechatpy.client.base import BaseWeChatClient
from wechatpy.exceptions import WeChatClientException

from activities.channels.tokens import SharedToken, TokenCache


def checked_token(client: Any, response: requests.Response) -> dict[str, Any]:
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


class TokenHolder(BaseWeChatClient):  # type: ignore[misc]  # wechatpy is untyped
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
