"""What the demo chain did over the history: when each school was screened, when the
doctors went live, and the QR and contact-me codes that brought people in.

Drawn once per run from the seed and the anchor (``World.build``); every customer is
then drawn against the same world.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from random import Random

from cli.demo.calendar import HISTORY_DAYS, Calendar
from cli.demo.chain import CLINICS, CONTENT, DOCTORS, SCHOOLS, Content, Doctor, School, staff_of
from engine.models.attribution import QrCodeRecord, encode_scene

__all__ = ["LiveStream", "Screening", "World"]

#: Days between two screenings of one school (twice a school year, compressed).
_SCREENING_GAP = (28, 60)
#: Days between two live streams of the chain.
_LIVE_EVERY = 14


@dataclass(frozen=True, slots=True)
class Screening:
    """A school's screening days (day numbers of the calendar, one or two)."""

    school: School
    days: tuple[int, ...]

    @property
    def code_id(self) -> str:
        return f"q-{self.school.slug}"


@dataclass(frozen=True, slots=True)
class LiveStream:
    day: int
    doctor: Doctor
    content: Content
    activity: str  # live_<YYYYMMDD>

    @property
    def code_id(self) -> str:
        return f"q-{self.activity}"


@dataclass(frozen=True, slots=True)
class World:
    seed: int
    calendar: Calendar
    screenings: tuple[Screening, ...]
    lives: tuple[LiveStream, ...]
    codes: dict[str, QrCodeRecord]  # by id

    @classmethod
    def build(cls, seed: int, calendar: Calendar) -> World:
        rng = Random(f"{seed}:world")
        screenings = tuple(_screening(rng, calendar, school) for school in SCHOOLS)
        lives = _lives(calendar)
        codes = _codes(calendar, screenings, lives)
        return cls(seed, calendar, screenings, lives, {c.id: c for c in codes})

    def wecom_code(self, clinic_id: str) -> QrCodeRecord:
        """The clinic's contact-me code at the front desk."""
        return self.codes[f"w-{clinic_id}"]


def _weekday(calendar: Calendar, day: int) -> int:
    """The day, moved forward to a school day (Monday to Friday)."""
    while calendar.date_of(day).weekday() >= 5:
        day += 1
    return day


def _screening(rng: Random, calendar: Calendar, school: School) -> Screening:
    first = _weekday(calendar, rng.randrange(2, 120))
    second = _weekday(calendar, first + rng.randrange(*_SCREENING_GAP))
    days = (first, second) if second < HISTORY_DAYS else (first,)
    return Screening(school, days)


def _lives(calendar: Calendar) -> tuple[LiveStream, ...]:
    live_content = [c for c in CONTENT if c.content_type == "live"]
    out: list[LiveStream] = []
    for n, day in enumerate(range(6, HISTORY_DAYS, _LIVE_EVERY)):
        doctor = DOCTORS[(n * 7) % len(DOCTORS)]
        activity = f"live_{calendar.date_of(day):%Y%m%d}"
        out.append(LiveStream(day, doctor, live_content[n % len(live_content)], activity))
    return tuple(out)


def _codes(
    calendar: Calendar, screenings: tuple[Screening, ...], lives: tuple[LiveStream, ...]
) -> list[QrCodeRecord]:
    """The codes carepath would have created (``POST /v1/qrcodes``) for the screenings,
    the live streams and each clinic's front desk; scenes spell out their fields."""
    codes: list[QrCodeRecord] = []

    def wechat(id: str, name: str, fields: dict[str, str], made: datetime) -> None:
        scene = encode_scene(dict(fields))
        codes.append(
            QrCodeRecord(id=id, kind="wechat", name=name, scene=scene, created_at=made, **fields)
        )

    for screening in screenings:
        school = screening.school
        fields = {
            "channel": "qrcode",
            "activity": school.activity,
            "clinic": school.clinic_id,
            "doctor": school.doctor_id,
        }
        made = calendar.midnight(screening.days[0]) - timedelta(days=3)
        wechat(screening.code_id, f"{school.name} 视力筛查", fields, made)
    for live in lives:
        fields = {
            "channel": "live",
            "activity": live.activity,
            "clinic": live.doctor.clinic_id,
            "doctor": live.doctor.id,
        }
        made = calendar.midnight(live.day) - timedelta(days=2)
        wechat(live.code_id, f"{live.doctor.name} 直播", fields, made)
    for clinic in CLINICS:
        fields = {"channel": "wecom", "activity": "desk", "clinic": clinic.id}
        codes.append(
            QrCodeRecord(
                id=f"w-{clinic.id}",
                kind="wecom_contact_me",
                name=f"{clinic.name} 前台企业微信",
                scene=encode_scene(dict(fields)),
                staff=[s.id for s in staff_of(clinic.id)],
                permanent=True,
                created_at=(calendar.start - timedelta(days=1)).astimezone(UTC),
                **fields,
            )
        )
    return codes
