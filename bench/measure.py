"""What the benchmarks measure with and print beside their figures: CPU per process of
the stack (from /proc, Linux), progress lines, percentiles, and what the machine and
the store were, since other work on the machine skews every figure."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path

from sqlalchemy import make_url

__all__ = ["CpuMeter", "Progress", "machine", "percentile", "store_name"]


def _cpu_seconds(pid: int, tree: bool = False) -> float | None:
    """utime + stime of a process (``tree``: and of its living children, such as
    uvicorn's workers), from /proc (Linux), in seconds."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    for child in _children(pid) if tree else []:
        total += _cpu_seconds(child, tree=True) or 0.0
    return total


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            kids += [int(c) for c in (task / "children").read_text().split()]
    return kids


class CpuMeter:
    """Cores used by each process of the stack (driver, API, worker, Temporal)."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self._start: dict[str, float | None] = {}
        self._wall = 0.0

    def start(self) -> CpuMeter:
        self._start = {
            name: _cpu_seconds(pid, tree=name == "api") for name, pid in self.pids.items()
        }
        self._wall = time.perf_counter()
        return self

    def report(self) -> str:
        """``driver 0.31 cores, api 0.52, worker 0.63, temporal 0.61`` since start()."""
        wall = max(time.perf_counter() - self._wall, 1e-9)
        parts = []
        for name, pid in self.pids.items():
            now, then = _cpu_seconds(pid, tree=name == "api"), self._start.get(name)
            if now is not None and then is not None:
                parts.append(f"{name} {(now - then) / wall:.2f}")
        return "cores: " + ", ".join(parts)

    def seconds(self) -> float:
        """CPU seconds all the stack's processes used since start()."""
        total = 0.0
        for name, pid in self.pids.items():
            now, then = _cpu_seconds(pid, tree=name == "api"), self._start.get(name)
            if now is not None and then is not None:
                total += now - then
        return total


class Progress:
    """Prints a line every ``every`` completions."""

    def __init__(self, label: str, total: int, every: int = 50) -> None:
        self.label, self.total, self.every = label, total, every
        self.done = 0
        self.t0 = time.perf_counter()

    def tick(self) -> None:
        self.done += 1
        if self.done % self.every == 0 or self.done == self.total:
            elapsed = time.perf_counter() - self.t0
            print(
                f"  {self.label}: {self.done}/{self.total} in {elapsed:.1f}s "
                f"({self.done / elapsed:.1f}/s)",
                flush=True,
            )


def machine() -> str:
    """``2 cores, load 0.31 0.50 0.62``: other work on the machine skews every figure."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, load {load}"


def store_name(database_url: str | None) -> str:
    """What the store runs on, without a password."""
    if not database_url:
        return "sqlite (temp file)"
    return make_url(database_url).render_as_string(hide_password=True)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile (``pct`` in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))
    return ordered[int(rank) - 1]
