"""The signature WeChat puts on every callback URL, checked against our token, and the
freshness of the timestamp it signs (WeCom's callbacks carry the same timestamp).

A signature alone proves only that WeChat made the URL once: the timestamp window
bounds how long a captured URL can be replayed, and the nonce (remembered for as long
as the window, ``engine.intake.callbacks.claim_nonce``) makes it usable once.
"""

from __future__ import annotations

from datetime import datetime

from wechatpy.utils import check_signature

from engine.errors import ForgedCallback


def verify_wechat(token: str, signature: str | None, timestamp: str, nonce: str) -> None:
    """Raise ForgedCallback unless the query's signature was made with our token."""
    try:
        check_signature(token, signature or "", timestamp, nonce)
    except Exception as exc:  # wechatpy raises InvalidSignatureException
        raise ForgedCallback("WeChat callback signature does not match the token") from exc


def check_fresh(timestamp: str, *, now: datetime, window_seconds: int) -> None:
    """Raise ForgedCallback unless ``timestamp`` (Unix seconds, as the platforms sign it)
    is within ``window_seconds`` of ``now``, either side (clocks drift both ways)."""
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise ForgedCallback(f"callback timestamp {timestamp[:20]!r} is not Unix seconds")
    skew = int(timestamp) - now.timestamp()
    if abs(skew) > window_seconds:
        raise ForgedCallback(
            f"callback timestamp is {abs(skew):.0f} s {'ahead of' if skew > 0 else 'behind'} "
            f"our clock, more than the {window_seconds} s allowed "
            "(CAREPATH_CHANNELS__CALLBACK_WINDOW_SECONDS; check the server's clock)"
        )
