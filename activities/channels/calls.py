"""What the adapters and the code-making calls share: content checks, and one wechatpy
call (WeChat or WeCom) with a refused access token replaced once.

The errcodes that mean "refused token" are the platform's (``wechat/outcomes.py``), so
callers pass them in: this module knows no provider's codes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import requests
from pydantic import BaseModel, ValidationError
from wechatpy.exceptions import WeChatClientException

from activities.channels.base import ChannelResult, Outcome
from engine.errors import ProviderError, TokenRefreshFailed

M = TypeVar("M", bound=BaseModel)


def skipped(reason: str) -> ChannelResult:
    """Not eligible, not called (e.g. ``"no wechat_openid"``)."""
    return ChannelResult(outcome=Outcome.SKIPPED, detail=reason)


def parse_content(model: type[M], content: dict[str, Any]) -> M | ChannelResult:
    """The channel's content block, or a CONFIG result naming what is wrong with it."""
    try:
        return model.model_validate(content)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'content'}: {e['msg']}" for e in exc.errors()
        )
        return ChannelResult(outcome=Outcome.CONFIG, detail=f"content: {problems}")


def refreshing_once(client: Any, call: Callable[[], Any], refused: Callable[[int], bool]) -> Any:
    """``call()``; when it is refused with a token errcode (``refused``), the token is
    replaced and the call made once more.

    The platform refused the first call, so nothing was done by it; a second refusal
    (of the token or anything else) reaches the caller as it came, never a third call.
    """
    try:
        return call()
    except WeChatClientException as exc:
        if exc.errcode is None or not refused(int(exc.errcode)):
            raise
    try:
        client.refresh_token()
    except (WeChatClientException, requests.RequestException) as token_exc:
        raise TokenRefreshFailed(token_exc) from token_exc
    return call()


def call_or_raise(
    client: Any,
    provider: str,
    what: str,
    call: Callable[[], Any],
    *,
    refused: Callable[[int], bool],
    hints: Mapping[int, str],
) -> dict[str, Any]:
    """The answer of an operator's request (not a send: making a QR code, say), or
    ``ProviderError`` naming what the platform said, with ``hints[errcode]`` (what to
    check) when there is one. A refused token is replaced once (``refreshing_once``)."""
    try:
        answer = refreshing_once(client, call, refused)
    except TokenRefreshFailed as exc:
        raise ProviderError(
            f"{provider} refused the access token for {what}: {exc.cause}"
        ) from exc.cause
    except WeChatClientException as exc:
        if exc.errcode is None:
            status = getattr(exc.response, "status_code", None)
            raise ProviderError(f"{provider} answered HTTP {status} to {what}") from exc
        code = int(exc.errcode)
        hint = f" ({hints[code]})" if code in hints else ""
        raise ProviderError(
            f"{provider} refused {what}: {code} {exc.errmsg}{hint}", errcode=code
        ) from exc
    except requests.RequestException as exc:
        raise ProviderError(f"{provider} could not be reached for {what}: {exc}") from exc
    if not isinstance(answer, dict):
        raise ProviderError(f"{provider} gave an unreadable answer to {what}")
    return answer
