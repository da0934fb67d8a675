"""Errors of the rule language (a branch of carepath's tree; see engine/errors.py).

    RulesError
    └── DurationError   a duration or time-of-day string is malformed
"""

from __future__ import annotations


class RulesError(Exception):
    """Raised when a rule cannot be read or evaluated as written."""


class DurationError(RulesError, ValueError):
    """Raised when a duration (``1d12h``) or time of day (``HH:MM``) is malformed."""
