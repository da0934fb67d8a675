"""Signing in and out of the console: ``GET``/``POST /login``, ``POST /logout``.

The sign-in form carries a double-submit CSRF token (``session.login_token``); attempts
are rate-limited per username and per client address (``throttle``); a success opens
a store session and sets its cookie, then goes to ``next`` (a path on this site only).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, cast
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.console.session import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL,
    Checked,
    check_login_token,
    login_token,
    safe_next,
    secure_cookies,
    set_cookie,
    settings_of,
    store_of,
)
from api.console.templating import render
from api.console.throttle import LoginThrottle
from engine.models.users import normalise_username

router = APIRouter(include_in_schema=False)

NextText = Annotated[str | None, Query(alias="next", max_length=2048)]


def throttle_of(request: Request) -> LoginThrottle:
    """The process's sign-in throttle (made when the console is mounted)."""
    return cast(LoginThrottle, request.app.state.login_throttle)


@router.get("/login", response_class=HTMLResponse)
async def login_page(request: Request, next_url: NextText = None) -> Response:
    """The sign-in form; a signed-in user goes straight on to ``next``."""
    target = safe_next(next_url)
    token = request.cookies.get(SESSION_COOKIE)
    if token and await run_in_threadpool(store_of(request).find_session, token) is not None:
        return RedirectResponse(target, 303)
    return _form(request, target)


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the password; on success open a session and go on to ``next``."""
    await check_login_token(request)
    form = await request.form()
    username = normalise_username(str(form.get("username") or ""))
    password = str(form.get("password") or "")
    target = safe_next(str(form.get("next") or "/"))
    throttle = throttle_of(request)
    keys = throttle.keys(username, request.client.host if request.client else None)
    wait = throttle.retry_after(keys)
    if wait is not None:
        return _throttled(request, target, username, wait)
    store = store_of(request)
    user = None
    if username and password:
        user = await run_in_threadpool(store.check_password, username, password)
    if user is None:
        throttle.failed(keys)
        return _form(request, target, username=username, error="credentials")
    throttle.succeeded(username)
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        await run_in_threadpool(store.close_session, previous)
    secret, _session = await run_in_threadpool(store.open_session, user.id, SESSION_TTL)
    response = RedirectResponse(target, 303)
    set_cookie(request, response, SESSION_COOKIE, secret)
    _forget(request, response, LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout")
async def logout(request: Request, console: Checked) -> Response:
    """End the session and go to the sign-in page."""
    await run_in_threadpool(store_of(request).close_session, console.token)
    response = RedirectResponse("/login", 303)
    _forget(request, response, SESSION_COOKIE)
    return response


def _form(
    request: Request,
    target: str,
    *,
    username: str = "",
    error: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """The sign-in page, with a fresh or kept double-submit token in form and cookie."""
    token = login_token(request)
    context = {"csrf_token": token, "next": target, "username": username, "error": error}
    response = render(
        request, "login.html", {**context, **extra}, status_code=status_code, headers=headers
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token)
    return response


def _throttled(request: Request, target: str, username: str, wait: float) -> Response:
    """429: the sign-in page saying in how many minutes, and at what time, to retry."""
    zone = ZoneInfo(settings_of(request).compliance.timezone)
    at = datetime.now(UTC).astimezone(zone) + timedelta(seconds=wait)
    return _form(
        request,
        target,
        username=username,
        error="throttled",
        status_code=429,
        headers={"Retry-After": str(math.ceil(wait))},
        retry_minutes=max(1, math.ceil(wait / 60)),
        retry_at=at.strftime("%H:%M"),
    )


def _forget(request: Request, response: Response, name: str) -> None:
    response.delete_cookie(
        name, path="/", secure=secure_cookies(request), httponly=True, samesite="lax"
    )
