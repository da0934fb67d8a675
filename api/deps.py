"""Dependencies of the routes: the store, the dispatcher, settings, and API-key auth.

Dependencies that only read ``app.state`` are ``async def``: FastAPI runs a plain
``def`` dependency in its threadpool, a thread hop per dependency per request.

Scopes: ``admin`` may do everything; ``ingest`` only the ingest routes; ``staff`` may
read customers and work handoff tasks of its own clinics (``clinics_of``).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, cast

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from engine.dispatch.dispatcher import Dispatcher
from engine.settings import Settings
from engine.store.records import ApiKeyRecord, HandoffTask, Scope
from engine.store.service_store import ServiceStore

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key from `carepath keys create`, sent as `Authorization: Bearer <key>`.",
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
        if hit is not None and now - hit[0] < self.ttl:
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


def require(
    scope: Scope,
) -> Callable[[Request, HTTPAuthorizationCredentials | None], Awaitable[ApiKeyRecord]]:
    """A dependency admitting API keys with ``scope`` (or ``admin``); 401/403 otherwise.

    It reads the store and the key cache off ``app.state`` itself: every sub-dependency
    is solved on every request, and this one guards all of them.
    """

    async def check(request: Request, credentials: Credentials) -> ApiKeyRecord:
        if credentials is None:
            raise HTTPException(401, "send an API key: Authorization: Bearer <key>", _CHALLENGE)
        store = cast(ServiceStore, request.app.state.store)
        key = await key_cache_of(request).find(store, credentials.credentials)
        if key is None:
            raise HTTPException(401, "unknown or revoked API key", _CHALLENGE)
        if "admin" not in key.scopes and scope not in key.scopes:
            held = ", ".join(key.scopes) or "none"
            raise HTTPException(403, f"key {key.name!r} has scope {held}; this needs {scope}")
        return key

    return check


AdminKey = Annotated[ApiKeyRecord, Depends(require("admin"))]
IngestKey = Annotated[ApiKeyRecord, Depends(require("ingest"))]
StaffKey = Annotated[ApiKeyRecord, Depends(require("staff"))]


def clinics_of(key: ApiKeyRecord) -> list[str] | None:
    """The clinics a key may see tasks of; None: every clinic (admin keys)."""
    return None if "admin" in key.scopes else list(key.clinics)


def check_task_clinic(key: ApiKeyRecord, task: HandoffTask) -> None:
    """404 for a task outside the key's clinics, as if it did not exist."""
    clinics = clinics_of(key)
    if clinics is not None and task.clinic not in clinics:
        raise HTTPException(404, f"no handoff task {task.id!r} in your clinics")


def source_of(key: ApiKeyRecord) -> str:
    """How changes made with this key are attributed, e.g. ``api:crm``."""
    return f"api:{key.name}"
