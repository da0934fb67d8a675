"""Attribution: where customers come from, as touches and a first touch set once.

A touch is a QR scan (``qr_scan``), a follow of the Official Account (``follow``), a
WeCom contact added (``contact_add``) or a tracked event that carries ``utm_source``
(``utm_visit``). Every touch is kept (table ``touches``); the first one a customer has
becomes their first touch (``customers.source``) and is never overwritten. The rule
atom ``source`` and ``GET /v1/reports/sources`` read them.

A parameterized code carepath created (``POST /v1/qrcodes``) knows its channel,
activity, clinic and doctor: a scan's ``scene_str`` or a contact's ``state`` is looked
up and the touch gets all four. The scene carepath writes spells them out
(``ch=school_event;ac=summer2026;cl=sz-01;dr=li``), so a scene whose code is not
stored here (made in another environment) is still read back. Any other scene keeps
the platform's own fields only (``{"channel": "wechat_qr", "scene": ...}``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field

__all__ = [
    "ATTRIBUTION_FIELDS",
    "CodeKind",
    "NewTouch",
    "QrCodeRecord",
    "SourceRow",
    "TouchKind",
    "UTM_FIELDS",
    "decode_scene",
    "encode_scene",
    "resolve_touch",
    "utm_touch",
    "utm_touches",
]

ATTRIBUTION_FIELDS: tuple[str, ...] = ("channel", "activity", "clinic", "doctor")
UTM_FIELDS: tuple[str, ...] = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_content",
    "utm_term",
)
TouchKind = Literal["qr_scan", "follow", "contact_add", "utm_visit", "imported"]
CodeKind = Literal["wechat", "wecom_contact_me"]

_KEYS = {"channel": "ch", "activity": "ac", "clinic": "cl", "doctor": "dr"}
_NAMES = {short: name for name, short in _KEYS.items()}
#: The channel a touch has when its code names none.
DEFAULT_CHANNEL: dict[str, str] = {"wechat": "wechat_qr", "wecom_contact_me": "wecom_contact_way"}
#: The channel of a first touch from a page visit with UTM fields.
UTM_CHANNEL = "web"


def encode_scene(fields: Mapping[str, str | None]) -> str:
    """The scene (or state) for a code attributing ``fields``: ``ch=...;ac=...;cl=...;dr=...``."""
    return ";".join(f"{_KEYS[k]}={fields[k]}" for k in ATTRIBUTION_FIELDS if fields.get(k))


def decode_scene(scene: str) -> dict[str, str] | None:
    """The fields a scene written by :func:`encode_scene` spells out; None for any other."""
    out: dict[str, str] = {}
    for part in scene.split(";"):
        key, sep, value = part.partition("=")
        if not sep or key not in _NAMES or not value or _NAMES[key] in out:
            return None
        out[_NAMES[key]] = value
    return out or None


class QrCodeRecord(BaseModel):
    """A code carepath created: what its scene or state attributes, and how to show it."""

    id: str
    kind: CodeKind
    name: str | None = None
    scene: str = Field(description="WeChat scene_str or WeCom state")
    channel: str | None = None
    activity: str | None = None
    clinic: str | None = None
    doctor: str | None = None
    permanent: bool = False
    expires_at: datetime | None = None
    ticket: str | None = None
    url: str | None = None
    image_url: str | None = None
    config_id: str | None = None
    staff: list[str] = Field(default_factory=list)
    created_at: datetime

    def fields(self) -> dict[str, str]:
        """The attribution fields it sets (channel defaulting to the platform's)."""
        out = {k: v for k in ATTRIBUTION_FIELDS if (v := getattr(self, k))}
        out.setdefault("channel", DEFAULT_CHANNEL[self.kind])
        return out


class NewTouch(BaseModel):
    """A touch to record; ``fields`` are the attribution fields (and UTM fields)."""

    message_id: str | None = Field(None, description="the event that brought it (once)")
    kind: TouchKind
    fields: dict[str, Any] = Field(default_factory=dict)
    code_id: str | None = None
    at: datetime


class SourceRow(BaseModel):
    """One line of the source report: customers whose first touch has these fields."""

    channel: str | None = Field(None, description="first-touch channel (when grouped by it)")
    activity: str | None = Field(None, description="first-touch activity (when grouped by it)")
    clinic: str | None = Field(None, description="first-touch clinic (when grouped by it)")
    doctor: str | None = Field(None, description="first-touch doctor (when grouped by it)")
    customers: int = Field(description="customers whose first touch this is")
    touches: int = Field(description="every touch of those customers, the first included")
    converted: int = Field(description="of those customers, how many converted in a journey")


class CodeLookup(Protocol):
    def find_qrcode(self, kind: CodeKind, scene: str) -> QrCodeRecord | None: ...


def resolve_touch(
    store: CodeLookup,
    kind: TouchKind,
    code_kind: CodeKind,
    raw: Mapping[str, Any],
    *,
    at: datetime,
    message_id: str | None,
) -> NewTouch:
    """A callback's touch with the fields its code attributes.

    ``raw`` is what the platform said (``{"channel": "wechat_qr", "scene": "..."}``, or
    ``state`` and ``staff`` for WeCom). A stored code's fields come first, then those its
    scene spells out; the platform's own fields stay where neither says otherwise.
    """
    fields = dict(raw)
    scene = str(raw.get("scene") or raw.get("state") or "")
    code = store.find_qrcode(code_kind, scene) if scene else None
    if code is not None:
        fields.update(code.fields())
        fields["qrcode"] = code.id
    elif scene and (decoded := decode_scene(scene)):
        fields.update(decoded)
    return NewTouch(
        message_id=message_id,
        kind=kind,
        fields=fields,
        code_id=code.id if code is not None else None,
        at=at,
    )


def utm_touch(
    name: str, properties: Mapping[str, Any], *, at: datetime, message_id: str
) -> NewTouch | None:
    """A ``utm_visit`` for a tracked event whose properties carry a ``utm_source``.

    Any event counts (a page view, a form, a mini-program visit): the sender decides by
    passing the UTM fields it read from the landing URL. Cheap when there are none.
    """
    source = properties.get("utm_source")
    if not source or not isinstance(source, str | int):
        return None
    fields: dict[str, Any] = {"channel": UTM_CHANNEL, "event": name}
    for key in UTM_FIELDS:
        value = properties.get(key)
        if value not in (None, ""):
            fields[key] = str(value)[:255]
    # A landing page may name these too (the event model's clinic_id and doctor_id
    # stand for clinic and doctor when those are not given).
    for key, alias in (
        ("activity", ""),
        ("clinic", "clinic_id"),
        ("doctor", "doctor_id"),
        ("content_id", ""),
    ):
        value = properties.get(key, properties.get(alias) if alias else None)
        if isinstance(value, str | int) and value != "":
            fields[key] = str(value)[:128]
    return NewTouch(message_id=message_id, kind="utm_visit", fields=fields, at=at)


class _Event(Protocol):
    customer_id: str
    message_id: str
    name: str
    properties: dict[str, Any]
    at: datetime


def utm_touches(events: Sequence[_Event]) -> list[tuple[str, NewTouch]]:
    """(customer, touch) for each stored event with a ``utm_source``. A repeated event
    is included: its touch is skipped by message id, or recorded now if a failure
    between storing the event and its touch left it out."""
    out: list[tuple[str, NewTouch]] = []
    for event in events:
        if "utm_source" in event.properties:
            touch = utm_touch(
                event.name, event.properties, at=event.at, message_id=event.message_id
            )
            if touch is not None:
                out.append((event.customer_id, touch))
    return out
