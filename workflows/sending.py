"""The ``send`` step: the channel matrix with fallback, run inside the workflow.

Per channel: send (an activity), then, for an ``accepted`` or ``unknown`` outcome,
wait durably for the delivery receipt up to ``receipt_timeout``. A ``deferred``
outcome (quiet hours, the carrier's marketing window) sleeps until the given time
and tries the same channel again. Everything else moves on to the next channel.
The idempotency key is enrollment:step:channel:visit.try, so a retried activity or
a replayed workflow asks the provider at most once for the same key.
"""

from __future__ import annotations

from typing import Protocol

from temporalio import workflow
from temporalio.exceptions import ActivityError

# Pydantic models and our pure helpers are stateless: the sandbox passes them through.
with workflow.unsafe.imports_passed_through():
    from engine.contracts.journey import (
        HandoffInput,
        HandoffResult,
        OrderInput,
        OrderResult,
        ReceiptSignal,
        SendInput,
        SendResult,
        Waiting,
    )
    from engine.models.common import ChannelName
    from engine.models.steps import SendStep
    from workflows.interpreter import Interpreter

SUCCESS = {"delivered"}
AWAIT_RECEIPT = {"accepted", "unknown"}


class Sender(Interpreter, Protocol):
    """What a send uses beyond ``Interpreter``: the visits of each step (in the
    idempotency key) and the delivery receipts that signals brought."""

    visits: dict[str, int]
    receipts: dict[str, ReceiptSignal]


async def send_step(wf: Sender, step: SendStep) -> str | None:
    """Try the step's channels in order; return on_failure when none delivered."""
    spec = step.send
    wf.record("send", detail=spec.message)
    channels: list[ChannelName] = list(spec.channels)
    if spec.order == "preferred" and len(channels) > 1:
        arg = OrderInput(**wf.base(), channels=channels)
        channels = (await wf.activity("channel_order", arg, OrderResult, local=True)).channels
    for channel in channels:
        if await _try_channel(wf, step, channel):
            return None
    return step.on_failure


async def _try_channel(wf: Sender, step: SendStep, channel: ChannelName) -> bool:
    spec = step.send
    visit = wf.visits.get(step.id, 1)
    if channel == "phone":
        call = HandoffInput(**wf.base(), queue="phone", message=spec.message, channel_fallback=True)
        task = await wf.activity("create_handoff", call, HandoffResult)
        wf.record(
            "attempt", channel="phone", outcome="accepted", detail=f"call task {task.task_id}"
        )
        wf.record("handoff", outcome="created", detail=task.task_id)
        return True
    for attempt in range(wf.input.options.max_deferrals + 1):
        key = f"{wf.input.enrollment_id}:{step.id}:{channel}:{visit}.{attempt}"
        arg = SendInput(**wf.base(), message=spec.message, channel=channel, idempotency_key=key)
        try:
            result: SendResult = await wf.activity("send_channel", arg, SendResult)
        except ActivityError as err:
            # Retries exhausted on transient failures, or a permanent error: fall back.
            cause = err.cause or err
            kind = getattr(cause, "type", None)
            outcome = "transient" if kind == "transient" else "config"
            wf.record(
                "attempt",
                channel=channel,
                outcome=outcome,
                detail=str(cause.message if hasattr(cause, "message") else cause),
            )
            return False
        wf.record("attempt", channel=channel, outcome=result.outcome, detail=result.detail)
        if result.outcome == "deferred" and result.retry_at is not None:
            await wf.wait(Waiting(kind="timer"), until=result.retry_at)
            continue
        if result.outcome in SUCCESS:
            return True
        if result.outcome in AWAIT_RECEIPT:
            return await _await_receipt(wf, step, channel, result)
        return False
    return False


async def _await_receipt(
    wf: Sender, step: SendStep, channel: ChannelName, result: SendResult
) -> bool:
    timeout = step.send.receipt_timeout
    ref = result.provider_ref
    if timeout is None or ref is None:
        # No receipt awaited: accepted is as far as we can know; unknown is not success.
        return result.outcome == "accepted"
    waiting = Waiting(kind="receipt", provider_ref=ref, channel=channel, attempt_at=wf.now())
    if await wf.wait(waiting, lambda: ref in wf.receipts, wf.now() + timeout):
        receipt = wf.receipts.pop(ref)
        outcome = "delivered" if receipt.delivered else "failed"
        wf.record("receipt", channel=channel, outcome=outcome, detail=receipt.detail or None)
        return receipt.delivered
    wf.record("receipt", channel=channel, outcome="timeout")
    return False
