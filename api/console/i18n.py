"""The console's languages: Babel catalogs read at start, and the language of a request.

The catalogs are ``locale/<lang>/LC_MESSAGES/*.po`` beside this module, one file per
feature, read as one. They are
compiled to an in-memory ``.mo`` when the console starts (Babel's ``pofile`` and
``mofile``), so there is no build step and no compiled file in the repository. The
message ids are English; ``zh_CN`` is the default language, ``en`` the other one.

A request's language is its ``lang`` cookie (set by the switch in the page header),
else the first of ``Accept-Language`` we have, else Chinese.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Literal, get_args

from babel import Locale
from babel.messages import Catalog, mofile, pofile
from babel.support import Translations
from starlette.requests import Request

Language = Literal["zh_CN", "en"]
LANGUAGES: tuple[Language, ...] = get_args(Language)
DEFAULT_LANGUAGE: Language = "zh_CN"
#: The cookie the language switch sets.
LANG_COOKIE = "lang"
LOCALE_DIR = Path(__file__).parent / "locale"


def read_catalog(language: Language) -> Catalog:
    """The language's messages: every ``.po`` file of its ``LC_MESSAGES`` folder (one
    per feature: ``messages.po`` for the frame and sign-in, then one per page) in one
    catalog."""
    merged: Catalog | None = None
    for path in sorted((LOCALE_DIR / language / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as source:
            catalog = pofile.read_po(source, locale=language, domain="messages")
        if merged is None:
            merged = catalog
            continue
        for message in catalog:
            if message.id:
                merged[message.id] = message
    if merged is None:
        raise FileNotFoundError(f"no catalog for {language} in {LOCALE_DIR}")
    return merged


@cache
def translations(language: Language) -> Translations:
    """The language's catalog, compiled in memory (once per process)."""
    compiled = BytesIO()
    mofile.write_mo(compiled, read_catalog(language))
    compiled.seek(0)
    return Translations(compiled, domain="messages")


def html_lang(language: Language) -> str:
    """The BCP 47 tag for the ``lang`` attribute: ``zh-CN``, ``en``."""
    return language.replace("_", "-")


def endonym(language: Language) -> str:
    """The language's name in itself (Babel's locale data): 中文, English."""
    return Locale.parse(language).get_language_name(language) or language


def as_language(value: str | None) -> Language | None:
    """``value`` if it names one of the console's languages."""
    for language in LANGUAGES:
        if value == language:
            return language
    return None


def negotiate(accept_language: str) -> Language:
    """The first language of an ``Accept-Language`` header we have (by q-value, then
    order); any Chinese variant reads as ``zh_CN``. Chinese when none matches."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(accept_language.split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if tag and quality > 0:
            ranked.append((-quality, position, tag.strip().lower()))
    for _quality, _position, tag in sorted(ranked):
        primary = tag.split("-")[0].split("_")[0]
        if primary == "zh":
            return "zh_CN"
        if primary == "en":
            return "en"
    return DEFAULT_LANGUAGE


def language_of(request: Request) -> Language:
    """The request's language: the ``lang`` cookie, else ``Accept-Language``."""
    chosen = as_language(request.cookies.get(LANG_COOKIE))
    if chosen is not None:
        return chosen
    return negotiate(request.headers.get("accept-language", ""))
