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
import os
import signal
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import uvicorn

from activities.channels.registry import build_adapters
from activities.channels.wecom.client import build_wecom_client
from api.app import create_app
from cli.demo import DemoOptions, load_demo
from cli.demo.counts import customer_count
from cli.demo.progress import Progress
from cli.devserver import DevServer, watch
from cli.first_admin import FIRST_ADMIN_FILE, first_admin
from cli.migrate import migrate
from engine.dispatch.background import ensure_background
from engine.dispatch.dispatcher import Dispatcher
from engine.errors import CarepathError, ValidationFailed
from engine.settings import Settings, get_settings, refuse_development_secrets
from engine.store.records import JourneyVersionInfo
from engine.store.service_store import ServiceStore
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
    refuse_development_secrets(settings)  # production: before anything starts
    var = Path(args.var)
    owner_only_folder(var)
    failed: list[str] = []  # why the watch of Temporal gave up, when it did
    # The simulators stand in for the platforms in development only: in production the
    # channels must reach the real ones.
    simulate = not args.no_simulators and settings.environment != "production"
    sims = ProviderSimulators(settings.channels) if simulate else None
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
        if not args.no_demo and settings.environment != "production":
            first_start_demo(store, Path(args.workspace))
        dispatcher = Dispatcher(client, store, settings.temporal.task_queue)
        deployed = dispatcher.deploy(Path(args.workspace))
        await dispatcher.sync_schedules()
        await dispatcher.sync_segment_schedules()
        key_file, key_created = admin_key(store, var / ADMIN_KEY_FILE)
        console = first_admin(store, var / FIRST_ADMIN_FILE, f"http://127.0.0.1:{args.port}/")
        # The API's own platform calls (QR codes) go where the workers' do; the console's
        # 工作区 validates and deploys the folder deployed here.
        served = {"channels": channels, "workspace_folder": str(Path(args.workspace).resolve())}
        app = create_app(store, dispatcher, settings.model_copy(update=served))
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

        def give_up(why: str) -> None:
            failed.append(why)
            print(f"carepath up: {why}; stopping everything", flush=True)
            server.stop()

        async with worker:
            await ensure_background(client, settings.temporal.task_queue)
            serving = asyncio.create_task(server.serve())
            # The banner's curl lines must work the moment they are printed: wait until
            # the API listens (or failed to start, e.g. the port is taken).
            while not server.started and not serving.done():
                await asyncio.sleep(0.05)
            watching = asyncio.create_task(watch(dev, give_up, restarts=args.temporal_restarts))
            if server.started:
                _banner(args, dev, deployed, (key_file, key_created), sims, settings, console)
            await serving
            watching.cancel()
        print("stopped: worker and API shut down; Temporal stopping ...", flush=True)
    finally:
        dev.stop()
        if sims is not None:
            sims.stop()
    return 1 if failed else 0


def first_start_demo(store: SqlStore, workspace: Path) -> None:
    """On a new database (no customers yet) load the demo chain, so a new user sees
    reports with numbers at once; ``--no-demo`` (and production) leave it empty."""
    if customer_count(store):
        return
    options = DemoOptions(customers=DEMO_CUSTOMERS, seed=1, workspace=workspace)
    progress = Progress(options.customers) if sys.stderr.isatty() else None
    print(f"{load_demo(store, options, progress).line()} (--no-demo: none)", flush=True)


#: People in the demo a first start loads: enough for every report and the experiment to
#: show figures, few enough that the first start stays within seconds (about 20,000
#: events); ``carepath demo-data --customers N`` loads more.
DEMO_CUSTOMERS = 1000

#: The admin key's file under ``var/``: created once, readable by its owner only.
ADMIN_KEY_FILE = "admin-key"
ADMIN_KEY_NAME = "carepath up (admin)"


def owner_only_folder(var: Path) -> None:
    """Create ``var/`` readable by its owner only (it holds the databases and the admin
    key); an existing one open to others is closed, with a message."""
    if not var.exists():
        var.mkdir(mode=0o700, parents=True)
        return
    if var.stat().st_mode & 0o077:
        var.chmod(0o700)
        print(f"{var}/ was readable by others: now owner-only (0700)", flush=True)


def admin_key(store: ServiceStore, path: Path) -> tuple[Path, bool]:
    """The admin key kept in ``path``, created (and written 0600) only when the file is
    missing or its key is no longer usable (revoked, expired, a new database);
    (path, whether it was created now)."""
    if path.exists():
        secret = path.read_text(encoding="utf-8").strip()
        if secret and store.find_api_key(secret) is not None:
            if path.stat().st_mode & 0o077:
                path.chmod(0o600)
            return path, False
    _, secret = store.create_api_key(ADMIN_KEY_NAME, ["admin"], [], at=datetime.now(UTC))
    # Written to a new owner-only file and renamed over the old one: the secret is
    # never in a file others can read, not even for a moment.
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secret + "\n")
    partial.replace(path)
    return path, True


def _banner(
    args: argparse.Namespace,
    dev: DevServer,
    deployed: list[JourneyVersionInfo],
    key: tuple[Path, bool],
    sims: ProviderSimulators | None,
    settings: Settings,
    console: str = "",
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
    key_file, created = key
    made = "created now, " if created else ""
    lines += [
        f"  admin key    in {key_file}  ({made}owner-only; more: `carepath keys create`)",
        *([f"  {console}"] if console else []),  # and its first admin (cli.first_admin)
        "",
        "try it (payment recovery: booked, payment cancelled, then an online consultation):",
        f"  export CAREPATH_KEY=$(cat {key_file}) CAREPATH_API={api}",
        *(f"  {line}" for line in TRY_IT),
        "",
        "Ctrl-C stops everything; running enrollments resume at the next start.",
    ]
    print("\n".join(lines), flush=True)
