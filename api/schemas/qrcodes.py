"""QR code schemas: parameterized WeChat QR codes and WeCom contact-me codes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

from engine.models.attribution import ATTRIBUTION_FIELDS, encode_scene

#: WeChat: a temporary code lasts at most 30 days; scene_str is 1 to 64 characters.
MAX_EXPIRE_SECONDS = 2_592_000
MAX_SCENE = 64
#: WeCom: a contact-me state is at most 30 characters.
MAX_STATE = 30

_Field = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[^;=\s]+$"),
]


class _Attribution(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, max_length=255, description="what staff call it")
    channel: _Field | None = Field(None, description="e.g. school_event, poster, livestream")
    activity: _Field | None = Field(None, description="the campaign or event, e.g. summer2026")
    clinic: _Field | None = Field(None, description="the clinic it brings customers to")
    doctor: _Field | None = Field(None, description="the doctor it belongs to")

    def fields(self) -> dict[str, str | None]:
        return {k: getattr(self, k) for k in ATTRIBUTION_FIELDS}

    def _scene(self, given: str | None, limit: int, what: str) -> str:
        scene = given or encode_scene(self.fields())
        if not scene:
            raise ValueError(
                f"give at least one of channel, activity, clinic, doctor (or a {what}): "
                "they are what a scan is attributed to"
            )
        if len(scene) > limit:
            raise ValueError(
                f"the {what} {scene!r} is {len(scene)} characters and the platform allows "
                f"{limit}: give a shorter {what}, or shorter channel, activity, clinic and "
                "doctor ids"
            )
        return scene


class WeChatQrCreate(_Attribution):
    """A parameterized Official Account QR code (scans and follows are attributed to it)."""

    kind: Literal["wechat"] = Field(description="wechat")
    permanent: bool = Field(
        False,
        description="a permanent code (the account may hold 100,000) instead of one that expires",
    )
    expire_seconds: int | None = Field(
        None,
        ge=60,
        le=MAX_EXPIRE_SECONDS,
        description=f"lifetime of a temporary code, 60 to {MAX_EXPIRE_SECONDS} s (30 days; "
        "default 30 days)",
    )
    scene: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_SCENE,
        description="scene_str (default: ch=<channel>;ac=<activity>;cl=<clinic>;dr=<doctor>)",
    )

    @model_validator(mode="after")
    def _checked(self) -> Self:
        if self.permanent and self.expire_seconds is not None:
            raise ValueError("a permanent code does not expire: drop expire_seconds")
        self.scene = self._scene(self.scene, MAX_SCENE, "scene")
        return self


class WeComContactMeCreate(_Attribution):
    """A WeCom contact-me code of staff members (contacts added are attributed to it)."""

    kind: Literal["wecom_contact_me"] = Field(description="wecom_contact_me")
    staff: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        min_length=1, max_length=100, description="userids of the staff members it adds"
    )
    state: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_STATE,
        description="state (default: ch=<channel>;ac=<activity>;cl=<clinic>;dr=<doctor>)",
    )
    skip_verify: bool = Field(True, description="customers are added without confirmation")

    @model_validator(mode="after")
    def _checked(self) -> Self:
        self.state = self._scene(self.state, MAX_STATE, "state")
        return self


def _kind(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "WeComContactMeCreate" if kind == "wecom_contact_me" else "WeChatQrCreate"


QrCodeCreate = Annotated[
    Annotated[WeChatQrCreate, Tag("WeChatQrCreate")]
    | Annotated[WeComContactMeCreate, Tag("WeComContactMeCreate")],
    Discriminator(_kind),
]


class QrCodePublic(BaseModel):
    """A code carepath created, with how often it was used."""

    id: str = Field(description="carepath's id of the code")
    kind: Literal["wechat", "wecom_contact_me"] = Field(description="wechat or wecom_contact_me")
    name: str | None = Field(None, description="what staff call it")
    scene: str = Field(description="the WeChat scene_str or WeCom state it carries")
    channel: str | None = Field(None, description="the channel a scan is attributed to")
    activity: str | None = Field(None, description="the activity a scan is attributed to")
    clinic: str | None = Field(None, description="the clinic a scan is attributed to")
    doctor: str | None = Field(None, description="the doctor a scan is attributed to")
    permanent: bool = Field(description="true: never expires (contact-me codes are permanent)")
    expires_at: datetime | None = Field(None, description="when a temporary code stops working")
    ticket: str | None = Field(None, description="WeChat's ticket")
    url: str | None = Field(None, description="what a WeChat code encodes")
    image_url: str | None = Field(None, description="the code's picture")
    config_id: str | None = Field(None, description="WeCom's config_id")
    staff: list[str] = Field(default_factory=list, description="a contact-me code's staff")
    created_at: datetime = Field(description="when carepath created it")
    scans: int = Field(0, description="scans by customers who already followed")
    follows: int = Field(0, description="follows through the code")
    contacts: int = Field(0, description="WeCom contacts added through the code")
    first_touches: int = Field(0, description="customers whose first touch it was")
