"""A one-line progress bar on stderr: customers written of all, events, events/s."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """Redrawn in place (``\\r``) at most every half second, and once at the end."""

    def __init__(self, total: int, stream: TextIO | None = None, every: float = 0.5) -> None:
        self.total = total
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self.started = time.monotonic()
        self._drawn = 0.0

    def update(self, customers: int, events: int, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn < self.every:
            return
        self._drawn = now
        rate = events / max(now - self.started, 1e-9)
        done = customers / self.total if self.total else 1.0
        bar = "#" * int(done * 24)
        self.stream.write(
            f"\r[{bar:<24}] {customers:,}/{self.total:,} customers  "
            f"{events:,} events  {rate:,.0f} events/s "
        )
        self.stream.flush()

    def finish(self, customers: int, events: int) -> None:
        self.update(customers, events, force=True)
        self.stream.write("\n")
        self.stream.flush()
