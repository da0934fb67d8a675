"""Enrollments per second: the server's ceiling, carepath, and a hand-written workflow.

    python -m bench.enroll [--n 200] [--concurrency 50] [--database-url URL]

One run, one dev server, three measurements with ``--concurrency`` workflows in
flight at a time:

(a) ``Trivial`` workflows, start to completion: the server's ceiling.
(b) carepath: a deployed three-step journey (send an SMS, wait for an event, hand off
    to staff, exit) driven entirely through the HTTP API: enroll, send the awaited
    event through ``/v1/track`` once the SMS reached the simulator, complete the
    handoff task once it shows in ``GET /v1/handoffs?queue=bench``.
(c) ``HandWrittenJourney`` doing the same with the same activities, driven through the
    SDK and the store directly.

Rates are enrollments closed per second from the first start to the last close.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bench.histories import history_counts, shapes
from bench.measure import Progress, machine, percentile, store_name
from bench.stack import BENCH_MESSAGE, BENCH_MESSAGE_YAML, SmsWatcher, Stack, running_stack
from bench.staff import HandoffCompleter, StoreCompleter
from engine.contracts.journey import (
    EnrollmentResult,
    EventSignal,
    SendInput,
    TraceEntry,
)

JOURNEY = "bench_three_steps"
MESSAGE = BENCH_MESSAGE
EVENT = "bench.reply"
REPLY_AFTER = 0.2  # seconds from the SMS reaching the provider to the customer's reply
TIMEOUT = 300.0  # a phase that has not finished by then is reported as stuck

JOURNEY_YAML = """\
id: bench_three_steps
trigger: {api: true}
steps:
  - id: remind
    send: {message: bench_notice, channels: [sms]}
  - id: reply
    wait_for: {event: bench.reply, timeout: 10m}
  - id: call
    handoff: {queue: bench}
  - id: done
    exit: handed_off
"""


def write_workspace(root: Path) -> Path:
    """The benchmark journey and its message, as an operator would write them."""
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "messages").mkdir(parents=True, exist_ok=True)
    (root / "journeys" / f"{JOURNEY}.yaml").write_text(JOURNEY_YAML, encoding="utf-8")
    (root / "messages" / f"{MESSAGE}.yaml").write_text(BENCH_MESSAGE_YAML, encoding="utf-8")
    return root


@dataclass
class Phase:
    """What one measurement found."""

    label: str
    n: int
    elapsed: float
    latencies: list[float]
    cpu: str
    workflow_id: str
    closed: list[str]  # workflow ids in the order they closed
    cpu_seconds: float  # of every process of the stack (driver, API, worker, Temporal)

    @property
    def rate(self) -> float:
        return self.n / self.elapsed

    def line(self) -> str:
        p50, p99 = percentile(self.latencies, 50), percentile(self.latencies, 99)
        return (
            f"{self.label:<13} {self.rate:6.1f}/s  ({self.n} in {self.elapsed:.1f}s; "
            f"each start->close p50 {p50:.2f}s p99 {p99:.2f}s; {self.cpu})"
        )


async def run_phase(
    stack: Stack,
    label: str,
    n: int,
    concurrency: int,
    one: Callable[[int], Awaitable[str]],
) -> Phase:
    """Run ``one(i)`` for i < n, ``concurrency`` at a time; each returns its workflow id."""
    gate = asyncio.Semaphore(concurrency)
    progress = Progress(label, n)
    latencies: list[float] = []
    ids: list[str] = []

    async def slot(i: int) -> None:
        async with gate:
            t0 = time.perf_counter()
            ids.append(await one(i))
            latencies.append(time.perf_counter() - t0)
        progress.tick()

    cpu = stack.cpu()
    t0 = time.perf_counter()
    try:
        await asyncio.wait_for(asyncio.gather(*(slot(i) for i in range(n))), TIMEOUT)
    except TimeoutError:
        print(f"  ! {label}: only {progress.done}/{n} closed within {TIMEOUT:.0f}s; failures:")
        for failure in stack.failures[-5:]:
            print(f"    {failure}")
        raise
    elapsed = time.perf_counter() - t0
    return Phase(label, n, elapsed, latencies, cpu.report(), ids[0], ids, cpu.seconds())


# ---- (a) the ceiling ----------------------------------------------------------------


async def trivial(stack: Stack, n: int, concurrency: int, tag: str) -> Phase:
    async def one(i: int) -> str:
        handle = await stack.client.start_workflow(
            "Trivial", id=f"bench-trivial-{tag}-{i}", task_queue=stack.task_queue
        )
        await handle.result()
        return handle.id

    return await run_phase(stack, "trivial", n, concurrency, one)


# ---- (b) carepath through the API -----------------------------------------------------


async def carepath(
    stack: Stack, phones: dict[str, str], concurrency: int, watcher: SmsWatcher
) -> Phase:
    order = list(phones)
    results: list[EnrollmentResult] = []

    async def one(i: int) -> str:
        phone = order[i]
        path = f"/v1/journeys/{JOURNEY}/enrollments"
        r = await stack.call("POST", path, json={"customer": {"phone": phone}})
        handle = stack.client.get_workflow_handle(
            r.json()["enrollment_id"], result_type=EnrollmentResult
        )
        await watcher.message_to(phone)
        await asyncio.sleep(REPLY_AFTER)
        body = {
            "customer": {"phone": phone},
            "event": EVENT,
            "properties": {},
            "message_id": uuid.uuid4().hex,
        }
        await stack.call("POST", "/v1/track", json=body)
        results.append(await handle.result())
        return handle.id

    completer = HandoffCompleter(stack)
    polling = asyncio.create_task(completer.run())
    try:
        phase = await run_phase(stack, "carepath", len(order), concurrency, one)
    finally:
        polling.cancel()
    odd = [r for r in results if r.status != "completed" or r.exit_reason != "handed_off"]
    if odd:
        print(f"  ! {len(odd)} enrollments ended otherwise, e.g. {odd[0]}")
    return phase


# ---- (c) the hand-written yardstick -------------------------------------------------


async def handwritten(
    stack: Stack,
    customers: dict[str, str],
    version: int,
    concurrency: int,
    watcher: SmsWatcher,
    tag: str,
) -> Phase:
    order = list(customers)

    async def one(i: int) -> str:
        phone = order[i]
        wid = f"bench-handwritten-{tag}-{i}"
        now = datetime.now(UTC)
        # What the interpreter hands send_channel at its first step, pending trace included.
        send = SendInput(
            enrollment_id=wid,
            journey_id=JOURNEY,
            version=version,
            customer_id=customers[phone],
            step="remind",
            now=now,
            trace=[TraceEntry(seq=1, at=now, step="remind", kind="send", detail=MESSAGE)],
            message=MESSAGE,
            channel="sms",
            idempotency_key=f"{wid}:remind:sms:1.0",
        )
        handle = await stack.client.start_workflow(
            "HandWrittenJourney", send, id=wid, task_queue=stack.task_queue, result_type=str
        )
        await watcher.message_to(phone)
        await asyncio.sleep(REPLY_AFTER)
        event = EventSignal(name=EVENT, at=datetime.now(UTC), message_id=uuid.uuid4().hex)
        await handle.signal("event", event)
        await handle.result()
        return wid

    completer = StoreCompleter(stack)
    polling = asyncio.create_task(completer.run())
    try:
        return await run_phase(stack, "hand-written", len(order), concurrency, one)
    finally:
        polling.cancel()


async def main(
    n: int, concurrency: int, database_url: str | None, phases: str, api_workers: int
) -> None:
    tag = uuid.uuid4().hex[:6]
    print(f"bench.enroll: n={n}, concurrency={concurrency}, {machine()}; starting ...", flush=True)
    done: list[Phase] = []
    async with (
        running_stack(database_url, api_workers) as stack,
        SmsWatcher(stack.sims) as watcher,
    ):
        version = stack.deploy(write_workspace(stack.tmp / "workspace"))[JOURNEY]
        t0 = time.perf_counter()
        ours = await stack.identify([f"+86139{i:08d}" for i in range(n)], concurrency)
        theirs = await stack.identify([f"+86137{i:08d}" for i in range(n)], concurrency)
        took = time.perf_counter() - t0
        print(f"  identified {2 * n} customers in {took:.1f}s ({2 * n / took:.0f}/s, untimed)")
        await trivial(stack, min(n, 10), concurrency, f"{tag}-warm")  # imports, connections

        if "a" in phases:
            print("(a) Trivial workflows, start -> completion", flush=True)
            done.append(await trivial(stack, n, concurrency, tag))
        if "b" in phases:
            print("(b) carepath journeys through the API", flush=True)
            done.append(await carepath(stack, ours, concurrency, watcher))
            print("  API answer times:\n" + stack.route_report(), flush=True)
        if "c" in phases:
            print("(c) HandWrittenJourney through the SDK", flush=True)
            done.append(await handwritten(stack, theirs, version, concurrency, watcher, tag))

        counts = {p.label: await history_counts(stack, p.workflow_id) for p in done}
        sampled = {p.label: await shapes(stack, p.closed) for p in done}
        failures = list(stack.failures)
        activity_failures = stack.worker.activity_failures()

    print()
    store = store_name(database_url)
    print(
        f"== bench.enroll  n={n}  concurrency={concurrency}  store={store}  "
        f"api processes={api_workers}"
    )
    for phase in done:
        events, tasks, size, kinds = counts[phase.label]
        print(
            f"{phase.line()}\n{'':14}history {events} events, {tasks} workflow tasks, "
            f"{size / 1024:.1f} KiB: {kinds}\n{'':14}sampled histories: {sampled[phase.label]}"
        )
    rates = {p.label: p.rate for p in done}
    if "carepath" in rates and "hand-written" in rates:
        ratio = rates["carepath"] / rates["hand-written"]
        print(f"carepath / hand-written = {ratio:.2f}  (target >= 0.80)")
        # Other work on the machine takes a share of the cores that may differ between
        # the two measurements; CPU per enrollment depends far less on that share.
        per = {p.label: p.cpu_seconds / p.n * 1000 for p in done}
        print(
            f"stack CPU per enrollment: carepath {per['carepath']:.0f} ms, hand-written "
            f"{per['hand-written']:.0f} ms; hand-written / carepath = "
            f"{per['hand-written'] / per['carepath']:.2f}"
        )
    if "carepath" in rates and "trivial" in rates:
        print(f"carepath / trivial      = {rates['carepath'] / rates['trivial']:.2f}")
    print(f"API errors retried: {len(failures)}" + (f", e.g. {failures[0]}" if failures else ""))
    if activity_failures:
        print(activity_failures)


def cli() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.enroll",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=200, help="enrollments per measurement")
    parser.add_argument("--concurrency", type=int, default=50, help="workflows in flight")
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL (default: a SQLite temp file)"
    )
    parser.add_argument(
        "--api-workers", type=int, default=1, help="API processes (uvicorn --workers)"
    )
    parser.add_argument(
        "--phases", default="abc", help="which measurements, e.g. b to profile carepath alone"
    )
    parser.add_argument(
        "--sandbox-journeys",
        action="store_true",
        help="run the journey interpreter in Temporal's sandbox, as the yardstick runs "
        "(CAREPATH_TEMPORAL__SANDBOX_JOURNEYS=true for the worker): a like-for-like runner",
    )
    args = parser.parse_args()
    if args.sandbox_journeys:  # the worker process inherits this environment
        os.environ["CAREPATH_TEMPORAL__SANDBOX_JOURNEYS"] = "true"
    asyncio.run(main(args.n, args.concurrency, args.database_url, args.phases, args.api_workers))


if __name__ == "__main__":
    cli()
