"""The console's Jinja2 environment: one per language, with the i18n extension and the
number formats of that language; ``render`` answers a page.

Every visible text goes through gettext in the templates (``{% trans %}``, ``_()``,
new-style, so ``%(name)s`` placeholders are autoescaped); handlers pass data, never
words. Numbers are formatted by Babel for the page's language: money in yuan with two
decimals, rates as percentages.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel.numbers import format_currency, format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from api.console.i18n import (
    LANG_COOKIE,
    LANGUAGES,
    Language,
    endonym,
    html_lang,
    language_of,
    translations,
)

TEMPLATES = Path(__file__).parent / "templates"

#: Scripts only from carepath itself; styles may be set by scripts (ECharts sizes its
#: canvas with inline styles); no framing, forms post only here.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show customers' figures: not kept by the browser or a proxy after sign-out.
    "Cache-Control": "no-store",
}


@cache
def environment(language: Language) -> Environment:
    """The templates with ``language``'s catalog and number formats (built once)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    locale = language
    env.filters["count"] = lambda value: format_decimal(value, format="#,##0", locale=locale)
    env.filters["money"] = lambda value: format_currency(
        Decimal(value), "CNY", format="¤#,##0.00", currency_digits=False, locale=locale
    )
    env.filters["percent"] = lambda value: format_percent(value, format="#,##0.00%", locale=locale)
    env.filters["decimal"] = lambda value: format_decimal(value, format="#,##0.00", locale=locale)
    env.filters["signed"] = lambda value: format_decimal(
        value, format="+#,##0.00;-#,##0.00", locale=locale
    )
    env.filters["signed_percent"] = lambda value: format_percent(
        value, format="+#,##0.0%;-#,##0.0%", locale=locale
    )
    env.globals.update(
        language=language,
        html_lang=html_lang(language),
        languages=[(other, endonym(other), html_lang(other)) for other in LANGUAGES],
        lang_cookie=LANG_COOKIE,
    )
    return env


def load_all() -> None:
    """Read every catalog and template now, so a broken one stops the start."""
    for language in LANGUAGES:
        env = environment(language)
        for name in env.list_templates(extensions=["html"]):
            env.get_template(name)


def render(
    request: Request,
    template: str,
    context: Mapping[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """``template`` in the request's language, with the page's security headers."""
    env = environment(language_of(request))
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    page = env.get_template(template).render(
        {"console": None, "here": here, "path": request.url.path, **(context or {})}
    )
    return HTMLResponse(page, status_code, headers={**PAGE_HEADERS, **(headers or {})})
