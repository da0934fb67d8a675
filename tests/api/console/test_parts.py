"""The console's parts that need no browser: where ``next`` may lead, the language of a
request, the sign-in throttle's clock, the catalogs, and the dashboard's periods."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.console.i18n import LANGUAGES, LOCALE_DIR, Language, negotiate, read_catalog, translations
from api.console.kpi_cards import KPIS, KpiCard, Period, change_of, period_of
from api.console.session import safe_next
from api.console.templating import TEMPLATES
from api.console.throttle import LoginThrottle


@pytest.mark.parametrize(
    ("asked", "goes_to"),
    [
        ("/", "/"),
        ("/?from=2026-01-01&to=2026-01-31", "/?from=2026-01-01&to=2026-01-31"),
        ("/journeys/payment_recovery", "/journeys/payment_recovery"),
        (None, "/"),
        ("", "/"),
        ("https://evil.example/", "/"),
        ("//evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
    ],
)
def test_next_leads_only_to_paths_of_this_site(asked: str | None, goes_to: str) -> None:
    assert safe_next(asked) == goes_to


@pytest.mark.parametrize(
    ("header", "language"),
    [
        ("", "zh_CN"),
        ("en-US,en;q=0.9", "en"),
        ("zh-TW,zh;q=0.9,en;q=0.8", "zh_CN"),
        ("fr-FR,en;q=0.5,zh;q=0.8", "zh_CN"),
        ("fr-FR,en;q=0.5", "en"),
        ("de, ja", "zh_CN"),
        ("zh;q=0, en", "en"),
        ("en;q=nonsense, zh-CN", "zh_CN"),
    ],
)
def test_the_language_follows_accept_language(header: str, language: str) -> None:
    assert negotiate(header) == language


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_shut_the_username_and_the_address_for_15_minutes() -> None:
    clock = Clock()
    throttle = LoginThrottle(clock=clock)
    keys = throttle.keys("li.ops", "10.0.0.7")
    for _ in range(5):
        assert throttle.retry_after(keys) is None
        throttle.failed(keys)
        clock.now += 60
    # the first failure was 5 minutes ago: 10 minutes to wait
    assert throttle.retry_after(keys) == pytest.approx(600)
    # another user from the same address waits as long; the same user from elsewhere too
    assert throttle.retry_after(throttle.keys("chen.admin", "10.0.0.7")) == pytest.approx(600)
    assert throttle.retry_after(throttle.keys("li.ops", "10.0.0.8")) == pytest.approx(600)
    assert throttle.retry_after(throttle.keys("chen.admin", "10.0.0.8")) is None
    clock.now += 600
    assert throttle.retry_after(keys) is None


def test_a_success_clears_the_usernames_failures_not_the_addresss() -> None:
    throttle = LoginThrottle(clock=Clock())
    for _ in range(4):
        throttle.failed(throttle.keys("li.ops", "10.0.0.7"))
    throttle.succeeded("li.ops")
    throttle.failed(throttle.keys("li.ops", "10.0.0.8"))
    assert throttle.retry_after(throttle.keys("li.ops", "10.0.0.8")) is None
    throttle.failed(throttle.keys("wang.desk", "10.0.0.7"))  # the address's fifth
    assert throttle.retry_after(throttle.keys("chen.admin", "10.0.0.7")) is not None


def _template_messages() -> set[str | tuple[str, ...]]:
    options = {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    found = extract_from_dir(
        str(TEMPLATES),
        method_map=[("**.html", "jinja2.ext:babel_extract")],
        options_map={"**.html": options},
    )
    return {message for _file, _line, message, _comments, _context in found}


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"%\((\w+)\)[sd]", text))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_of_the_templates_is_translated(language: Language) -> None:
    catalog = read_catalog(language)
    wanted = _template_messages()
    assert len(wanted) > 40
    held = {m.id if isinstance(m.id, str) else tuple(m.id): m for m in catalog if m.id}
    assert sorted(map(str, wanted - held.keys())) == []  # extracted, not in the catalog
    assert sorted(map(str, held.keys() - wanted)) == []  # in the catalog, used nowhere
    for key, message in held.items():
        strings = (
            [message.string] if isinstance(message.string, str) else list(message.string or ())
        )
        assert all(strings) and not message.fuzzy, f"{language}: {key!r} is not translated"
        source = key if isinstance(key, str) else key[-1]
        for text in strings:
            assert _placeholders(text) <= _placeholders(source) | {"num"}, (language, key)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_message_in_two_features_catalogs_reads_the_same_in_both(language: Language) -> None:
    seen: dict[str, tuple[str, object]] = {}
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as source:
            for message in read_po(source, locale=language):
                if not message.id:
                    continue
                key = str(message.id)
                first = seen.setdefault(key, (path.name, message.string))
                assert first[1] == message.string, (key, first[0], path.name)


def test_the_catalogs_compile_and_speak_their_language() -> None:
    assert translations("zh_CN").gettext("Traffic cost") == "流量成本"
    assert translations("zh_CN").gettext("Dashboard") == "看板"
    assert translations("en").gettext("Traffic cost") == "Traffic cost"


def test_the_previous_period_has_the_same_length_and_ends_the_day_before() -> None:
    march = Period(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
    assert march.days == 31 and march.end == dt.date(2026, 4, 1)
    assert march.previous() == Period(dt.date(2026, 1, 29), dt.date(2026, 2, 28))
    today = dt.date(2026, 6, 30)
    assert period_of(None, None, today) == (Period(dt.date(2026, 6, 1), today), None)
    assert period_of("2026-06-10", "2026-06-01", today)[1] == "backwards"
    assert period_of("2026-13-01", None, today)[1] == "bad_date"
    assert period_of("2024-01-01", "2026-06-30", today)[1] == "too_long"


def test_changes_are_relative_for_amounts_and_in_points_for_rates() -> None:
    assert change_of("count", 150, 100) == pytest.approx(0.5)
    assert change_of("money", Decimal("90.00"), Decimal("120.00")) == pytest.approx(-0.25)
    assert change_of("rate", 0.125, 0.1) == pytest.approx(0.025)
    assert change_of("count", 5, 0) is None
    assert change_of("money", Decimal("3.00"), None) is None
    cost = next(k for k in KPIS if k.field == "traffic_cost")
    traffic = next(k for k in KPIS if k.field == "traffic")
    assert KpiCard(cost, Decimal("12"), Decimal("10"), 0.2).tone == "bad"
    assert KpiCard(traffic, 12, 10, 0.2).tone == "good"
    assert KpiCard(traffic, 10, 10, 0.0).tone == "flat"
