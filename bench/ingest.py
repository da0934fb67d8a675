"""Ingest: events per second through /v1/track, and event-to-SMS latency.

    python -m bench.ingest [--events 2000] [--concurrency 20] [--rate 10] [--seconds 30]
                           [--database-url URL]

Fifty journeys are deployed: 49 listen for events nobody sends, one (``bench_hot``)
starts on ``bench.hot`` and sends an SMS at its first step.

(a) ``page.viewed`` events that start nothing, for a pool of 200 identified customers,
    ``--concurrency`` requests in flight: events accepted per second.
(b) ``bench.hot`` events for fresh customers at ``--rate`` per second for ``--seconds``:
    the time from sending the request to the SMS reaching the simulator (its record
    time minus the request's start), p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from pathlib import Path

from bench.measure import machine, percentile, store_name
from bench.stack import BENCH_MESSAGE_YAML, SmsWatcher, Stack, running_stack

COLD = 49
POOL = 200
DRAIN = 30.0  # seconds to wait for the last SMS after the last hot event
TARGET_RATE = 500
TARGET_P99 = 0.300

JOURNEY_YAML = """\
id: {id}
trigger: {{event: {event}}}
steps:
  - id: remind
    send: {{message: bench_notice, channels: [sms]}}
  - id: done
    exit: sent
"""


def write_workspace(root: Path) -> Path:
    """49 journeys on events nobody sends, and ``bench_hot`` on ``bench.hot``."""
    (root / "journeys").mkdir(parents=True, exist_ok=True)
    (root / "messages").mkdir(parents=True, exist_ok=True)
    (root / "messages" / "bench_notice.yaml").write_text(BENCH_MESSAGE_YAML, encoding="utf-8")
    triggers = {f"bench_cold_{i:02d}": f"bench.cold.{i:02d}" for i in range(COLD)}
    triggers["bench_hot"] = "bench.hot"
    for journey, event in triggers.items():
        text = JOURNEY_YAML.format(id=journey, event=event)
        (root / "journeys" / f"{journey}.yaml").write_text(text, encoding="utf-8")
    return root


def track_body(phone: str, event: str) -> dict[str, object]:
    return {
        "customer": {"phone": phone},
        "event": event,
        "properties": {"path": "/packages/orthok"},
        "message_id": uuid.uuid4().hex,
    }


def spread(values: list[float]) -> str:
    """``p50 12 ms, p99 40 ms, max 55 ms``."""
    p50, p99 = percentile(values, 50), percentile(values, 99)
    return f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {max(values) * 1000:.0f} ms"


async def cold_events(
    stack: Stack, phones: list[str], events: int, concurrency: int, batch: int
) -> None:
    """(a) events that start nothing, as fast as ``concurrency`` requests allow."""
    requests = iter(range(0, events, batch))
    latencies: list[float] = []
    every = max(events // batch // 4, 1)

    async def sender() -> None:
        for start in requests:  # one shared iterator: each request is sent once
            bodies = [
                track_body(phones[i % len(phones)], "page.viewed")
                for i in range(start, min(start + batch, events))
            ]
            body: dict[str, object] = bodies[0] if batch == 1 else {"batch": bodies}
            t0 = time.perf_counter()
            r = await stack.call("POST", "/v1/track", json=body)
            latencies.append(time.perf_counter() - t0)
            if r.json()["enrolled"]:
                raise RuntimeError(f"page.viewed started something: {r.json()}")
            if len(latencies) % every == 0:
                print(f"  {min(len(latencies) * batch, events)}/{events} events", flush=True)

    cpu = stack.cpu()
    t0 = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    elapsed = time.perf_counter() - t0
    rate = events / elapsed
    verdict = "met" if rate >= TARGET_RATE else "MISSED"
    shape = f"{concurrency} requests in flight" + (f", {batch} events each" if batch > 1 else "")
    print(
        f"(a) {rate:.0f} events/s ({events} in {elapsed:.1f}s, {shape}; "
        f"target >= {TARGET_RATE}: {verdict})\n"
        f"    request {spread(latencies)}; {cpu.report()}",
        flush=True,
    )


async def hot_events(stack: Stack, watcher: SmsWatcher, rate: float, seconds: float) -> None:
    """(b) ``bench.hot`` for fresh customers at a steady rate; event -> SMS latency."""
    count = int(rate * seconds)
    started: dict[str, float] = {}  # phone -> wall-clock start of its request
    responses: list[float] = []
    not_enrolled: list[str] = []
    every = max(count // 6, 1)

    async def send(phone: str) -> None:
        started[phone] = time.time()  # the simulator stamps records with time.time()
        t0 = time.perf_counter()
        r = await stack.call("POST", "/v1/track", json=track_body(phone, "bench.hot"))
        responses.append(time.perf_counter() - t0)
        if "bench_hot:started" not in r.json()["enrolled"]:
            not_enrolled.append(f"{phone}: {r.json()}")

    phones = [f"+86136{i:08d}" for i in range(count)]
    cpu = stack.cpu()
    t0 = time.perf_counter()
    requests: list[asyncio.Task[None]] = []
    for i, phone in enumerate(phones):
        # Open loop: each request leaves on schedule, whether or not earlier ones returned.
        await asyncio.sleep(max(0.0, t0 + i / rate - time.perf_counter()))
        requests.append(asyncio.create_task(send(phone)))
        if (i + 1) % every == 0:
            print(f"  {i + 1}/{count} hot events sent, {len(watcher.arrived)} SMS", flush=True)
    await asyncio.gather(*requests)
    sent_for = time.perf_counter() - t0
    try:
        async with asyncio.timeout(DRAIN):
            records = {p: await watcher.message_to(p) for p in phones}
    except TimeoutError:
        records = {p: watcher.arrived[p] for p in phones if p in watcher.arrived}
    latencies = [records[p].at - started[p] for p in records]
    missing = count - len(records)
    p99 = percentile(latencies, 99) if latencies else float("inf")
    verdict = "met" if p99 < TARGET_P99 and not missing else "MISSED"
    print(
        f"(b) event -> SMS {spread(latencies)} over {len(latencies)} events "
        f"({count / sent_for:.1f}/s for {sent_for:.0f}s; target p99 < "
        f"{TARGET_P99 * 1000:.0f} ms: {verdict})\n"
        f"    /v1/track response {spread(responses)}; {cpu.report()}",
        flush=True,
    )
    if missing or not_enrolled:
        print(f"    ! {missing} SMS missing, {len(not_enrolled)} not enrolled {not_enrolled[:1]}")


async def main(
    events: int,
    concurrency: int,
    rate: float,
    seconds: float,
    batch: int,
    database_url: str | None,
    api_workers: int,
) -> None:
    print(
        f"bench.ingest: {machine()}; store={store_name(database_url)}, api processes={api_workers}",
        flush=True,
    )
    async with (
        running_stack(database_url, api_workers) as stack,
        SmsWatcher(stack.sims) as watcher,
    ):
        deployed = stack.deploy(write_workspace(stack.tmp / "workspace"))
        pool = [f"+86135{i:08d}" for i in range(POOL)]
        await stack.identify(pool, concurrency)
        print(f"  {len(deployed)} journeys deployed, {POOL} customers identified", flush=True)
        # Warm-up, untimed: the first requests and workflows pay for imports and connections.
        for n in range(5):
            await stack.call("POST", "/v1/track", json=track_body(pool[n], "page.viewed"))
            warm = f"+86134{n:08d}"
            await stack.call("POST", "/v1/track", json=track_body(warm, "bench.hot"))
            await watcher.message_to(warm)

        if events:
            await cold_events(stack, pool, events, concurrency, batch)
        if rate * seconds >= 1:
            await hot_events(stack, watcher, rate, seconds)
        if stack.failures:
            print(f"API errors retried: {len(stack.failures)}, e.g. {stack.failures[0]}")
        if stack.worker.activity_failures():
            print(stack.worker.activity_failures())


def cli() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.ingest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=2000, help="events for (a); 0: skip")
    parser.add_argument("--concurrency", type=int, default=20, help="requests in flight in (a)")
    parser.add_argument("--rate", type=float, default=10.0, help="hot events per second in (b)")
    parser.add_argument("--seconds", type=float, default=30.0, help="duration of (b); 0: skip")
    parser.add_argument(
        "--batch", type=int, default=1, help="events per /v1/track request in (a) (default 1)"
    )
    parser.add_argument(
        "--database-url", default=None, help="PostgreSQL URL (default: a SQLite temp file)"
    )
    parser.add_argument(
        "--api-workers", type=int, default=1, help="API processes (uvicorn --workers)"
    )
    args = parser.parse_args()
    asyncio.run(
        main(
            args.events,
            args.concurrency,
            args.rate,
            args.seconds,
            args.batch,
            args.database_url,
            args.api_workers,
        )
    )


if __name__ == "__main__":
    cli()
