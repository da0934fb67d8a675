"""The README's curl lines, run with bash against the live stack, do what it says."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import pytest

from cli.up import ADMIN_KEY_FILE, TRY_IT
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.db]
README = Path(__file__).resolve().parents[2] / "README.md"


def readme_curl_lines() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Try the service", 1)[1].split("\n## ", 1)[0]
    return [line for line in section.splitlines() if line.startswith("curl ")]


def test_readme_and_carepath_up_show_the_same_lines() -> None:
    assert readme_curl_lines() == [line.replace("TASK_ID", "<task id>") for line in TRY_IT]


def test_the_readme_reads_the_admin_key_from_the_file_carepath_up_writes() -> None:
    section = README.read_text(encoding="utf-8").split("## Try the service", 1)[1]
    assert f"export CAREPATH_KEY=$(cat var/{ADMIN_KEY_FILE})" in section


async def bash(stack: Stack, line: str) -> Any:
    env = dict(os.environ, CAREPATH_KEY=stack.keys["admin"], CAREPATH_API=stack.base_url)
    # Not subprocess.run: the API answering it runs on this very event loop.
    proc = await asyncio.create_subprocess_exec(
        "bash", "-c", line, env=env, stdout=asyncio.subprocess.PIPE
    )
    out, _ = await proc.communicate()
    assert proc.returncode == 0
    return json.loads(out)


async def test_the_readme_demo(stack: Stack) -> None:
    identify, track, handoffs, complete = TRY_IT
    started = await bash(stack, identify)
    assert started["enrolled"] == ["payment_recovery:started"]
    (enrollment_id,) = started["enrollment_ids"]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while loop.time() < deadline:  # the SMS receipt arrives after 5 s
        view = (
            await stack.http.get(f"/v1/enrollments/{enrollment_id}", headers=stack.headers())
        ).json()
        if view["trace"] and view["trace"][-1]["kind"] == "wait_for":
            break
        await asyncio.sleep(0.2)
    assert (await bash(stack, track))["signalled"] == [enrollment_id]
    task: dict[str, Any] | None = None
    while task is None and loop.time() < deadline:
        tasks = await bash(stack, handoffs)
        task = next((t for t in tasks if t["enrollment_id"] == enrollment_id), None)
        await asyncio.sleep(0.2)
    assert task is not None and task["clinic"] == "sz-01"
    done = await bash(stack, complete.replace("TASK_ID", task["id"]))
    assert done["outcome"] == "booked"
    view = await stack.settle(enrollment_id)
    assert (view["status"], view["exit_reason"]) == ("completed", "done")
