"""``carepath simulators``: the provider simulators on their own, for a worker and an
API run as separate processes in development.

Starts the WeChat, WeCom and Tencent Cloud SMS simulators on 127.0.0.1, prints the
``CAREPATH_CHANNELS`` value that points carepath's channels at them (export it for
``python -m worker`` and ``uvicorn --factory api.main:app``), optionally pushes
delivery receipts to an API's callback endpoints, and runs until Ctrl-C.
"""

from __future__ import annotations

import argparse
import signal
import threading

from engine.settings import get_settings
from simulators import ProviderSimulators


def main(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    with ProviderSimulators(get_settings().channels) as sims:
        if args.api:
            api = args.api.rstrip("/")
            sims.wechat.configure(callback_url=f"{api}/callbacks/wechat")
            sims.sms.configure(callback_url=f"{api}/callbacks/tencent-sms")
        lines = [
            "provider simulators are up",
            f"  WeChat  {sims.wechat.base_url}",
            f"  WeCom   {sims.wecom.base_url}",
            f"  SMS     {sims.sms.base_url}",
            f"  receipts pushed to {args.api}" if args.api else "  receipts: not pushed (--api)",
            "point carepath at them:",
            f"  export CAREPATH_CHANNELS='{sims.channel_settings().model_dump_json()}'",
            "Ctrl-C stops them.",
        ]
        print("\n".join(lines), flush=True)
        stop.wait()
    print("simulators stopped", flush=True)
    return 0
