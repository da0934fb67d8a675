"""Errors of the rule language, under a root of their own.

``rules`` imports nothing of carepath's, so RulesError does not derive from
``engine.errors.CarepathError``: it is a second, separate tree, drawn here and beside
carepath's in engine/errors.py (which also says how the API answers it).

RulesError
├── DurationError       a duration or time-of-day string is malformed
└── SegmentCycleError   segments refer to each other in a circle
"""

from __future__ import annotations


class RulesError(Exception):
    """Raised when a rule cannot be read or evaluated as written."""


class DurationError(RulesError, ValueError):
    """Raised when a duration (``1d12h``) or time of day (``HH:MM``) is malformed."""


class SegmentCycleError(RulesError):
    """Raised when segment rules refer to each other in a circle (``a -> b -> a``)."""

    def __init__(self, cycle: list[str]) -> None:
        self.cycle = cycle
        super().__init__(
            "segments refer to each other in a circle: "
            + " -> ".join(cycle)
            + "; change one of these segment rules so the circle is broken"
        )
