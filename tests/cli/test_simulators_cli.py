"""``carepath simulators``: standalone simulators a worker and an API can share."""

from __future__ import annotations

import json
import signal
import subprocess
import sys

from activities.channels.base import Outcome
from activities.channels.registry import build_adapters
from engine.settings import ChannelSettings
from tests.activities.channels.conftest import make_request


def test_the_simulators_run_until_ctrl_c_and_say_how_to_reach_them() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "cli", "simulators"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        exported = ""
        for line in process.stdout:
            if "export CAREPATH_CHANNELS=" in line:
                exported = line.split("=", 1)[1].strip().strip("'")
                break
        settings = ChannelSettings.model_validate(json.loads(exported))
        assert settings.sms.endpoint.startswith("127.0.0.1:")
        # The real SDK reaches them with those settings.
        result = build_adapters(settings)["sms"].send(make_request("sms"))
        assert result.outcome is Outcome.ACCEPTED, result
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=15) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
