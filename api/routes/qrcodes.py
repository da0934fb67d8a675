"""QR codes: parameterized WeChat QR codes and WeCom contact-me codes for attribution."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Annotated, Literal, cast

from fastapi import APIRouter, Depends, Query, Request, status
from fastapi.concurrency import run_in_threadpool

from activities.channels.tokens import TokenCache
from activities.channels.wechat.client import OfficialAccountClient, build_official_account_client
from activities.channels.wechat.qrcodes import create_wechat_qrcode
from activities.channels.wecom.client import WeComClient, build_wecom_client
from activities.channels.wecom.contact_way import create_contact_way
from api.deps import Admin, SettingsDep, StoreDep
from api.errors import problem_responses
from api.schemas.qrcodes import (
    MAX_EXPIRE_SECONDS,
    QrCodeCreate,
    QrCodePublic,
    WeChatQrCreate,
    WeComContactMeCreate,
)
from engine.errors import Conflict
from engine.models.attribution import QrCodeRecord
from engine.store.service_store import ServiceStore

router = APIRouter(prefix="/qrcodes", tags=["qrcodes"])


class _Clients:
    """The platform clients of one app, built on first use (tokens shared in the store)."""

    def __init__(self) -> None:
        self.wechat: OfficialAccountClient | None = None
        self.wecom: WeComClient | None = None


async def get_clients(request: Request) -> _Clients:
    clients = getattr(request.app.state, "qr_clients", None)
    if clients is None:
        clients = request.app.state.qr_clients = _Clients()
    return cast(_Clients, clients)


ClientsDep = Annotated[_Clients, Depends(get_clients)]


def _tokens(store: ServiceStore) -> TokenCache:
    """The SQL store keeps the access tokens every process shares (tokens.py)."""
    return cast(TokenCache, store)


def _public(code: QrCodeRecord, counts: dict[str, int] | None = None) -> QrCodePublic:
    counts = counts or {}
    return QrCodePublic(
        **code.model_dump(),
        scans=counts.get("qr_scan", 0),
        follows=counts.get("follow", 0),
        contacts=counts.get("contact_add", 0),
        first_touches=counts.get("first_touches", 0),
    )


def _check_unused(store: StoreDep, code: QrCodeRecord) -> None:
    """A scene maps back to one attribution: reusing it for other fields is refused."""
    same = store.find_qrcode(code.kind, code.scene)
    if same is not None and same.fields() != code.fields():
        what = "scene" if code.kind == "wechat" else "state"
        raise Conflict(
            f"{what} {code.scene!r} already belongs to code {same.id} ({same.fields()}): "
            f"give another {what}"
        )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QrCodePublic,
    responses=problem_responses(409, 502),
)
async def create_qrcode(
    body: QrCodeCreate,
    caller: Admin,
    store: StoreDep,
    settings: SettingsDep,
    clients: ClientsDep,
) -> QrCodePublic:
    """Create a WeChat QR code or a WeCom contact-me code; its scans, follows and
    contacts are attributed to its channel, activity, clinic and doctor."""
    now = datetime.now(UTC)
    fields = {
        "id": f"Q-{secrets.token_hex(6)}",
        "name": body.name,
        "channel": body.channel,
        "activity": body.activity,
        "clinic": body.clinic,
        "doctor": body.doctor,
        "created_at": now,
    }
    if isinstance(body, WeChatQrCreate):
        assert body.scene is not None  # set by the schema
        code = QrCodeRecord(kind="wechat", scene=body.scene, permanent=body.permanent, **fields)
        await run_in_threadpool(_check_unused, store, code)
        if clients.wechat is None:
            clients.wechat = build_official_account_client(settings.channels, tokens=_tokens(store))
        expire = None if body.permanent else body.expire_seconds or MAX_EXPIRE_SECONDS
        ticket = await run_in_threadpool(
            create_wechat_qrcode, clients.wechat, body.scene, expire_seconds=expire
        )
        code = code.model_copy(
            update={
                "ticket": ticket.ticket,
                "url": ticket.url,
                "image_url": ticket.image_url,
                "expires_at": None
                if ticket.expire_seconds is None
                else now + timedelta(seconds=ticket.expire_seconds),
            }
        )
    else:
        assert isinstance(body, WeComContactMeCreate) and body.state is not None
        code = QrCodeRecord(kind="wecom_contact_me", scene=body.state, staff=body.staff, **fields)
        await run_in_threadpool(_check_unused, store, code)
        if clients.wecom is None:
            clients.wecom = build_wecom_client(settings.channels, tokens=_tokens(store))
        remark = (body.name or "")[:30] or None  # WeCom caps the remark at 30 characters
        way = await run_in_threadpool(
            partial(
                create_contact_way,
                clients.wecom,
                body.state,
                body.staff,
                remark=remark,
                skip_verify=body.skip_verify,
            )
        )
        code = code.model_copy(
            update={"config_id": way.config_id, "image_url": way.qr_code, "permanent": True}
        )
    await run_in_threadpool(store.create_qrcode, code)
    return _public(code)


@router.get("", response_model=list[QrCodePublic])
def list_qrcodes(
    caller: Admin,
    store: StoreDep,
    kind: Literal["wechat", "wecom_contact_me"] | None = Query(None, description="only these"),
    limit: int = Query(100, ge=1, le=1000, description="at most this many, newest first"),
) -> list[QrCodePublic]:
    """The codes created, newest first, with their scans, follows, contacts and first touches."""
    return [_public(code, counts) for code, counts in store.list_qrcodes(kind, limit)]
