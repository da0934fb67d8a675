"""``carepath up`` as a user runs it: starts everything, answers, stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from cli.devserver import free_port

pytestmark = pytest.mark.e2e
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "eye-clinic"


def start(tmp: Path, api: int, temporal: int) -> subprocess.Popen[str]:
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


def test_up_serves_and_stops_cleanly_then_starts_again(tmp_path: Path) -> None:
    api, temporal = free_port(), free_port()
    for run in (1, 2):
        proc = start(tmp_path, api, temporal)
        try:
            banner = read_banner(proc)
            text = "\n".join(banner)
            assert f"http://127.0.0.1:{api}" in text and f"127.0.0.1:{temporal}" in text
            assert "payment_recovery v1" in text  # redeploying unchanged keeps v1
            key = next(line.split()[2] for line in banner if "admin key" in line)
            health = httpx.get(f"http://127.0.0.1:{api}/healthz")
            assert health.json() == {"status": "ok"}
            journeys = httpx.get(
                f"http://127.0.0.1:{api}/v1/journeys", headers={"Authorization": f"Bearer {key}"}
            ).json()
            assert {j["id"] for j in journeys} >= {"payment_recovery", "orthok_followup"}
        finally:
            proc.send_signal(signal.SIGINT)
            code = proc.wait(timeout=30)
            assert proc.stdout is not None
            proc.stdout.close()
            assert code == 0, f"run {run} did not stop cleanly"
        assert not port_open(temporal) and not port_open(api)
