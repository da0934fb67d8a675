"""Who a demo customer is: a parent (the patient is their child) or an adult, a home
clinic, a name, a phone number and the other identities they come to have.

Phone numbers are unique within a run: the last eight digits are the customer's index
times a number coprime with 10^8, shifted by the seed, so no two customers share one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from random import Random
from typing import Literal

from cli.demo.chain import CLINICS, Clinic

__all__ = [
    "CHANNELS",
    "PARENT_SHARE",
    "Acquisition",
    "Persona",
    "Profile",
    "draw_profile",
    "is_merge",
    "survivor_of",
]

Persona = Literal["parent", "adult"]
Acquisition = Literal["qrcode", "wechat_follow", "wecom", "web", "live", "none"]

_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方白邹孟熊秦邱江尹薛段雷侯龙史"
    "陶黎贺顾毛郝龚邵万钱严武戴莫孔汤"
)
_GIVEN = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红娥玲芬燕彬鑫宇浩然子轩梓涵"
    "欣怡雨萱佳琪俊杰晨阳思远嘉怡一诺"
)
_PREFIXES = ("138", "139", "136", "137", "135", "150", "151", "158", "186", "187", "188")
#: Acquisition channels per persona, with their weights (school screening codes reach
#: parents; paid search reaches adults weighing surgery). 5% have no touch at all.
CHANNELS: dict[Persona, tuple[tuple[Acquisition, ...], tuple[float, ...]]] = {
    "parent": (
        ("qrcode", "wechat_follow", "wecom", "web", "live", "none"),
        (0.34, 0.14, 0.13, 0.24, 0.10, 0.05),
    ),
    "adult": (
        ("wechat_follow", "wecom", "web", "live", "none"),
        (0.22, 0.16, 0.48, 0.09, 0.05),
    ),
}
#: Of the customers, the parents (the rest are adults).
PARENT_SHARE = 0.62
_CLINIC_WEIGHTS = tuple(c.weight for c in CLINICS)
#: One customer in a hundred had a second identity set first and is merged later.
_MERGE_EVERY = 100
_MERGE_AT = 37


@dataclass(frozen=True, slots=True)
class Profile:
    index: int
    id: str
    persona: Persona
    clinic: Clinic
    name: str
    child_age: int | None
    phone: str
    acquisition: Acquisition
    merge: bool

    @property
    def survivor(self) -> str:
        return survivor_of(self.index)


def customer_id(index: int) -> str:
    return f"demo-{index:06d}"


def is_merge(index: int) -> bool:
    """Whether this customer had a second identity set first (exactly 1%)."""
    return index % _MERGE_EVERY == _MERGE_AT


def survivor_of(index: int) -> str:
    """The id customer ``index`` ends up with: a merge keeps the earlier customer."""
    return f"{customer_id(index)}-wx" if is_merge(index) else customer_id(index)


def phone_of(seed: int, index: int) -> str:
    suffix = (index * 48271 + seed * 7919 + 1_234_567) % 100_000_000
    return f"{_PREFIXES[index % len(_PREFIXES)]}{suffix:08d}"


def openid_of(seed: int, index: int, app_id: str) -> str:
    """A stable openid of the customer within one Official Account (28 characters)."""
    digest = hashlib.sha1(f"{seed}:{index}:{app_id}".encode()).hexdigest()
    return f"o{digest[:27]}"


def _name(rng: Random) -> str:
    given = rng.choice(_GIVEN) + (rng.choice(_GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(_SURNAMES) + given


def draw_profile(rng: Random, seed: int, index: int) -> Profile:
    """The customer's persona, clinic, name, phone and how they first came."""
    persona: Persona = "parent" if rng.random() < PARENT_SHARE else "adult"
    (clinic,) = rng.choices(CLINICS, weights=_CLINIC_WEIGHTS)
    channels, weights = CHANNELS[persona]
    (acquisition,) = rng.choices(channels, weights=weights)
    return Profile(
        index=index,
        id=customer_id(index),
        persona=persona,
        clinic=clinic,
        name=_name(rng),
        child_age=rng.randint(6, 15) if persona == "parent" else None,
        phone=phone_of(seed, index),
        acquisition=acquisition,
        merge=is_merge(index),
    )
