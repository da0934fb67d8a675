"""The demo eye-clinic chain, as a static description: clinics and their Official
Accounts, doctors, WeCom staff, the schools they screen, content, packages, the mall's
items and the ad campaigns.

Nothing here is random and nothing depends on the date: the population
(``cli.demo.population``) draws customers against this chain, and the writer
(``cli.demo.writer``) stores codes and costs for it. Names are in Chinese where a person
sees them (a report's clinic, a doctor's name), ids are short and stable (``c01``,
``d07``, ``s12``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "CAMPAIGNS",
    "CLINICS",
    "CONTENT",
    "DOCTORS",
    "FORMS",
    "MALL",
    "ORTHOK_PRICE",
    "PACKAGES",
    "SCHOOLS",
    "STAFF",
    "Campaign",
    "Clinic",
    "Content",
    "Doctor",
    "MallItem",
    "Package",
    "School",
    "Staff",
    "doctors_of",
    "staff_of",
]


@dataclass(frozen=True, slots=True)
class Clinic:
    """One clinic of the chain, with its WeChat Official Account."""

    id: str
    name: str
    city: str
    app_id: str
    weight: int  # how many of the chain's customers call it home, relatively


@dataclass(frozen=True, slots=True)
class Doctor:
    id: str
    name: str
    clinic_id: str
    title: str


@dataclass(frozen=True, slots=True)
class Staff:
    """A WeCom member of staff (customer service, optometrist assistant)."""

    id: str
    name: str
    clinic_id: str


@dataclass(frozen=True, slots=True)
class School:
    """A school a clinic screens twice a school year; its QR code's activity is
    ``school_screening_<slug>``."""

    slug: str
    name: str
    clinic_id: str
    doctor_id: str

    @property
    def activity(self) -> str:
        return f"school_screening_{self.slug}"


@dataclass(frozen=True, slots=True)
class Content:
    id: str
    title: str
    content_type: str  # article, poster, video, case, brochure, card, live
    audience: str  # parent, adult or all


@dataclass(frozen=True, slots=True)
class Package:
    """Something bookable; ``amount`` is what the booking costs, in yuan."""

    id: str
    name: str
    amount: Decimal
    audience: str  # parent or adult
    weight: int


@dataclass(frozen=True, slots=True)
class MallItem:
    sku: str
    name: str
    price: Decimal


@dataclass(frozen=True, slots=True)
class Campaign:
    """A paid campaign: its UTM fields, keywords, and what a click costs."""

    utm_source: str
    utm_medium: str
    utm_campaign: str
    terms: tuple[str, ...]
    cpc: Decimal  # yuan per click, on average
    ctr: float  # clicks per impression
    share: float  # of the chain's new customers who arrive through it
    audience: str  # parent or adult: who it reaches


CLINICS: tuple[Clinic, ...] = (
    Clinic("c01", "华夏眼科 北京朝阳店", "北京", "wx_c01", 14),
    Clinic("c02", "华夏眼科 北京海淀店", "北京", "wx_c02", 12),
    Clinic("c03", "华夏眼科 上海徐汇店", "上海", "wx_c03", 13),
    Clinic("c04", "华夏眼科 上海浦东店", "上海", "wx_c04", 11),
    Clinic("c05", "华夏眼科 广州天河店", "广州", "wx_c05", 9),
    Clinic("c06", "华夏眼科 深圳南山店", "深圳", "wx_c06", 10),
    Clinic("c07", "华夏眼科 深圳福田店", "深圳", "wx_c07", 7),
    Clinic("c08", "华夏眼科 杭州西湖店", "杭州", "wx_c08", 6),
    Clinic("c09", "华夏眼科 成都锦江店", "成都", "wx_c09", 6),
    Clinic("c10", "华夏眼科 武汉江汉店", "武汉", "wx_c10", 5),
    Clinic("c11", "华夏眼科 南京鼓楼店", "南京", "wx_c11", 4),
    Clinic("c12", "华夏眼科 西安雁塔店", "西安", "wx_c12", 3),
)

_DOCTOR_NAMES = (
    "王建国", "李秀英", "张伟", "刘洋", "陈静", "杨帆", "赵敏", "黄磊", "周婷", "吴昊",
    "徐丽", "孙浩", "胡娟", "朱明", "高翔", "林芳", "何勇", "郭晶", "马骏", "罗琳",
    "梁宇", "宋佳", "郑凯", "谢婷", "韩雪", "唐亮", "冯晓", "于洋", "董欣", "萧然",
)  # fmt: skip
_TITLES = ("主任医师", "副主任医师", "主治医师", "视光师")

#: 30 doctors, d01..d30: clinics c01..c12 in turn, so the big clinics get three.
DOCTORS: tuple[Doctor, ...] = tuple(
    Doctor(f"d{i + 1:02d}", name, CLINICS[i % len(CLINICS)].id, _TITLES[i % len(_TITLES)])
    for i, name in enumerate(_DOCTOR_NAMES)
)

_STAFF_NAMES = (
    "小王", "小李", "小张", "小刘", "小陈", "小杨", "小赵", "小黄", "小周", "小吴",
    "小徐", "小孙", "小胡", "小朱", "小高", "小林", "小何", "小郭", "小马", "小罗",
)  # fmt: skip

#: 20 WeCom staff, s01..s20, clinics in turn.
STAFF: tuple[Staff, ...] = tuple(
    Staff(f"s{i + 1:02d}", f"{name}(客服)", CLINICS[i % len(CLINICS)].id)
    for i, name in enumerate(_STAFF_NAMES)
)

_SCHOOLS = (
    ("bjsy", "朝阳实验小学", "c01"),
    ("bjhx", "朝阳和平小学", "c01"),
    ("hdzg", "海淀中关村一小", "c02"),
    ("hdrd", "人大附中分校", "c02"),
    ("xhyg", "徐汇育才小学", "c03"),
    ("xhnm", "南模初级中学", "c03"),
    ("pdjq", "浦东建平实验小学", "c04"),
    ("thsy", "天河实验小学", "c05"),
    ("nssy", "南山外国语学校", "c06"),
    ("ftyz", "福田外国语小学", "c07"),
    ("xhxx", "西湖小学", "c08"),
    ("jjsd", "锦江师大附小", "c09"),
    ("jhxx", "江汉实验小学", "c10"),
    ("glxx", "鼓楼实验小学", "c11"),
    ("ytxx", "雁塔第一小学", "c12"),
    ("cygj", "朝阳国际学校", "c01"),
)


def doctors_of(clinic_id: str) -> tuple[Doctor, ...]:
    """The clinic's doctors (every clinic has at least two)."""
    return tuple(d for d in DOCTORS if d.clinic_id == clinic_id)


def staff_of(clinic_id: str) -> tuple[Staff, ...]:
    """The clinic's WeCom staff (every clinic has at least one)."""
    return tuple(s for s in STAFF if s.clinic_id == clinic_id)


SCHOOLS: tuple[School, ...] = tuple(
    School(slug, name, clinic, doctors_of(clinic)[i % len(doctors_of(clinic))].id)
    for i, (slug, name, clinic) in enumerate(_SCHOOLS)
)

CONTENT: tuple[Content, ...] = (
    Content("a-myopia-101", "孩子近视了怎么办?家长必读", "article", "parent"),
    Content("a-orthok-faq", "角膜塑形镜(OK镜)十问十答", "article", "parent"),
    Content("a-outdoor", "每天户外两小时,守护孩子视力", "article", "parent"),
    Content("a-screen-time", "网课时代的用眼习惯", "article", "parent"),
    Content("a-lasik-guide", "近视手术前你需要知道的事", "article", "adult"),
    Content("a-dry-eye", "干眼症的日常护理", "article", "adult"),
    Content("p-summer-check", "暑期青少年视力检查季", "poster", "parent"),
    Content("p-lasik-month", "近视手术咨询月", "poster", "adult"),
    Content("v-orthok-fitting", "OK镜验配全过程", "video", "parent"),
    Content("v-smile-surgery", "全飞秒手术是怎样进行的", "video", "adult"),
    Content("c-orthok-case", "一位初二学生的OK镜配戴记录", "case", "parent"),
    Content("c-lasik-case", "程序员的近视手术经历", "case", "adult"),
    Content("b-clinic-intro", "华夏眼科服务手册", "brochure", "all"),
    Content("k-member-card", "会员权益卡", "card", "all"),
    Content("l-doctor-live", "医生直播:青少年近视防控", "live", "parent"),
    Content("l-surgery-live", "医生直播:近视手术答疑", "live", "adult"),
)

PACKAGES: tuple[Package, ...] = (
    Package("teen_refraction", "青少年验光套餐", Decimal("298.00"), "parent", 40),
    Package("cycloplegic", "散瞳验光", Decimal("198.00"), "parent", 25),
    Package("orthok_assessment", "角膜塑形镜验配评估", Decimal("300.00"), "parent", 20),
    Package("myopia_review", "近视防控复查", Decimal("150.00"), "parent", 15),
    Package("surgery_exam", "近视手术术前检查", Decimal("580.00"), "adult", 45),
    Package("smile_surgery", "全飞秒激光手术", Decimal("16800.00"), "adult", 10),
    Package("icl_consult", "ICL晶体植入评估", Decimal("880.00"), "adult", 10),
    Package("dry_eye", "干眼综合检查", Decimal("268.00"), "adult", 35),
)

#: What an ortho-k lens costs when it is fitted (``orthok.fitted``), in yuan.
ORTHOK_PRICE = Decimal("6800.00")

MALL: tuple[MallItem, ...] = (
    MallItem("glasses-blue", "防蓝光眼镜", Decimal("399.00")),
    MallItem("glasses-kids", "儿童框架眼镜", Decimal("699.00")),
    MallItem("eye-patch", "蒸汽护眼贴", Decimal("59.00")),
    MallItem("lens-solution", "隐形眼镜护理液", Decimal("88.00")),
    MallItem("orthok-care", "OK镜护理套装", Decimal("268.00")),
    MallItem("eye-drops", "人工泪液", Decimal("45.00")),
)

FORMS: dict[str, str] = {
    "parent": "vision_feedback",
    "adult": "surgery_consult",
}


def _campaign(
    source: str, name: str, terms: str, cpc: str, ctr: float, share: float, who: str
) -> Campaign:
    return Campaign(source, "cpc", name, tuple(terms.split()), Decimal(cpc), ctr, share, who)


CAMPAIGNS: tuple[Campaign, ...] = (
    _campaign("baidu", "近视手术_品牌词", "近视手术 全飞秒", "9.80", 0.031, 0.09, "adult"),
    _campaign("baidu", "青少年近视_通用词", "角膜塑形镜 儿童配镜", "6.50", 0.024, 0.08, "parent"),
    _campaign("dianping", "门店推广_验光", "儿童配镜", "3.20", 0.045, 0.06, "parent"),
    _campaign("dianping", "门店推广_手术", "近视手术", "4.10", 0.038, 0.03, "adult"),
    _campaign("douyin", "暑期护眼_信息流", "角膜塑形镜", "1.90", 0.012, 0.04, "parent"),
)
