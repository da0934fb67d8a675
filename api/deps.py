"""Dependencies of the routes: the store, the dispatcher, settings, and API-key auth.

Dependencies that only read ``app.state`` are ``async def``: FastAPI runs a plain
``def`` dependency in its threadpool, a thread hop per dependency per request.

Every route under ``/v1`` takes one ``Caller`` (``Admin``, ``Staff`` or ``Ingest``): the
key checked for the route's scope, and the checks of what that key may see
(``caller.customer(...)``, ``.task(...)``, ``.enrollment(...)``, ``.merges(...)``),
which apply the rule of ``engine.store.access`` and answer 404, as if it did not exist,
for data outside the key's clinics.

Scopes: ``admin`` may do everything; ``ingest`` only track, identify and chats;
``staff`` reads customers of its own clinics, records their refusal of automated
marketing, and works handoff tasks of its own clinics (the table is in README's "Keys"
and ``docs/security.md``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import (
    HTTPAuthorizationCredentials,
    HTTPBasic,
    HTTPBasicCredentials,
    HTTPBearer,
)

from engine.dispatch.dispatcher import Dispatcher
from engine.errors import NotFound
from engine.settings import Settings
from engine.store import access
from engine.store.records import ApiKeyRecord, EnrollmentRecord, HandoffTask, MergeRecord, Scope
from engine.store.service_store import ServiceStore

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `carepath keys create`, sent as `Authorization: Bearer <key>`.",
)
# Segment's SDKs send their write key as the Basic user name (an empty password).
basic = HTTPBasic(
    auto_error=False,
    scheme_name="WriteKey",
    description="An ingest key sent as Segment's SDKs send a write key: HTTP Basic, the key "
    "as the user name, no password.",
)


async def get_store(request: Request) -> ServiceStore:
    """The store the app was created with."""
    return cast(ServiceStore, request.app.state.store)


async def get_dispatcher(request: Request) -> Dispatcher:
    """The dispatcher the app was created with."""
    return cast(Dispatcher, request.app.state.dispatcher)


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    return cast(Settings, request.app.state.settings)


StoreDep = Annotated[ServiceStore, Depends(get_store)]
DispatcherDep = Annotated[Dispatcher, Depends(get_dispatcher)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
BasicCredentials = Annotated[HTTPBasicCredentials | None, Depends(basic)]

_CHALLENGE = {"WWW-Authenticate": "Bearer"}

#: How long a found key is trusted without asking the database again: a key created or
#: revoked in another process takes effect here within this many seconds.
KEY_CACHE_SECONDS = 10.0
KEY_CACHE_SIZE = 1000


class KeyCache:
    """Keys found recently, so a busy integration's every request is not a query.

    Only found keys are kept (unknown secrets are asked each time, so random guesses
    cannot fill the cache), at most ``KEY_CACHE_SIZE`` of them.
    """

    def __init__(self, ttl: float = KEY_CACHE_SECONDS) -> None:
        self.ttl = ttl
        self._found: dict[str, tuple[float, ApiKeyRecord]] = {}

    async def find(self, store: ServiceStore, secret: str) -> ApiKeyRecord | None:
        now = time.monotonic()
        hit = self._found.get(secret)
        # A cached key that expired since is refused at once, not up to ttl later.
        if hit is not None and now - hit[0] < self.ttl and hit[1].usable(datetime.now(UTC)):
            return hit[1]
        key = await run_in_threadpool(store.find_api_key, secret)
        if key is None:
            self._found.pop(secret, None)
            return None
        if len(self._found) >= KEY_CACHE_SIZE:
            self._found.clear()
        self._found[secret] = (now, key)
        return key


def key_cache_of(request: Request) -> KeyCache:
    """The app's key cache (one per process)."""
    cache = getattr(request.app.state, "key_cache", None)
    if cache is None:
        cache = request.app.state.key_cache = KeyCache()
    return cast(KeyCache, cache)


@dataclass(frozen=True)
class Caller:
    """Who is calling (the key, checked for the route's scope) and what it may see.

    The checks read the store: routes that are ``async def`` call them through
    ``run_in_threadpool``.
    """

    key: ApiKeyRecord
    store: ServiceStore

    @property
    def source(self) -> str:
        """How changes made by this caller are attributed, e.g. ``api:crm``."""
        return source_of(self.key)

    @property
    def clinics(self) -> list[str] | None:
        """The clinics the caller may see; None: every clinic (admin keys)."""
        return access.clinics_of(self.key)

    def customer(self, customer_id: str) -> str:
        """``customer_id``, if the caller may see that customer; 404 otherwise."""
        return access.visible_customer(self.store, self.key, customer_id)

    def customers(self, customer_ids: Sequence[str]) -> list[str]:
        """Those of ``customer_ids`` the caller may see, in order (``customer``'s check)."""
        return access.visible_customers(self.store, self.key, customer_ids)

    def task(self, task_id: str) -> HandoffTask:
        """The handoff task, if the caller may see it; 404 otherwise."""
        return access.visible_task(self.store, self.key, task_id)

    def check_task(self, task: HandoffTask) -> None:
        """404 for a task (already read) outside the caller's clinics."""
        if not access.may_see_clinic(self.key, task.clinic):
            raise NotFound(f"no handoff task {task.id!r}")

    def enrollment(self, enrollment_id: str) -> EnrollmentRecord:
        """The enrollment, if the caller may see its customer; 404 otherwise."""
        return access.visible_enrollment(self.store, self.key, enrollment_id)

    def merges(self, customer_id: str | None = None) -> list[MergeRecord]:
        """Merges (of ``customer_id``, or all) whose survivor the caller may see."""
        return access.visible_merges(self.store, self.key, customer_id)


def authorize(
    scope: Scope,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[Caller]]:
    """The dependency of every ``/v1`` route: a ``Caller`` whose key has ``scope`` (or
    ``admin``); 401 without a known key, 403 outside the scope.

    It reads the store and the key cache off ``app.state`` itself: every sub-dependency
    is solved on every request, and this one guards all of them.
    """

    async def check(request: Request, credentials: Credentials) -> Caller:
        if credentials is None:
            raise HTTPException(401, "send an API key: Authorization: Bearer <key>", _CHALLENGE)
        return await _caller(request, credentials.credentials, scope, _CHALLENGE)

    return check


async def _caller(request: Request, secret: str, scope: Scope, challenge: dict[str, str]) -> Caller:
    """The ``Caller`` of a key's secret, however it was sent; 401 or 403 otherwise."""
    store = cast(ServiceStore, request.app.state.store)
    key = await key_cache_of(request).find(store, secret)
    if key is None:
        raise HTTPException(401, "unknown or revoked API key", challenge)
    if "admin" not in key.scopes and scope not in key.scopes:
        held = ", ".join(key.scopes) or "none"
        raise HTTPException(403, f"key {key.name!r} has scope {held}; this needs {scope}")
    return Caller(key, store)


_BASIC_CHALLENGE = {"WWW-Authenticate": 'Basic realm="carepath"'}


def authorize_basic(
    scope: Scope,
) -> Callable[
    [Request, HTTPBasicCredentials | None, HTTPAuthorizationCredentials | None],
    Awaitable[Caller],
]:
    """``authorize`` for the Segment-compatible routes: the key as the HTTP Basic user
    name (how Segment's SDKs send a write key), or as a bearer key like every route."""

    async def check(
        request: Request, credentials: BasicCredentials, bearer_credentials: Credentials
    ) -> Caller:
        if credentials is not None and credentials.username:
            return await _caller(request, credentials.username, scope, _BASIC_CHALLENGE)
        if bearer_credentials is not None:
            return await _caller(request, bearer_credentials.credentials, scope, _CHALLENGE)
        raise HTTPException(
            401,
            "send the ingest key as the write key: HTTP Basic, key as user name",
            _BASIC_CHALLENGE,
        )

    return check


Admin = Annotated[Caller, Depends(authorize("admin"))]
Ingest = Annotated[Caller, Depends(authorize("ingest"))]
Staff = Annotated[Caller, Depends(authorize("staff"))]
#: An ingest key sent as a Segment write key (HTTP Basic) or as a bearer key.
WriteKey = Annotated[Caller, Depends(authorize_basic("ingest"))]


def source_of(key: ApiKeyRecord) -> str:
    """How changes made with this key are attributed, e.g. ``api:crm``."""
    return f"api:{key.name}"
