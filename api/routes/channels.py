"""Channels: the circuits that stop sends, and an operator's reset.

A configuration error (an unapproved template or signature, bad credentials, a
suspended account) opens a circuit of the template or of the whole channel; sends it
covers are skipped with ``circuit_open`` and fall back to the next channel. A quota
answer opens the channel's quota window, which ends by itself. An operator sees both
here and, once the cause is fixed, resets them; a deploy that changes a template's
content closes its circuit too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, get_args

from fastapi import APIRouter, Body, Path
from fastapi.concurrency import run_in_threadpool

from api.deps import Admin, StoreDep
from api.errors import problem_responses
from api.schemas.channels import (
    ChannelPublic,
    ChannelReset,
    ChannelResetDone,
    ChannelsPage,
    CircuitPublic,
    ProviderChannel,
    QuotaWindowPublic,
)
from engine.errors import NotFound
from engine.expressions.clock import utcnow
from engine.models.changes import NewChange
from engine.store.circuits import ConfigCircuit, QuotaWindow
from engine.store.service_store import ServiceStore

router = APIRouter(prefix="/channels", tags=["channels"])

Channel = Annotated[ProviderChannel, Path(description="the channel, e.g. sms")]


@router.get("", response_model=ChannelsPage)
async def list_channels(caller: Admin, store: StoreDep) -> ChannelsPage:
    """Each channel: its own circuit, its templates' circuits, its quota window."""
    circuits, windows = await run_in_threadpool(_read, store)
    now = utcnow()
    return ChannelsPage(
        channels=[
            _channel(
                name,
                [c for c in circuits if c.channel == name],
                next((w for w in windows if w.channel == name), None),
                now,
            )
            for name in get_args(ProviderChannel)
        ]
    )


@router.post("/{channel}/reset", response_model=ChannelResetDone, responses=problem_responses(404))
async def reset(
    channel: Channel,
    caller: Admin,
    store: StoreDep,
    body: Annotated[ChannelReset | None, Body()] = None,
) -> ChannelResetDone:
    """Close the template's circuit (``template``), or every circuit of the channel and
    its quota window; the next send is the probe, and the same error opens it again.
    404 when the named template never had a circuit on the channel."""
    template = body.template if body is not None else None
    return await run_in_threadpool(
        reset_channel,
        store,
        channel,
        template,
        by=caller.source,
        actor=f"key:{caller.key.id}",
        now=utcnow(),
    )


def reset_channel(
    store: ServiceStore,
    channel: ProviderChannel,
    template: str | None,
    *,
    by: str,
    actor: str,
    now: datetime,
) -> ChannelResetDone:
    """The reset of ``POST /v1/channels/{channel}/reset`` (the console's too): close the
    circuits, end an open quota window with a channel reset, and record ``channel.reset``
    in the change log as ``actor``; ``by`` is what the circuits say closed them.
    NotFound when the named template never had a circuit on the channel."""
    if template is not None and not any(
        c.channel == channel and c.template == template for c in store.config_circuits()
    ):
        raise NotFound(
            f"no circuit of template {template!r} on {channel}: GET /v1/channels lists them"
        )
    window = next((w for w in store.quota_windows() if w.channel == channel), None)
    quota = template is None and window is not None and window.open_until > now
    closed = store.reset_circuits(channel, template, by=by, at=now)
    store.record_change(
        NewChange(
            at=now,
            actor=actor,
            action="channel.reset",
            subject_kind="channel",
            subject_id=channel,
            detail={
                "template": template,
                "closed": [c.template or None for c in closed],
                "quota_reset": quota,
            },
        )
    )
    return ChannelResetDone(
        channel=channel, closed=[_circuit(c) for c in closed], quota_reset=quota
    )


def _read(store: ServiceStore) -> tuple[list[ConfigCircuit], list[QuotaWindow]]:
    return store.config_circuits(), store.quota_windows()


def _channel(
    name: ProviderChannel,
    circuits: list[ConfigCircuit],
    window: QuotaWindow | None,
    now: datetime,
) -> ChannelPublic:
    own = next((c for c in circuits if not c.template and c.closed_at is None), None)
    ordered = sorted(circuits, key=lambda c: (c.closed_at is not None, c.template))
    quota = None
    if window is not None:
        quota = QuotaWindowPublic(
            state="open" if window.open_until > now else "closed",
            until=window.open_until,
            since=window.opened_at,
            error=window.reason,
        )
    return ChannelPublic(
        channel=name,
        state="open" if own is not None else "closed",
        since=own.opened_at if own else None,
        error=own.error if own else None,
        circuits=[_circuit(c) for c in ordered],
        quota=quota,
    )


def _circuit(circuit: ConfigCircuit) -> CircuitPublic:
    return CircuitPublic(
        template=circuit.template or None,
        state="open" if circuit.closed_at is None else "closed",
        since=circuit.opened_at,
        error=circuit.error,
        closed_at=circuit.closed_at,
        closed_by=circuit.closed_by,
    )
