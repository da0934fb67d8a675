"""``carepath up`` as a user runs it: starts everything, answers, stops cleanly on Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from cli.devserver import free_port
from cli.up import TRY_IT
from engine.store.sql import SqlStore

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "eye-clinic"


def start(tmp: Path, api: int, temporal: int, *extra: str) -> subprocess.Popen[str]:
    env = dict(os.environ, CAREPATH_DATABASE__URL=f"sqlite:///{tmp / 'var' / 'carepath.db'}")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cli",
            "up",
            str(EXAMPLES),
            "--var",
            str(tmp / "var"),
            "--port",
            str(api),
            "--temporal-port",
            str(temporal),
            "--ui-port",
            "0",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )


def read_banner(proc: subprocess.Popen[str]) -> list[str]:
    """The lines up to the banner's last; the rest of the output is drained meanwhile."""
    assert proc.stdout is not None
    lines: list[str] = []
    seen = threading.Event()

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:  # keep reading so the child never blocks on a full pipe
            lines.append(line.rstrip())
            if line.startswith("Ctrl-C stops everything"):
                seen.set()
        seen.set()

    threading.Thread(target=drain, daemon=True).start()
    if not seen.wait(60) or not any(x.startswith("Ctrl-C stops") for x in lines):
        raise AssertionError("carepath up did not come up:\n" + "\n".join(lines))
    return lines


def port_open(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_up_serves_stops_cleanly_and_a_running_enrollment_resumes(tmp_path: Path) -> None:
    api, temporal = free_port(), free_port()
    base = f"http://127.0.0.1:{api}"
    enrollment_id = ""
    keys: list[str] = []
    for run in (1, 2):
        proc = start(tmp_path, api, temporal)
        try:
            banner = read_banner(proc)
            text = "\n".join(banner)
            assert base in text and f"127.0.0.1:{temporal}" in text
            assert "payment_recovery v1" in text  # redeploying unchanged keeps v1
            key_file = tmp_path / "var" / "admin-key"
            assert f"admin key    in {key_file}" in text
            key = key_file.read_text().strip()
            assert key not in text  # the secret is in the file, never in the output
            auth = {"Authorization": f"Bearer {key}"}
            assert httpx.get(f"{base}/healthz").json() == {"status": "ok"}
            assert wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200)
            if run == 1:
                body = json.loads(TRY_IT[0].split(" -d ", 1)[1].strip("'"))
                started = httpx.post(f"{base}/v1/identify", json=body, headers=auth).json()
                (enrollment_id,) = started["enrollment_ids"]
                wait_until(lambda e=enrollment_id, a=auth: last_kind(base, e, a) == "wait_for")
            else:
                # The enrollment waited through the restart; the rest of the demo runs.
                event = {
                    "customer": {"phone": "13800000000"},
                    "event": "consultation.started",
                    "message_id": "after-restart",
                }
                tracked = httpx.post(f"{base}/v1/track", json=event, headers=auth).json()
                assert tracked["signalled"] == [enrollment_id]
                task = wait_until(lambda e=enrollment_id, a=auth: open_task(base, e, a))
                done = httpx.post(
                    f"{base}/v1/handoffs/{task['id']}/complete",
                    json={"outcome": "booked"},
                    headers=auth,
                )
                assert done.status_code == 200, done.text
                ended = wait_until(
                    lambda e=enrollment_id, a=auth: status(base, e, a) == "completed"
                )
                assert ended
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=30)
            assert proc.stdout is not None
            proc.stdout.close()
            assert code == 0, f"run {run} did not stop cleanly"
        assert not port_open(temporal) and not port_open(api)
        keys.append(key)
    assert keys[0] == keys[1]  # one admin key, created by the first run only
    store = SqlStore(f"sqlite:///{tmp_path / 'var' / 'carepath.db'}")
    try:
        assert [k.name for k in store.list_api_keys()] == ["carepath up (admin)"]
    finally:
        store.close()
    var = tmp_path / "var"
    assert mode(var) == 0o700
    assert mode(var / "admin-key") == mode(var / "carepath.db") == 0o600
    assert mode(var / "temporal.db") == 0o600


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def wait_until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


def enrollment(base: str, enrollment_id: str, auth: dict[str, str]) -> dict[str, Any]:
    return dict(httpx.get(f"{base}/v1/enrollments/{enrollment_id}", headers=auth).json())


def last_kind(base: str, enrollment_id: str, auth: dict[str, str]) -> str | None:
    trace = enrollment(base, enrollment_id, auth)["trace"]
    return str(trace[-1]["kind"]) if trace else None


def status(base: str, enrollment_id: str, auth: dict[str, str]) -> str:
    return str(enrollment(base, enrollment_id, auth)["status"])


def open_task(base: str, enrollment_id: str, auth: dict[str, str]) -> dict[str, Any] | None:
    tasks = httpx.get(f"{base}/v1/handoffs", params={"queue": "optometrist"}, headers=auth)
    return next((t for t in tasks.json() if t["enrollment_id"] == enrollment_id), None)


def dev_server_pid(parent: int) -> int:
    """The Temporal dev server among ``carepath up``'s child processes (Linux /proc)."""
    for children in Path(f"/proc/{parent}/task").glob("*/children"):
        for pid in children.read_text().split():
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if b"start-dev" in cmdline:
                return int(pid)
    raise AssertionError("no Temporal dev server under carepath up")


def test_a_killed_dev_server_is_restarted_then_up_stops_when_it_keeps_dying(
    tmp_path: Path,
) -> None:
    api, temporal = free_port(), free_port()
    base = f"http://127.0.0.1:{api}"
    proc = start(tmp_path, api, temporal, "--temporal-restarts", "1")
    try:
        lines = read_banner(proc)
        auth = {"Authorization": f"Bearer {(tmp_path / 'var' / 'admin-key').read_text().strip()}"}
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200)
        first = dev_server_pid(proc.pid)
        os.kill(first, signal.SIGKILL)
        down = wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 503, timeout=5)
        assert down and httpx.get(f"{base}/healthz").status_code == 200
        wait_until(lambda: any("restarting it (1 of 1" in line for line in lines))
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200)
        # Temporal works again: an identify with the demo's tag starts the journey.
        body = json.loads(TRY_IT[0].split(" -d ", 1)[1].strip("'"))
        started = httpx.post(f"{base}/v1/identify", json=body, headers=auth).json()
        assert started["enrolled"] == ["payment_recovery:started"], started
        second = dev_server_pid(proc.pid)
        assert second != first
        os.kill(second, signal.SIGKILL)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            proc.wait(timeout=30)
        assert proc.stdout is not None
        proc.stdout.close()
    assert code == 1
    text = "\n".join(lines)
    assert "already restarted 1 time in the last 10 minutes" in text
    assert "stopping everything" in text
    assert not port_open(api) and not port_open(temporal)
