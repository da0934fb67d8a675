"""Factories: small workspaces and scenarios written to disk, as operators write them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from cli.simulation import SimulationResult, simulate
from engine.contracts.journey import CancelSignal, RunOptions
from engine.store.sql import SqlStore

SERVICE_MESSAGE = {
    "id": "notice",
    "purpose": "service",
    "wechat_template": {
        "template_id": "TM1",
        "data": {"thing1": "{{ context.item | default('x') }}"},
    },
    "wechat_text": {"text": "您好{{ customer.name }}"},
    "wecom": {"text": "您好{{ customer.name }}"},
    "sms": {
        "template_id": "100",
        "sign_name": "某某眼科",
        "text": "{1}您好,请查看预约。",
        "params": ["{{ customer.name }}"],
    },
    "phone": {"script": "请致电{{ customer.name }}"},
}

CUSTOMER = {
    "id": "c-1",
    "attributes": {"name": "张三", "phone": "+8613800000000", "clinic_id": "sz-01"},
    "identities": {
        "wechat_openid": "o-1",
        "wecom_external_userid": "wm-1",
        "wecom_owner_userid": "staff-1",
    },
    "follows_wechat": True,
}


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    # JSON is YAML: keeps the factories free of a YAML writer.
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def workspace(
    root: Path,
    journeys: list[dict[str, Any]],
    messages: list[dict[str, Any]] | None = None,
    segments: list[dict[str, Any]] | None = None,
) -> Path:
    for j in journeys:
        write(root / "journeys" / f"{j['id']}.yaml", j)
    for m in messages if messages is not None else [SERVICE_MESSAGE]:
        write(root / "messages" / f"{m['id']}.yaml", m)
    for s in segments or []:
        write(root / "segments" / f"{s['id']}.yaml", s)
    return root


def scenario(root: Path, journey_id: str, name: str = "scenario", **fields: Any) -> Path:
    data: dict[str, Any] = {
        "journey": f"../journeys/{journey_id}.yaml",
        "start": "2026-03-02T10:00:00+08:00",
        "customer": CUSTOMER,
    }
    data.update(fields)
    return write(root / "scenarios" / f"{name}.yaml", data)


async def run(
    env: WorkflowEnvironment, path: Path, options: RunOptions | None = None
) -> SimulationResult:
    return await simulate(path, keep_env=env, options=options)


def kinds(result: SimulationResult) -> list[str]:
    """The trace as 'step:kind' strings, for compact assertions."""
    return [f"{e.get('step')}:{e['kind']}" for e in result.as_json()["trace"]]


def entries(result: SimulationResult, kind: str) -> list[dict[str, Any]]:
    """The trace entries of one kind, as printed."""
    return [e for e in result.as_json()["trace"] if e["kind"] == kind]


async def cancel_running(env: WorkflowEnvironment, store: SqlStore) -> None:
    """End the store's running enrollments through their workflows. Never terminate: a
    terminated run's pending timer stops the shared test server from skipping time for
    later tests."""
    for record in store.list_enrollments(status="running", limit=1000):
        handle = env.client.get_workflow_handle(record.id)
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            try:
                await handle.signal("cancel", CancelSignal(reason="test finished"))
            except RPCError as error:
                # It completed between the describe and the signal: nothing to end.
                if error.status != RPCStatusCode.NOT_FOUND:
                    raise
                continue
            await handle.result()
