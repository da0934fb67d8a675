"""Eligibility of one channel for one customer and message, checked before any call.

Each check returns a recorded reason: ``skip`` (pass over this channel) or ``defer``
(marketing inside quiet hours: try again when the window ends, never drop). In order:
the identity the channel needs; following the Official Account (template and
customer-service messages; a subscribe message reaches whoever gave the consent);
marketing consent for the channel; an open circuit (a quota window, or a configuration
error's circuit of the channel or the message's template: ``circuit_open``); the
subscribe-message balance; the customer-service window; quiet hours (the journey's,
else the workspace's, else 21:00-08:00, in the customer's timezone) and the holidays
of the customer's clinic (``clinic_id``), which a marketing send waits out as one
window.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from engine.compliance.holidays import holiday_at
from engine.compliance.policy import DEFAULT_QUIET_HOURS, Policy
from engine.expressions.clock import in_local_window
from engine.models.common import ChannelName
from engine.models.compliance import Holiday
from engine.models.journey import QuietHours
from engine.models.message import Message
from engine.store import Customer
from engine.store.circuits import ConfigCircuit
from rules.durations import parse_time_of_day
from rules.evaluate import evaluate
from rules.models import ConsentRule

__all__ = [
    "DEFAULT_QUIET_HOURS",
    "ChannelState",
    "Verdict",
    "check",
    "circuit_open",
    "identity",
    "quiet_until",
]

_IDENTITY: dict[ChannelName, tuple[str, ...]] = {
    "wechat_template": ("wechat_openid",),
    "wechat_subscribe": ("wechat_openid",),
    "wechat_text": ("wechat_openid",),
    "wecom": ("wecom_external_userid",),
    "sms": ("phone",),
    "phone": ("phone",),
}


#: Customer actions that open the customer-service window: how long it stays open and
#: how many messages it allows (the platform's rule: 5 within 48 hours of a message
#: from the customer, 3 within a minute of a follow, a scan or a menu click).
CS_WINDOW_OPENERS: dict[str, tuple[timedelta, int]] = {
    "wechat.message_received": (timedelta(hours=48), 5),
    "wechat.subscribed": (timedelta(minutes=1), 3),
    "wechat.qr_scanned": (timedelta(minutes=1), 3),
    "wechat.menu_clicked": (timedelta(minutes=1), 3),
}


@dataclass(frozen=True)
class ChannelState:
    """What the store knows of the channel, and of this customer on it."""

    circuit: tuple[datetime, str] | None = None  # (open until, why)
    blocked: ConfigCircuit | None = None  # a configuration error's circuit stops this send
    subscribe_balance: int | None = None  # the message's template; None: never recorded
    sent_since: Callable[[datetime], int] | None = None  # this channel's sends since then


@dataclass(frozen=True)
class Verdict:
    outcome: str  # "skipped" | "deferred"
    reason: str
    retry_at: datetime | None = None


def identity(customer: Customer, name: str) -> str | None:
    """An identity of the customer; phone may also sit among the attributes."""
    value = customer.identities.get(name)
    if value is None and name == "phone":
        raw = customer.attributes.get("phone")
        value = str(raw) if raw else None
    return value


def circuit_open(circuit: ConfigCircuit) -> str:
    """The skip reason of a send a configuration circuit stops: ``circuit_open``, what
    it covers, since when and the answer that opened it."""
    what = f"template {circuit.template}" if circuit.template else "the whole channel"
    since = circuit.opened_at.isoformat(timespec="seconds")
    return f"circuit_open: {circuit.channel} {what} since {since} ({circuit.error})"


def check(
    channel: ChannelName,
    message: Message,
    customer: Customer,
    now: datetime,
    timezone: str,
    quiet_hours: QuietHours | None,
    state: ChannelState | None = None,
    policy: Policy | None = None,
) -> Verdict | None:
    """None when the channel may be tried now, else why not (``policy``: the workspace's
    default quiet hours and clinic holidays)."""
    state = state or ChannelState()
    for needed in _IDENTITY[channel]:
        if not identity(customer, needed):
            return Verdict("skipped", f"no {needed}")
    if channel in ("wechat_template", "wechat_text") and not customer.follows_wechat:
        return Verdict("skipped", "does not follow the Official Account")
    if message.purpose == "marketing":
        rule = ConsentRule.model_validate({"consent": {"purpose": "marketing", "channel": channel}})
        if not evaluate(rule, customer.view(), now=now):
            return Verdict("skipped", f"no marketing consent for {channel}")
    if state.circuit is not None:
        until, why = state.circuit
        return Verdict("skipped", f"circuit open until {until.isoformat()} ({why})")
    if state.blocked is not None:
        return Verdict("skipped", circuit_open(state.blocked))
    if channel == "wechat_subscribe" and state.subscribe_balance == 0:
        return Verdict("skipped", "no subscribe-message consent left for the template")
    if channel == "wechat_text":
        closed = _cs_window_closed(customer, now, state.sent_since)
        if closed is not None:
            return Verdict("skipped", closed)
    if message.purpose == "marketing" and channel != "phone":
        window = quiet_hours or (policy.quiet_hours if policy else DEFAULT_QUIET_HOURS)
        clinic = customer.attributes.get("clinic_id")
        holidays = policy.holidays if policy else ()
        quiet = quiet_until(now, timezone, window, holidays, str(clinic) if clinic else None)
        if quiet is not None:
            return Verdict("deferred", quiet[1], retry_at=quiet[0])
    return None


def quiet_until(
    now: datetime,
    timezone: str,
    window: QuietHours,
    holidays: Sequence[Holiday] = (),
    clinic: str | None = None,
) -> tuple[datetime, str] | None:
    """When a marketing send at ``now`` may go, and why it waits; None: it may go now.

    Quiet hours and the clinic's holidays are one window: a holiday that ends inside
    quiet hours waits for those too, and quiet hours that end on a holiday wait for it.
    """
    start, end = parse_time_of_day(window.start), parse_time_of_day(window.end)
    at, why, holiday_seen = now, None, None
    for _ in range(800):  # each round moves ``at`` forward; a year of holidays at most
        ends = in_local_window(at, timezone, start, end)
        if ends is not None:
            at, why = ends.astimezone(now.tzinfo), why or f"quiet hours until {window.end}"
            continue
        found = holiday_at(at, timezone, clinic, holidays)
        if found is None:
            break
        at, holiday_seen = found[0], found[1]
    if at == now:
        return None
    if holiday_seen is not None:
        local = at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
        name = f" {holiday_seen.name}" if holiday_seen.name else ""
        return at, f"clinic holiday{name}: quiet until {local}"
    return at, why or ""


def _cs_window_closed(
    customer: Customer, now: datetime, sent_since: Callable[[datetime], int] | None
) -> str | None:
    """Why a customer-service message cannot go now, or None when a window has room."""
    opened = False
    for event in reversed(customer.events):
        spec = CS_WINDOW_OPENERS.get(event.name)
        if spec is None or not event.at <= now < event.at + spec[0]:
            continue
        opened = True
        limit = spec[1]
        if sent_since is None or sent_since(event.at) < limit:
            return None
    if opened:
        return "customer-service window used up (5 in 48 h, 3 in a minute)"
    return "customer-service window closed (no message, follow, scan or click recently)"
