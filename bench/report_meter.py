"""Wall time and CPU time of a query, since other work on the machine skews wall time.

The CPU is this process's (SQLite runs in it) plus, on PostgreSQL, that of the server
processes serving the engines' connections (their ids are taken when each connection
opens; /proc gives their CPU, Linux, in clock ticks of 10 ms). A parallel plan's
worker processes are not counted: PostgreSQL figures are a lower bound of its CPU.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, event

__all__ = ["Meter"]

T = TypeVar("T")
_TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK


class Meter:
    """Measures calls: (wall seconds, CPU seconds, result)."""

    def __init__(self, *engines: Engine) -> None:
        self.backends: set[int] = set()
        for engine in engines:
            if engine.dialect.name == "postgresql":
                event.listen(engine, "connect", self._connected)

    def _connected(self, dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            self.backends.add(int(cursor.fetchone()[0]))
        dbapi_connection.rollback()  # leave no transaction open behind the pool

    def _server_cpu(self) -> float:
        return sum(_cpu(pid) for pid in list(self.backends))

    def measure(self, call: Callable[[], T]) -> tuple[float, float, T]:
        cpu, server = time.process_time(), self._server_cpu()
        wall = time.perf_counter()
        result = call()
        wall = time.perf_counter() - wall
        cpu = time.process_time() - cpu + self._server_cpu() - server
        return wall, cpu, result
