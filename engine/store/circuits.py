"""Circuits opened by configuration errors: what one is, and what it is keyed by.

A provider answer that says our setup is wrong for everyone (an invalid or unapproved
template or signature, bad credentials, a suspended account) opens a circuit so that
nobody else is sent into the same error: for one template of a channel (``template``
is the template id, or ``message:<id>`` for content without one) or for the whole
channel (``template == ""``). It stays open until an operator resets it or a deploy
changes the configuration it was opened under (``digest``: of the message's content
block for a template circuit; of the channel's settings for a channel circuit, so
new credentials rolled out to the workers close it too). Opening one records the event
``carepath.channel_alert`` on the operations customer, in the same write, once.

Quota windows are the other kind of circuit; they close by themselves when their time
passes and keep their own table (``circuit`` / ``open_circuit`` of the stores).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from engine.models.common import ChannelName
from engine.models.message import Message
from engine.store.records import NewEvent

#: The customer that operations events belong to: events belong to customers here, and
#: one made for operations lets a journey (``trigger: {event: carepath.channel_alert}``)
#: hand an alert to a person with the same handoffs, queues and audit as any other.
OPS_CUSTOMER = "carepath-ops"
ALERT_EVENT = "carepath.channel_alert"
#: Channels whose content a provider checks (a phone script reaches no provider).
_CONTENT_CHANNELS: tuple[ChannelName, ...] = (
    "wechat_template",
    "wechat_subscribe",
    "wechat_text",
    "wecom",
    "sms",
)


class ConfigCircuit(BaseModel):
    """A circuit opened by a configuration error, open or closed."""

    channel: str = Field(description="the channel it stops")
    template: str = Field(
        "", description="the template it stops; empty: the whole channel (credentials, account)"
    )
    error: str = Field(description="the provider's answer that opened it")
    opened_at: datetime = Field(description="when it opened")
    digest: str = Field(description="the configuration it was opened under (a hash)")
    closed_at: datetime | None = Field(None, description="when it closed; None while open")
    closed_by: str | None = Field(
        None, description="who closed it: api:<key name>, deploy, settings"
    )

    def alert(self) -> NewEvent:
        """The ``carepath.channel_alert`` event of its opening (one per opening)."""
        at = self.opened_at.isoformat()
        return NewEvent(
            message_id=f"{ALERT_EVENT}:{self.channel}:{self.template}:{at}",
            name=ALERT_EVENT,
            properties={
                "channel": self.channel,
                "template": self.template or None,
                "error": self.error,
                "opened_at": at,
            },
            at=self.opened_at,
        )


class QuotaWindow(BaseModel):
    """A channel's last quota window: nothing is sent on it until ``open_until``."""

    channel: str = Field(description="the channel")
    open_until: datetime = Field(description="when it ends (or ended)")
    reason: str = Field(description="the provider's answer that opened it")
    opened_at: datetime = Field(description="when it opened")


def template_key(message: Message, channel: ChannelName) -> str:
    """The circuit key of the message's content on ``channel``: its template id, else
    ``message:<id>`` (content without a template, e.g. a customer-service text)."""
    content = getattr(message, channel, None)
    template_id = getattr(content, "template_id", None)
    return str(template_id) if template_id else f"message:{message.id}"


def content_digest(message: Message, channel: ChannelName) -> str:
    """A hash of the message's unrendered content on ``channel``: a deploy that changes
    it closes the template's circuit."""
    content = getattr(message, channel, None)
    dumped = None if content is None else content.model_dump(mode="json")
    return _digest(dumped)


def settings_digest(section: BaseModel) -> str:
    """A hash of a channel's settings (credentials included, never stored in clear)."""
    return _digest(section.model_dump(mode="json"))


def deployed_templates(messages: list[Message]) -> dict[tuple[str, str], set[str]]:
    """(channel, template key) -> digests of the content deployed for it."""
    found: dict[tuple[str, str], set[str]] = {}
    for message in messages:
        for channel in _CONTENT_CHANNELS:
            if getattr(message, channel, None) is None:
                continue
            key = (channel, template_key(message, channel))
            found.setdefault(key, set()).add(content_digest(message, channel))
    return found


def _digest(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
