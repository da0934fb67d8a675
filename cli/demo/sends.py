"""A ``send`` step played out: each channel tried in order, skipped when the customer
cannot get it, falling back on a refusal, a failed receipt or no receipt in time, as
``workflows/sending.py`` does; details are the adapters' and the eligibility checks'.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cli.demo.life import Life
from cli.demo.tracing import Tracer

__all__ = ["Reach", "send"]

_CS_CLOSED = "customer-service window closed (no message, follow, scan or click recently)"


@dataclass(frozen=True, slots=True)
class Reach:
    """What the customer can get, as the send activity finds it."""

    openid: bool
    follows: bool
    wecom: bool
    subscribe_balance: bool

    @classmethod
    def of(cls, life: Life) -> Reach:
        ids = life.ids
        balance = ids.openid is not None and life.rng.random() < 0.25
        return cls(ids.openid is not None, life.follows, ids.wecom is not None, balance)


def send(
    tracer: Tracer,
    life: Life,
    at: datetime,
    step: str,
    message: str,
    channels: tuple[str, ...],
    receipt_timeout: timedelta | None,
) -> tuple[datetime, bool]:
    """Play the step from ``at``: (when it was done, whether a channel delivered)."""
    tracer.visit(step)
    tracer.add(at, step, "send", detail=message)
    reach = Reach.of(life)
    for channel in channels:
        at, delivered = _channel(tracer, life, reach, at, step, channel, receipt_timeout)
        if delivered:
            return at, True
    return at, False


def _channel(
    tracer: Tracer,
    life: Life,
    reach: Reach,
    at: datetime,
    step: str,
    channel: str,
    timeout: timedelta | None,
) -> tuple[datetime, bool]:
    rng = life.rng
    skip = _skip(reach, channel, rng.random())
    if skip is not None:
        tracer.attempt(at, step, channel, "skipped", skip)
        return at, False
    if channel == "wechat_template" and rng.random() < 0.05:
        tracer.attempt(at, step, channel, "recipient", "43004 require subscribe")
        return at, False
    if channel == "wechat_text":
        tracer.attempt(at, step, channel, "delivered", "0 ok")
        return at, True
    detail = {"sms": "Ok send success", "wecom": "0 ok"}.get(channel, "0 ok")
    tracer.attempt(at, step, channel, "accepted", detail)
    if timeout is None:
        return at, True  # no receipt awaited: accepted is as far as it goes
    return _receipt(tracer, life, at, step, channel, timeout)


def _skip(reach: Reach, channel: str, draw: float) -> str | None:
    if channel in ("wechat_template", "wechat_subscribe", "wechat_text") and not reach.openid:
        return "no wechat_openid"
    if channel in ("wechat_template", "wechat_text") and not reach.follows:
        return "does not follow the Official Account"
    if channel == "wechat_subscribe" and not reach.subscribe_balance:
        return "no subscribe-message consent left for the template"
    if channel == "wechat_text" and draw < 0.8:
        return _CS_CLOSED
    if channel == "wecom" and not reach.wecom:
        return "no wecom_external_userid"
    return None


def _receipt(
    tracer: Tracer, life: Life, at: datetime, step: str, channel: str, timeout: timedelta
) -> tuple[datetime, bool]:
    """The receipt of an accepted attempt: delivered, failed, or none in time."""
    rng = life.rng
    if channel == "wecom":
        # A WeCom mass message waits for the member of staff to confirm it.
        delay = timedelta(minutes=rng.randrange(5, 600))
        delivered = rng.random() < 0.72
    else:
        delay = timedelta(seconds=rng.randrange(2, 45))
        delivered = rng.random() < (0.93 if channel == "sms" else 0.9)
    if delay >= timeout or channel == "wecom" and not delivered:
        tracer.add(at + timeout, step, "receipt", channel=channel, outcome="timeout")
        return at + timeout, False
    if delivered:
        tracer.add(at + delay, step, "receipt", channel=channel, outcome="delivered")
        return at + delay, True
    detail = "FAIL" if channel == "sms" else "failed:user block"
    tracer.add(at + delay, step, "receipt", channel=channel, outcome="failed", detail=detail)
    return at + delay, False
