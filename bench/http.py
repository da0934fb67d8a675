"""A lean HTTP/1.1 client for the load drivers: keep-alive connections over asyncio
streams, JSON in and out, nothing else.

The drivers share the machine with what they measure. httpx spent about 1.8 ms of
CPU per request here, a third of a core at 400 requests a second; this client spends
a fraction of that, so the figures are the server's and not the driver's.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode


class TransportError(Exception):
    """Raised when a connection fails or the server closes it mid-answer."""


@dataclass
class Reply:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class LeanClient:
    """Requests to one ``host:port``, over at most ``limit`` pooled connections."""

    def __init__(self, host: str, port: int, headers: dict[str, str], limit: int = 200) -> None:
        self.host, self.port = host, port
        self._fixed = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._slots = asyncio.Semaphore(limit)

    async def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        params: dict[str, str] | None = None,
    ) -> Reply:
        if params:
            path = f"{path}?{urlencode(params)}"
        body = b"" if json_body is None else json.dumps(json_body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n{self._fixed}"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        async with self._slots:
            while True:
                pooled = bool(self._idle)
                reader, writer = self._idle.pop() if pooled else await self._open()
                try:
                    writer.write(head.encode() + body)
                    reply, keep = await _read_reply(reader)
                except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                    writer.close()
                    if pooled and isinstance(exc, asyncio.IncompleteReadError) and not exc.partial:
                        # The server closed this idle connection (keep-alive timeout)
                        # before reading the request: send it on another.
                        continue
                    raise TransportError(f"{method} {path}: {type(exc).__name__} {exc}") from exc
                if keep:
                    self._idle.append((reader, writer))
                else:
                    writer.close()
                return reply

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        try:
            return await asyncio.open_connection(self.host, self.port)
        except OSError as exc:
            raise TransportError(f"connect {self.host}:{self.port}: {exc}") from exc

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def _read_reply(reader: asyncio.StreamReader) -> tuple[Reply, bool]:
    """One response (Content-Length or chunked body) and whether the connection stays."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, value = line.split(":", 1)
            headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            chunks.append(chunk[:-2])
        content = b"".join(chunks)
    else:
        content = await reader.readexactly(int(headers.get("content-length", "0")))
    keep = headers.get("connection", "").lower() != "close"
    return Reply(status, content), keep
