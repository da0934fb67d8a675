"""Scenario ``providers:`` blocks applied to the simulators, and receipts turned into signals."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from engine.contracts.journey import ReceiptSignal
from engine.models.common import ChannelName
from engine.models.scenario import ProviderAnswer
from simulators import ProviderSimulators

# The WeChat simulator serves three channels; each has its own API path.
WECHAT_ENDPOINTS: dict[str, str] = {
    "wechat_template": "message/template/send",
    "wechat_subscribe": "message/subscribe/bizsend",
    "wechat_text": "message/custom/send",
}
DELIVERED = {"success", "sent"}
DEFAULT_RECEIPT_DELAY = 5.0


def _answer(answer: ProviderAnswer) -> dict[str, Any]:
    out: dict[str, Any] = {"result": answer.result}
    if answer.receipt is not None:
        out["receipt"] = answer.receipt
    out["after"] = answer.after.total_seconds() if answer.after else DEFAULT_RECEIPT_DELAY
    return out


def configure_providers(
    sims: ProviderSimulators, providers: Mapping[ChannelName, ProviderAnswer]
) -> None:
    """Tell each simulator how to answer, channel by channel, as the scenario says."""
    for channel, answer in providers.items():
        per_call = [_answer(a) for a in answer.per_call] if answer.per_call else None
        default = _answer(answer)
        if channel in WECHAT_ENDPOINTS:
            sims.wechat.configure_endpoint(
                WECHAT_ENDPOINTS[channel], default=default, per_call=per_call
            )
        elif channel == "wecom":
            sims.wecom.configure(default=default, per_call=per_call)
        elif channel == "sms":
            sims.sms.configure(default=default, per_call=per_call)


def receipt_signal(
    sims: ProviderSimulators, channel: str, provider_ref: str
) -> tuple[ReceiptSignal, float] | None:
    """The receipt a provider will report for a message, as the signal carepath sends on."""
    planned = sims.receipt_for(provider_ref)
    if planned is None:
        return None
    status, after = planned
    name: ChannelName = channel  # type: ignore[assignment]
    delivered = status.strip().lower() in DELIVERED
    detail = "" if delivered else status
    return ReceiptSignal(
        provider_ref=provider_ref, channel=name, delivered=delivered, detail=detail
    ), after
