"""The language switch in the page header: ``GET /language?lang=en&next=/``.

It sets the ``lang`` cookie for a year and goes back to ``next`` (a path on this site
only). A GET, so it works on the sign-in page and without JavaScript; it changes
nothing but the reader's own preference.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from api.console.i18n import LANG_COOKIE, as_language
from api.console.session import safe_next, secure_cookies

router = APIRouter(include_in_schema=False)

ONE_YEAR = 365 * 24 * 3600


@router.get("/language")
async def switch_language(
    request: Request,
    lang: Annotated[str | None, Query(max_length=16)] = None,
    next_url: Annotated[str | None, Query(alias="next", max_length=2048)] = None,
) -> Response:
    """Remember the chosen language, and go back to the page it was chosen on."""
    response = RedirectResponse(safe_next(next_url), 303)
    language = as_language(lang)
    if language is not None:
        response.set_cookie(
            LANG_COOKIE,
            language,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="lax",
            secure=secure_cookies(request),
            path="/",
        )
    return response
