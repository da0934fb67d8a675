"""How provider answers become ``Outcome``s: the ``Rule`` every provider's table is
made of, and the classification of a failure with no answer at all.

Three kinds of answer reach an adapter: a WeChat/WeCom ``errcode``
(``wechat/outcomes.py``), a Tencent Cloud SMS ``Code`` (``tencent_sms/outcomes.py``),
and a network failure (here). What matters most is whether a message may have gone
out: an answer the provider gave after receiving the request, or a timeout / reset
after sending, may hide a send and is never ``transient`` (the caller would resend
it); only a connection that was never made is.
"""

from __future__ import annotations

from dataclasses import dataclass

import requests
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

from activities.channels.base import ChannelResult, Effect, Outcome


@dataclass(frozen=True)
class Rule:
    """How one provider code is classified."""

    outcome: Outcome
    retry_after_seconds: float | None = None
    refresh_token: bool = False  # refresh the access token once and retry once first
    effect: Effect | None = None  # what it says beyond this attempt
    circuit_seconds: float | None = None  # with Effect.CIRCUIT


# --- network failures --------------------------------------------------------------------


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def never_reached(exc: BaseException) -> bool:
    """True only when the connection provably failed before any byte of the request left:
    refused, unresolvable, TLS handshake failed, or the connect itself timed out."""
    for err in _chain(exc):
        if isinstance(err, requests.exceptions.ConnectTimeout | requests.exceptions.SSLError):
            return True
        if isinstance(err, requests.exceptions.ConnectionError):
            inner = err.args[0] if err.args else None
            reason = getattr(inner, "reason", inner)
            return isinstance(reason, NewConnectionError | ConnectTimeoutError)
        if isinstance(err, requests.exceptions.Timeout):
            return False  # read timeout: the request was sent
    return False


def network_result(exc: BaseException, phase: str = "") -> ChannelResult:
    """Classify a failure with no provider answer: transient if nothing was sent."""
    kind = type(exc).__name__
    for err in _chain(exc):
        if isinstance(err, requests.exceptions.RequestException):
            kind = type(err).__name__
            break
    where = f"{phase}: " if phase else ""
    if never_reached(exc):
        return ChannelResult(outcome=Outcome.TRANSIENT, detail=f"{where}{kind} before sending")
    return ChannelResult(
        outcome=Outcome.UNKNOWN, detail=f"{where}{kind} after sending: may have been sent"
    )
