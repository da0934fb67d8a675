"""Who is signed in to the console, and the checks every console request passes.

The session is the store's (``open_session``/``find_session``/``close_session``): the
cookie ``carepath_session`` carries the secret token, the store keeps only its hash.
The cookie is HttpOnly, SameSite=Lax and, unless ``environment`` is ``development``
and the request came over plain http, Secure. It has no Max-Age (it ends with the
browser); the session itself ends after ``SESSION_TTL`` whatever the browser does.

CSRF: every POST, PUT, PATCH and DELETE of a signed-in page sends the session's
``csrf_token``, in the form field ``csrf_token`` or the ``X-CSRF-Token`` header (htmx
sends it from ``hx-headers`` on ``<body>``). The sign-in form has no session yet: it
is a double-submit token, the same random value in a cookie and in the form.

A signed-in request gets a ``Console``: the user, and the API's own ``Caller`` for
that user (``principal_of``), so a staff user sees exactly what a staff key of the
same clinics sees, through the same check.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated, cast
from urllib.parse import urlsplit

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from starlette.responses import Response

from api.console.errors import CsrfRefused, SignInRequired
from api.deps import Caller
from engine.models.users import ConsoleSession, User
from engine.settings import Settings
from engine.store.access import principal_of
from engine.store.service_store import ServiceStore

SESSION_COOKIE = "carepath_session"
LOGIN_CSRF_COOKIE = "carepath_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
#: How long a console session lasts from sign-in.
SESSION_TTL = timedelta(hours=12)
#: Methods that change something: each needs the CSRF token.
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class Console:
    """A signed-in console request: the user, their session and the API's ``Caller``."""

    user: User
    session: ConsoleSession
    token: str
    caller: Caller

    @property
    def csrf_token(self) -> str:
        """The token the session's forms and htmx requests send."""
        return self.session.csrf_token


def store_of(request: Request) -> ServiceStore:
    """The store the app was created with."""
    return cast(ServiceStore, request.app.state.store)


def settings_of(request: Request) -> Settings:
    """The settings the app was created with."""
    return cast(Settings, request.app.state.settings)


def secure_cookies(request: Request) -> bool:
    """Whether cookies are marked Secure: always outside development, and in
    development whenever the request came over https."""
    development = settings_of(request).environment == "development"
    return not development or request.url.scheme == "https"


def set_cookie(request: Request, response: Response, name: str, value: str) -> None:
    """A console cookie: HttpOnly, SameSite=Lax, Secure as ``secure_cookies`` says."""
    response.set_cookie(
        name, value, httponly=True, samesite="lax", secure=secure_cookies(request), path="/"
    )


def safe_next(value: str | None) -> str:
    """``value`` if it is a path on this site (``/...``), else ``/``: never another host.

    Refused: absolute URLs, scheme-relative ``//host``, backslashes (browsers read
    ``/\\host`` as ``//host``) and control characters (browsers drop tabs and newlines,
    so ``/\\t/host`` would become ``//host``).
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return "/"
    return value


def next_of(request: Request) -> str:
    """The request's own path and query, to come back to after signing in (the home
    page for a form that was posted: it cannot be come back to)."""
    if request.method not in ("GET", "HEAD"):
        return "/"
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def same_token(sent: object, expected: str) -> bool:
    """Whether ``sent`` is the expected token (compared in constant time)."""
    if not isinstance(sent, str) or not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


async def signed_in(request: Request) -> Console:
    """The dependency of every console page: the signed-in user; otherwise
    ``SignInRequired`` (a redirect to the sign-in page that comes back here)."""
    token = request.cookies.get(SESSION_COOKIE)
    store = store_of(request)
    session = await run_in_threadpool(store.find_session, token) if token else None
    if token is None or session is None:
        raise SignInRequired(next_of(request))
    return Console(session.user, session, token, Caller(principal_of(session.user), store))


SignedIn = Annotated[Console, Depends(signed_in)]


async def sent_token(request: Request) -> object:
    """The CSRF token a request sent: the header, else the form field."""
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = await request.form()
    return form.get(CSRF_FIELD)


async def checked(request: Request, console: SignedIn) -> Console:
    """The dependency of every console route that changes something: the signed-in
    user, once the request's CSRF token is the session's; ``CsrfRefused`` otherwise."""
    if request.method in UNSAFE_METHODS and not same_token(
        await sent_token(request), console.csrf_token
    ):
        raise CsrfRefused()
    return console


Checked = Annotated[Console, Depends(checked)]


def login_token(request: Request) -> str:
    """The sign-in form's double-submit token: the cookie's, or a new one."""
    current = request.cookies.get(LOGIN_CSRF_COOKIE)
    if current and len(current) >= 32 and current.isascii():
        return current
    return secrets.token_urlsafe(32)


async def check_login_token(request: Request) -> None:
    """``CsrfRefused`` unless the sign-in form sent the token its cookie holds."""
    if not same_token(await sent_token(request), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        raise CsrfRefused()
