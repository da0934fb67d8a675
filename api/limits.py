"""Request body limits, enforced before a body is read whole.

An ASGI middleware, so it sees every request before routing: a declared
``Content-Length`` over the limit is refused without reading a byte, and a body sent
in chunks (no ``Content-Length``) is counted as it arrives and refused as soon as it
passes the limit, never buffered further. A body within the limit is handed to the
app as it was sent. Both refusals are a 413 problem naming the limit.

Provider callbacks (``/callbacks``) get a smaller limit of their own: the platforms
send short XML or JSON documents, and those paths are reachable without an API key.
The console's workspace upload (``/workspace/upload``, admins only) gets a larger one:
its archive may be up to ``ArchiveLimits.archive_bytes`` (5 MB), plus the form around it.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem
from api.workspace_archive import ArchiveLimits
from engine.settings import ApiSettings

CALLBACKS_PREFIX = "/callbacks"
UPLOAD_PATH = "/workspace/upload"
#: Room for the multipart form around an uploaded archive (boundaries, CSRF field).
FORM_OVERHEAD = 64 * 1024


class BodyLimit:
    """Answer 413 to a request whose body is larger than its path's limit."""

    def __init__(self, app: ASGIApp, limits: ApiSettings) -> None:
        self.app = app
        self.limits = limits

    def limit_of(self, path: str) -> int:
        """The largest body this path accepts, in bytes."""
        if path == CALLBACKS_PREFIX or path.startswith(CALLBACKS_PREFIX + "/"):
            return self.limits.max_callback_body_bytes
        if path == UPLOAD_PATH:
            upload = ArchiveLimits().archive_bytes + FORM_OVERHEAD
            return max(self.limits.max_body_bytes, upload)
        return self.limits.max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_of(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _too_large(limit, scope, receive, send)
            return
        # Read the body here, at most limit + 1 bytes of it, then replay it to the app:
        # the app never holds more than the limit, whatever the client sends.
        chunks: list[bytes] = []
        size = 0
        first: Message | None = None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # e.g. http.disconnect: the app sees it as sent
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _too_large(limit, scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), first, receive), send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server refuses a malformed one before we are called
    return None


def _replay(body: bytes, first: Message | None, receive: Receive) -> Receive:
    """A receive that gives the app the body read so far, then the client's messages."""
    pending: list[Message] = [first] if first is not None else []
    if first is None:
        pending.append({"type": "http.request", "body": body, "more_body": False})

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


async def _too_large(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    detail = (
        f"the request body is larger than this service accepts ({limit} bytes): send "
        "less per request (for example a smaller batch)"
    )
    await problem(413, detail, kind="body-too-large")(scope, receive, send)
