"""Retry policy and timeouts of every activity, in one place.

Sends are retried only for ``transient`` failures, which the adapters raise solely
when the provider provably never got the request; anything that may have reached
the provider comes back as a result (``unknown``/``accepted``), never as a retry.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio.common import RetryPolicy

_PERMANENT = ["TemplateError", "NotFound", "ChannelError", "ValidationFailed", "ValueError"]

_SEND = {
    "start_to_close_timeout": timedelta(seconds=60),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=2),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=2),
        maximum_attempts=5,
        non_retryable_error_types=_PERMANENT,
    ),
}
_WRITE = {
    "start_to_close_timeout": timedelta(seconds=30),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        maximum_interval=timedelta(minutes=1),
        maximum_attempts=20,
        non_retryable_error_types=_PERMANENT,
    ),
}
_LOCAL = {
    "start_to_close_timeout": timedelta(seconds=15),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(milliseconds=200),
        maximum_interval=timedelta(seconds=10),
        maximum_attempts=8,
        non_retryable_error_types=_PERMANENT,
    ),
}

POLICIES: dict[str, dict[str, Any]] = {
    "send_channel": _SEND,
    "create_handoff": _WRITE,
    "escalate_handoff": _WRITE,
    "apply_tags": _WRITE,
    "update_profile": _WRITE,
    "channel_order": _LOCAL,
    "evaluate_branch": _LOCAL,
    "read_date": _LOCAL,
    "finish_enrollment": _LOCAL,
    "store_trace": _LOCAL,
}


def for_activity(name: str) -> dict[str, Any]:
    """Timeouts and retry policy for the activity called ``name``."""
    return POLICIES[name]
