"""Provider callbacks: what customers do on WeChat and WeCom, and delivery receipts.

These carry no API key (the platforms cannot send one). WeChat callbacks are checked
against the configured token's signature (in safe mode also decrypted; with a key set,
safe mode is required) and WeCom callbacks decrypted with the app's key; both must be
signed within ``channels.callback_window_seconds`` of our clock and use each nonce
once. Tencent signs no SMS callback: its URLs carry our secret (``?token=``), and
``channels.sms.callback_sources`` may limit where they come from. Anything else is
refused with 403 and changes nothing; an SMS body that cannot be read, with 422.
Customers' actions become events (which start journeys and open the customer-service
window), profile changes and subscribe-message balances; receipts reach the waiting
enrollment as a signal. The platforms retry: each callback is acted on once.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from activities.channels.tencent_sms.callback_token import verify_sms_callback
from activities.channels.tencent_sms.receipts import sms_receipts
from activities.channels.tencent_sms.replies import sms_replies
from activities.channels.wechat.events import open_wechat, read_wechat
from activities.channels.wechat.signature import check_fresh, verify_wechat
from activities.channels.wecom.events import open_wecom, read_wecom, verify_wecom_url
from api.deps import DispatcherDep, SettingsDep, StoreDep
from api.errors import problem_responses
from engine.compliance.policy import read_policy
from engine.errors import CallbackNotConfigured, ForgedCallback
from engine.intake.callbacks import act, claim_nonce, deliver
from engine.intake.chats import tag_wechat_message
from engine.settings import Settings

log = logging.getLogger("carepath.callbacks")

router = APIRouter(prefix="/callbacks", tags=["callbacks"])

_PLAIN: dict[str, Any] = {"text/plain": {"schema": {"type": "string"}}}
#: What a callback may answer besides success, documented on every callback route:
#: the platforms read plain text, so refusals are plain text, not problems.
REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {
        "description": "Forged, stale or replayed: the signature (SMS: token or source "
        "address) did not match, the timestamp is outside the window, or the nonce was "
        "used with another body; the text says which",
        "content": _PLAIN,
    },
    503: {"description": "Not configured here (token or key missing)", "content": _PLAIN},
    # A query parameter the platform always sends is missing: not a platform's request.
    **problem_responses(422),
}
#: A POSTed callback is also refused (413, a problem) when larger than
#: ``api.max_callback_body_bytes``.
POSTED = {**REFUSALS, **problem_responses(413)}


def _refused(exc: ForgedCallback | CallbackNotConfigured) -> PlainTextResponse:
    if isinstance(exc, CallbackNotConfigured):
        # Our setup is missing: an error the platform retries (and its console shows).
        log.error("%s", exc)
        return PlainTextResponse(str(exc), status_code=503)
    log.warning("refused a callback: %s", exc)
    # What was wrong, not how to get it right: no secret is in these texts.
    return PlainTextResponse(str(exc), status_code=403)


@router.get("/wechat", response_class=PlainTextResponse, responses=REFUSALS)
async def wechat_verify(
    settings: SettingsDep,
    signature: str = Query(description="sha1 of token, timestamp and nonce"),
    timestamp: str = Query(),
    nonce: str = Query(),
    echostr: str = Query(description="echoed back when the signature is valid"),
) -> PlainTextResponse:
    """Answer WeChat's server-address check (echo ``echostr`` when the signature is valid)."""
    try:
        check_fresh(timestamp, now=datetime.now(UTC), window_seconds=_window(settings))
        verify_wechat(settings.channels.wechat.token, signature, timestamp, nonce)
    except ForgedCallback as exc:
        return _refused(exc)
    return PlainTextResponse(echostr)


@router.post("/wechat", response_class=PlainTextResponse, responses=POSTED)
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
    body, now = await request.body(), datetime.now(UTC)
    try:
        check_fresh(timestamp, now=now, window_seconds=_window(settings))
        xml = open_wechat(
            body,
            settings.channels.wechat,
            timestamp=timestamp,
            nonce=nonce,
            signature=signature,
            encrypt_type=encrypt_type,
            msg_signature=msg_signature,
        )
        await claim_nonce(store, "wechat", timestamp, nonce, body, now=now)
    except (ForgedCallback, CallbackNotConfigured) as exc:
        return _refused(exc)
    # The workspace's opt-out keywords (compliance.yaml, deployed), else the settings'.
    # A read of the store: in a thread, off the event loop.
    opt_out = (await asyncio.to_thread(read_policy, store, settings.compliance)).is_opt_out
    callback = read_wechat(xml, now=now, is_opt_out=opt_out)
    if callback is not None and await act(store, dispatcher, callback, now=now):
        # Once acted on (a retry is not): a text message's keywords add tags.
        await tag_wechat_message(store, dispatcher, callback, now=now)
    # Anything but "success" (or an empty answer) within 5 s makes WeChat retry and
    # show the customer "该公众号暂时无法提供服务".
    return PlainTextResponse("success")


@router.get("/wecom", response_class=PlainTextResponse, responses=REFUSALS)
async def wecom_verify(
    settings: SettingsDep,
    msg_signature: str = Query(description="sha1 of token, timestamp, nonce and echostr"),
    timestamp: str = Query(),
    nonce: str = Query(),
    echostr: str = Query(description="encrypted; answered decrypted when valid"),
) -> PlainTextResponse:
    """Answer WeCom's callback-URL check (``echostr`` decrypted when the signature is valid)."""
    try:
        check_fresh(timestamp, now=datetime.now(UTC), window_seconds=_window(settings))
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


@router.post("/wecom", response_class=PlainTextResponse, responses=POSTED)
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
    body, now = await request.body(), datetime.now(UTC)
    try:
        check_fresh(timestamp, now=now, window_seconds=_window(settings))
        xml = open_wecom(
            body,
            settings.channels.wecom,
            msg_signature=msg_signature,
            timestamp=timestamp,
            nonce=nonce,
        )
        await claim_nonce(store, "wecom", timestamp, nonce, body, now=now)
    except (ForgedCallback, CallbackNotConfigured) as exc:
        return _refused(exc)
    callback = read_wecom(xml, now=now)
    if callback is not None:
        await act(store, dispatcher, callback, now=now)
    return PlainTextResponse("success")


def _window(settings: Settings) -> int:
    return settings.channels.callback_window_seconds


#: The SMS callbacks' query: the secret of the URLs registered with Tencent.
TokenQuery = Annotated[
    str | None,
    Query(
        description="the secret registered with the callback URL "
        "(CAREPATH_CHANNELS__SMS__CALLBACK_TOKEN)"
    ),
]
SMS_ANSWERS = {**POSTED, **problem_responses(422)}


@router.post("/tencent-sms", responses=SMS_ANSWERS)
async def tencent_sms_status(
    request: Request,
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    token: TokenQuery = None,
) -> Response:
    """Receive Tencent Cloud SMS status reports (a JSON array keyed by ``sid``)."""
    client = request.client.host if request.client else None
    try:
        verify_sms_callback(settings.channels.sms, token, client)
    except ForgedCallback as exc:
        return _refused(exc)
    # Read whole before anything is acted on: a bad report refuses the body (422).
    receipts = sms_receipts(await request.body())
    await deliver(store, dispatcher, receipts, once=True)
    return JSONResponse({"result": 0, "errmsg": "OK"})


@router.post("/tencent-sms/replies", responses=SMS_ANSWERS)
async def tencent_sms_replies(
    request: Request,
    store: StoreDep,
    dispatcher: DispatcherDep,
    settings: SettingsDep,
    token: TokenQuery = None,
) -> Response:
    """Receive Tencent Cloud SMS replies (上行短信): each of a known customer is stored as
    ``sms.replied``; an opt-out reply (the workspace's keywords; T, TD, N, R, 退订 by
    default) withdraws SMS marketing consent. Unknown numbers create no one."""
    client = request.client.host if request.client else None
    try:
        verify_sms_callback(settings.channels.sms, token, client)
    except ForgedCallback as exc:
        return _refused(exc)
    now = datetime.now(UTC)
    # A read of the store: in a thread, off the event loop.
    opt_out = (await asyncio.to_thread(read_policy, store, settings.compliance)).is_opt_out
    for callback in sms_replies(await request.body(), opt_out, now=now):
        await act(store, dispatcher, callback, now=now)
    return JSONResponse({"result": 0, "errmsg": "OK"})
