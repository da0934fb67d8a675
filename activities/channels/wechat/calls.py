"""One WeChat (or WeCom) send: the token first, the call, its answer classified.

WeCom answers in the WeChat errcode scheme, so its adapter sends through
``call_wechat`` too (``wecom/send.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import requests
from pydantic import BaseModel
from wechatpy.exceptions import WeChatClientException

from activities.channels.base import ChannelName, ChannelRequest, ChannelResult, Outcome
from activities.channels.calls import parse_content, refreshing_once, skipped
from activities.channels.outcomes import network_result
from activities.channels.wechat.outcomes import WECHAT_SUCCESS, wechat_result, wechat_rule
from engine.errors import TokenRefreshFailed

M = TypeVar("M", bound=BaseModel)


def openid_and_content(request: ChannelRequest, model: type[M]) -> tuple[str, M] | ChannelResult:
    """What every Official Account channel needs first: the openid and valid content."""
    openid = request.recipient.wechat_openid
    if not openid:
        return skipped("no wechat_openid")
    content = parse_content(model, request.content)
    if isinstance(content, ChannelResult):
        return content
    return openid, content


def refreshes_token(errcode: int) -> bool:
    """Whether the errcode refuses the access token (40001/40014/42001)."""
    return wechat_rule(errcode).refresh_token


def _token_failure(exc: Exception) -> ChannelResult:
    """Getting a token failed: nothing was sent, so never UNKNOWN."""
    if isinstance(exc, WeChatClientException) and exc.errcode is not None:
        result = wechat_result(int(exc.errcode), exc.errmsg)
        if result.outcome not in (Outcome.TRANSIENT, Outcome.QUOTA):
            result.outcome = Outcome.CONFIG
        result.detail = f"token: {result.detail}"
        return result
    if isinstance(exc, WeChatClientException):
        return ChannelResult(outcome=Outcome.TRANSIENT, detail=f"token: {_http_status(exc)}")
    result = network_result(exc, phase="token")
    result.outcome = Outcome.TRANSIENT
    return result


def _http_status(exc: WeChatClientException) -> str:
    status = getattr(exc.response, "status_code", None)
    return f"HTTP {status}" if status else "no answer"


def call_wechat(client: Any, channel: ChannelName, send: Callable[[], Any]) -> ChannelResult:
    """Get a token, call ``send`` and classify its answer.

    A refused token (40001/40014/42001) is refreshed once and the call made once more:
    the platform refused the call, so nothing was sent. A second refusal is CONFIG.
    """
    try:
        client.access_token  # noqa: B018 - fetch the token first: failures here sent nothing
    except (WeChatClientException, requests.RequestException) as exc:
        return _token_failure(exc)
    try:
        answer = refreshing_once(client, send, refreshes_token)
    except TokenRefreshFailed as exc:
        return _token_failure(exc.cause)
    except WeChatClientException as exc:
        if exc.errcode is None:
            # A non-2xx HTTP status: the platform (or a proxy) took the request.
            return ChannelResult(outcome=Outcome.UNKNOWN, detail=_http_status(exc))
        return wechat_result(int(exc.errcode), exc.errmsg)
    except requests.RequestException as exc:
        return network_result(exc)
    if not isinstance(answer, dict):
        return ChannelResult(outcome=Outcome.UNKNOWN, detail="unreadable answer")
    msgid = answer.get("msgid")
    if msgid is None and WECHAT_SUCCESS[channel] is Outcome.ACCEPTED:
        detail = "0 ok (no msgid: the receipt cannot be matched)"
    else:
        detail = "0 ok"
    return ChannelResult(
        outcome=WECHAT_SUCCESS[channel],
        detail=detail,
        provider_ref=str(msgid) if msgid is not None else None,
    )
