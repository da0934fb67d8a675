"""Provider callbacks: what customers do on WeChat and WeCom, and delivery receipts.

These carry no API key (the platforms cannot send one). WeChat callbacks are checked
against the configured token's signature (in safe mode also decrypted) and WeCom
callbacks decrypted with the app's key; anything else is refused with 403 and changes
nothing. Expose the SMS callback path only to Tencent's addresses at the edge.
Customers' actions become events (which start journeys and open the customer-service
window), profile changes and subscribe-message balances; receipts reach the waiting
enrollment as a signal. The platforms retry: each callback is acted on once.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse

from activities.channels.tencent_sms.receipts import sms_receipts
from activities.channels.tencent_sms.replies import sms_replies
from activities.channels.wechat.events import open_wechat, read_wechat
from activities.channels.wechat.signature import verify_wechat
from activities.channels.wecom.events import open_wecom, read_wecom, verify_wecom_url
from api.deps import DispatcherDep, SettingsDep, StoreDep
from engine.compliance.policy import read_policy
from engine.errors import CallbackNotConfigured, ForgedCallback
from engine.intake.callbacks import act, deliver
from engine.intake.chats import tag_wechat_message

log = logging.getLogger("carepath.callbacks")

router = APIRouter(prefix="/callbacks", tags=["callbacks"])


def _refused(exc: ForgedCallback | CallbackNotConfigured) -> PlainTextResponse:
    if isinstance(exc, CallbackNotConfigured):
        # Our setup is missing: an error the platform retries (and its console shows).
        log.error("%s", exc)
        return PlainTextResponse(str(exc), status_code=503)
    log.warning("refused a callback: %s", exc)
    return PlainTextResponse("invalid signature", status_code=403)


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
    except ForgedCallback as exc:
        return _refused(exc)
    return PlainTextResponse(echostr)


@router.post("/wechat", response_class=PlainTextResponse)
async def wechat_event(
    request: Request,
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    timestamp: str = Query(),
    nonce: str = Query(),
    signature: str | None = Query(None, description="sha1 of token, timestamp and nonce"),
    encrypt_type: str | None = Query(None, description="aes in safe mode"),
    msg_signature: str | None = Query(None, description="safe mode: signature of the body"),
) -> PlainTextResponse:
    """Receive a WeChat callback: follows, scans, messages, consents and receipts."""
    try:
        xml = open_wechat(
            await request.body(),
            settings.channels.wechat,
            timestamp=timestamp,
            nonce=nonce,
            signature=signature,
            encrypt_type=encrypt_type,
            msg_signature=msg_signature,
        )
    except (ForgedCallback, CallbackNotConfigured) as exc:
        return _refused(exc)
    now = datetime.now(UTC)
    # The workspace's opt-out keywords (compliance.yaml, deployed), else the settings'.
    opt_out = read_policy(store, settings.compliance).is_opt_out
    callback = read_wechat(xml, now=now, is_opt_out=opt_out)
    if callback is not None and await act(store, dispatcher, callback, now=now):
        # Once acted on (a retry is not): a text message's keywords add tags.
        await tag_wechat_message(store, dispatcher, callback, now=now)
    # Anything but "success" (or an empty answer) within 5 s makes WeChat retry and
    # show the customer "该公众号暂时无法提供服务".
    return PlainTextResponse("success")


@router.get("/wecom", response_class=PlainTextResponse)
async def wecom_verify(
    settings: SettingsDep,
    msg_signature: str = Query(description="sha1 of token, timestamp, nonce and echostr"),
    timestamp: str = Query(),
    nonce: str = Query(),
    echostr: str = Query(description="encrypted; answered decrypted when valid"),
) -> PlainTextResponse:
    """Answer WeCom's callback-URL check (``echostr`` decrypted when the signature is valid)."""
    try:
        echo = verify_wecom_url(
            settings.channels.wecom,
            msg_signature=msg_signature,
            timestamp=timestamp,
            nonce=nonce,
            echostr=echostr,
        )
    except (ForgedCallback, CallbackNotConfigured) as exc:
        return _refused(exc)
    return PlainTextResponse(echo)


@router.post("/wecom", response_class=PlainTextResponse)
async def wecom_event(
    request: Request,
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    msg_signature: str = Query(description="sha1 of token, timestamp, nonce and the body"),
    timestamp: str = Query(),
    nonce: str = Query(),
) -> PlainTextResponse:
    """Receive a WeCom callback: external contacts added and removed."""
    try:
        xml = open_wecom(
            await request.body(),
            settings.channels.wecom,
            msg_signature=msg_signature,
            timestamp=timestamp,
            nonce=nonce,
        )
    except (ForgedCallback, CallbackNotConfigured) as exc:
        return _refused(exc)
    now = datetime.now(UTC)
    callback = read_wecom(xml, now=now)
    if callback is not None:
        await act(store, dispatcher, callback, now=now)
    return PlainTextResponse("success")


@router.post("/tencent-sms")
async def tencent_sms_status(
    request: Request, store: StoreDep, dispatcher: DispatcherDep
) -> JSONResponse:
    """Receive Tencent Cloud SMS status reports (a JSON array keyed by ``sid``)."""
    await deliver(store, dispatcher, sms_receipts(await request.body()), once=True)
    return JSONResponse({"result": 0, "errmsg": "OK"})


@router.post("/tencent-sms/replies")
async def tencent_sms_replies(
    request: Request, store: StoreDep, dispatcher: DispatcherDep, settings: SettingsDep
) -> JSONResponse:
    """Receive Tencent Cloud SMS replies (上行短信): each is stored as ``sms.replied``;
    an opt-out reply (the workspace's keywords; T, TD, N, R, 退订 by default) withdraws
    SMS marketing consent."""
    now = datetime.now(UTC)
    opt_out = read_policy(store, settings.compliance).is_opt_out
    for callback in sms_replies(await request.body(), opt_out, now=now):
        await act(store, dispatcher, callback, now=now)
    return JSONResponse({"result": 0, "errmsg": "OK"})
