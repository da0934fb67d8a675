"""The signature WeChat puts on every callback URL, checked against our token."""

from __future__ import annotations

from wechatpy.utils import check_signature

from engine.errors import ForgedCallback


def verify_wechat(token: str, signature: str | None, timestamp: str, nonce: str) -> None:
    """Raise ForgedCallback unless the query's signature was made with our token."""
    try:
        check_signature(token, signature or "", timestamp, nonce)
    except Exception as exc:  # wechatpy raises InvalidSignatureException
        raise ForgedCallback("WeChat callback signature does not match the token") from exc
