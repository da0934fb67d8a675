"""``carepath up``: the embedded Temporal dev server, a worker and the API, together.

One process for a clinic's first machine: the dev server runs as a child process
(SQLite under ``var/``, Web UI on 8233), the worker and the API share this event
loop, the workspace is deployed at start, and Ctrl-C stops everything cleanly.
Running enrollments live in Temporal and the database, so a restart resumes them.
In development the channels go to the provider simulators on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from activities.channels.registry import build_adapters
from activities.channels.wecom.client import build_wecom_client
from api.app import create_app
from cli.devserver import DevServer
from cli.migrate import migrate
from engine.dispatch.background import ensure_background
from engine.dispatch.dispatcher import Dispatcher
from engine.errors import CarepathError, ValidationFailed
from engine.settings import Settings, get_settings
from engine.store.records import JourneyVersionInfo
from engine.store.sql import SqlStore
from simulators import ProviderSimulators
from worker import build_worker

_AUTH = '-H "Authorization: Bearer $CAREPATH_KEY" -H "Content-Type: application/json"'
TRY_IT = (
    f'curl -s $CAREPATH_API/v1/identify {_AUTH} -d \'{{"customer": {{"phone": '
    '"13800000000"}, "attributes": {"name": "张三", "clinic_id": "sz-01"}, '
    '"consents": [{"purpose": "service", "granted": true}], "tags": ["预约取消支付"], '
    '"context": {"appointment_id": "A-1", "package_name": "青少年验光套餐", '
    '"appointment_at": "2026-12-01 09:30"}}\'',
    f'curl -s $CAREPATH_API/v1/track {_AUTH} -d \'{{"customer": {{"phone": '
    '"13800000000"}, "event": "consultation.started", "message_id": "demo-1"}\'',
    f'curl -s "$CAREPATH_API/v1/handoffs?queue=optometrist" {_AUTH}',
    f"curl -s -X POST $CAREPATH_API/v1/handoffs/TASK_ID/complete {_AUTH} "
    '-d \'{"outcome": "booked"}\'',
)
"""The README's demo, printed by ``carepath up`` with the key to use."""


class _Server(uvicorn.Server):
    """uvicorn, with Ctrl-C handled by ``up`` (uvicorn would re-raise it afterwards and
    turn a clean stop into a KeyboardInterrupt in the middle of the shutdown)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield

    def stop(self) -> None:
        self.should_exit = True


def main(args: argparse.Namespace) -> int:
    return _run(args)


def _run(args: argparse.Namespace) -> int:
    try:
        return asyncio.run(up(args, get_settings()))
    except ValidationFailed as exc:
        for problem in exc.problems:
            print(str(problem))
        return 2
    except CarepathError as exc:
        print(f"carepath up: {exc}")
        return 1
    except KeyboardInterrupt:
        return 0


async def up(args: argparse.Namespace, settings: Settings) -> int:
    var = Path(args.var)
    var.mkdir(parents=True, exist_ok=True)
    sims = None if args.no_simulators else ProviderSimulators(settings.channels)
    channels = settings.channels
    if sims is not None:
        sims.start()
        channels = sims.channel_settings()
    dev = DevServer(
        var / "temporal.db",
        port=args.temporal_port,
        ui_port=args.ui_port or None,
        log_file=var / "temporal.log",
    )
    print(f"starting Temporal dev server on {dev.address} ...", flush=True)
    client = await dev.start()
    try:
        migrate(settings.database.url)  # the schema first: the worker does not migrate
        store = SqlStore(settings.database.url)
        dispatcher = Dispatcher(client, store, settings.temporal.task_queue)
        deployed = dispatcher.deploy(Path(args.workspace))
        await dispatcher.sync_schedules()
        await dispatcher.sync_segment_schedules()
        _, secret = store.create_api_key(
            "carepath up (development)", ["admin"], [], at=datetime.now(UTC)
        )
        # The API's own platform calls (QR codes) go where the workers' do.
        app = create_app(store, dispatcher, settings.model_copy(update={"channels": channels}))
        if sims is not None:  # receipts come back the way the platforms send them
            api = f"http://127.0.0.1:{args.port}"
            sims.wechat.configure(callback_url=f"{api}/callbacks/wechat")
            sims.sms.configure(callback_url=f"{api}/callbacks/tencent-sms")
        worker = build_worker(
            client,
            store,
            build_adapters(channels),
            settings.temporal.task_queue,
            wecom=build_wecom_client(channels, tokens=store),
        )
        server = _Server(uvicorn.Config(app, host="127.0.0.1", port=args.port, log_level="warning"))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, server.stop)
        async with worker:
            await ensure_background(client, settings.temporal.task_queue)
            serving = asyncio.create_task(server.serve())
            # The banner's curl lines must work the moment they are printed: wait until
            # the API listens (or failed to start, e.g. the port is taken).
            while not server.started and not serving.done():
                await asyncio.sleep(0.05)
            if server.started:
                _banner(args, dev, deployed, secret, sims, settings)
            await serving
        print("stopped: worker and API shut down; Temporal stopping ...", flush=True)
    finally:
        dev.stop()
        if sims is not None:
            sims.stop()
    return 0


def _banner(
    args: argparse.Namespace,
    dev: DevServer,
    deployed: list[JourneyVersionInfo],
    secret: str,
    sims: ProviderSimulators | None,
    settings: Settings,
) -> None:
    api = f"http://127.0.0.1:{args.port}"
    lines = [
        "",
        "carepath is up",
        f"  API          {api}  (docs: {api}/docs)",
        f"  Temporal     {dev.address}" + (f"  (Web UI: {dev.ui_url})" if dev.ui_url else ""),
        f"  database     {settings.database.url}",
        f"  deployed     {', '.join(f'{d.journey_id} v{d.version}' for d in deployed)}",
    ]
    if sims is not None:
        lines.append(
            f"  simulators   WeChat {sims.wechat.base_url}  WeCom {sims.wecom.base_url}  "
            f"SMS {sims.sms.base_url}"
        )
    lines += [
        f"  admin key    {secret}   (shown once; make more with `carepath keys create`)",
        "",
        "try it (payment recovery: booked, payment cancelled, then an online consultation):",
        f"  export CAREPATH_KEY={secret} CAREPATH_API={api}",
        *(f"  {line}" for line in TRY_IT),
        "",
        "Ctrl-C stops everything; running enrollments resume at the next start.",
    ]
    print("\n".join(lines), flush=True)
