"""A worker refuses to start on a namespace without the enrollment search attributes:
``missing_search_attributes`` names them, on the real dev server."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from google.protobuf.duration_pb2 import Duration
from temporalio.api.workflowservice.v1 import RegisterNamespaceRequest

from cli.devserver import DevServer, free_port
from engine.dispatch.visibility import missing_search_attributes

pytestmark = pytest.mark.e2e


async def test_a_namespace_without_the_search_attributes_is_named(tmp_path: Path) -> None:
    dev = DevServer(tmp_path / "temporal.db", port=free_port(), ui_port=None)
    client = await dev.start()
    try:
        # The dev server registers them in its default namespace.
        assert await missing_search_attributes(client, "default") == []
        retention = Duration()
        retention.FromTimedelta(timedelta(days=1))
        await client.workflow_service.register_namespace(
            RegisterNamespaceRequest(
                namespace="bare", workflow_execution_retention_period=retention
            )
        )
        assert sorted(await missing_search_attributes(client, "bare")) == [
            "CarepathJourney",
            "CarepathStatus",
            "CarepathStep",
            "CarepathVersion",
        ]
    finally:
        dev.stop()
