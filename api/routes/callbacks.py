"""Provider callbacks: delivery receipts pushed by WeChat and Tencent Cloud SMS.

These carry no API key (the platforms cannot send one). WeChat callbacks are checked
against the configured token's signature and rejected otherwise; expose the SMS
callback path only to Tencent's addresses at the edge. Each receipt is matched to
its delivery by the provider's reference and reaches the waiting enrollment as a
signal; a repeated callback sets the same receipt again, which changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from api.deps import DispatcherDep, SettingsDep, StoreDep
from engine.contracts import ReceiptSignal
from engine.dispatch import Dispatcher
from engine.receipts import ForgedCallback, Receipt, sms_receipts, verify_wechat, wechat_receipts
from engine.store.service import ServiceStore

router = APIRouter(prefix="/callbacks", tags=["callbacks"])


async def _deliver(store: ServiceStore, dispatcher: Dispatcher, receipts: list[Receipt]) -> int:
    delivered = 0
    for receipt in receipts:
        delivery = store.find_delivery(receipt.provider_ref, receipt.channel)
        if delivery is None:
            continue  # not ours (or sent outside journeys)
        signal = ReceiptSignal(
            provider_ref=receipt.provider_ref,
            channel=receipt.channel,
            delivered=receipt.delivered,
            detail=receipt.detail,
        )
        if await dispatcher.receipt(delivery.enrollment_id, signal):
            delivered += 1
    return delivered


@router.get("/wechat", response_class=PlainTextResponse)
async def wechat_verify(
    settings: SettingsDep,
    signature: str = Query(description="sha1 of token, timestamp and nonce"),
    timestamp: str = Query(),
    nonce: str = Query(),
    echostr: str = Query(description="echoed back when the signature is valid"),
) -> PlainTextResponse:
    """Answer WeChat's server-address check (echo ``echostr`` when the signature is valid)."""
    try:
        verify_wechat(settings.channels.wechat.token, signature, timestamp, nonce)
    except ForgedCallback:
        return PlainTextResponse("invalid signature", status_code=403)
    return PlainTextResponse(echostr)


@router.post("/wechat", response_class=PlainTextResponse)
async def wechat_event(
    request: Request,
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    signature: str = Query(description="sha1 of token, timestamp and nonce"),
    timestamp: str = Query(),
    nonce: str = Query(),
) -> PlainTextResponse:
    """Receive a WeChat event (delivery receipts of template and subscribe messages)."""
    try:
        verify_wechat(settings.channels.wechat.token, signature, timestamp, nonce)
    except ForgedCallback:
        return PlainTextResponse("invalid signature", status_code=403)
    body = (await request.body()).decode("utf-8", errors="replace")
    await _deliver(store, dispatcher, wechat_receipts(body))
    return PlainTextResponse("success")


@router.post("/tencent-sms")
async def tencent_sms_status(
    request: Request, store: StoreDep, dispatcher: DispatcherDep
) -> JSONResponse:
    """Receive Tencent Cloud SMS status reports (a JSON array keyed by ``sid``)."""
    await _deliver(store, dispatcher, sms_receipts(await request.body()))
    return JSONResponse({"result": 0, "errmsg": "OK"})
