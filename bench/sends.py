"""Sends per second: the raw SDKs, carepath's channel adapters, and the send activity.

    python -m bench.sends [--n 2000] [--threads 4] [--rounds 3] [--phases a,b,c]

``--threads`` threads send at once, each send under a unique idempotency key, to the
provider simulators on 127.0.0.1, run in a process of their own (providers are
elsewhere: their CPU must not compete with the sender's). Tencent Cloud SMS and WeChat
template messages carry examples/eye-clinic's ``payment_reminder``:

(a) raw SDK: tencentcloud-sdk-python's ``SmsClient.SendSms`` with the adapter's client
    settings (HTTP profile, timeout, no retryer); wechatpy posting the adapter's body
    to ``message/template/send`` with a token fetched beforehand.
(b) adapters: ``build_adapters(settings)[channel].send(ChannelRequest(...))``.
(c) the send activity without Temporal: ``JourneyActivities(store, adapters)
    .send_channel(SendInput(...))``, SQLite store in a temporary file, per channel
    with the channel succeeding; and ``c.fallback``: ``wechat_template`` refused with
    43004, then ``sms``, two activity calls per send as the interpreter makes them.

Each measurement follows a few untimed sends; (a) and (b), seconds each, alternate
over ``--rounds`` rounds and report medians. The rate is sends per second from the
first start to the last return; the overhead per send against (a) on the same channel
(``c.fallback``: one raw WeChat call plus one raw SMS) is given in wall time (1 / rate)
and in this process's CPU time (all threads; not the simulators').
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import requests
from tencentcloud.common.credential import Credential
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.common.retry import NoopRetryer
from tencentcloud.sms.v20210111 import models
from tencentcloud.sms.v20210111.sms_client import SmsClient
from wechatpy import WeChatClient
from wechatpy.session.memorystorage import MemoryStorage

from activities.channels.base import ChannelAdapter, ChannelRequest, Recipient
from activities.channels.registry import build_adapters
from activities.journey import JourneyActivities
from bench.measure import CpuMeter, machine, store_name
from engine.contracts.journey import SendInput, TraceEntry
from engine.expressions.templating import render_value, scope_for
from engine.models.common import ChannelName
from engine.settings import ChannelSettings
from engine.store import Customer
from engine.store.sql import SqlStore
from engine.workspace.loader import load_workspace
from simulators import ProviderSimulators
from tests.scratch import scratch_database

WORKSPACE = Path(__file__).resolve().parent.parent / "examples" / "eye-clinic"
JOURNEY, MESSAGE, STEP = "payment_recovery", "payment_reminder", "remind"
CONTEXT = {"appointment_id": "A-1", "package_name": "角膜塑形镜验配", "appointment_at": "3月3日"}
PHONE, OPENID = "+8613800000000", "o-bench"
WX: ChannelName = "wechat_template"
WARM = 20  # untimed sends before each measurement
# What every send should end with (else "accepted"), and what each is compared with.
EXPECTED = {"a.sms": "Ok", "a.wechat": "errcode 0", "c.fallback": "recipient+accepted"}
BASELINES = {"sms": ("a.sms",), "wechat": ("a.wechat",), "fallback": ("a.wechat", "a.sms")}

Send = Callable[[str], str]  # one send under a unique key -> its outcome


def customer(cid: str, openid: str) -> Customer:
    """A follower of the Official Account, with a mobile number."""
    ids = {"wechat_openid": openid}
    return Customer(
        id=cid, attributes={"name": "张三", "phone": PHONE}, identities=ids, follows_wechat=True
    )


@dataclass
class Phase:
    """What one measurement found."""

    label: str
    n: int
    wall: float  # seconds, first start to last return
    wall_us: float  # per send
    cpu_us: float  # per send: CPU of this process, every thread
    cores: str
    outcomes: dict[str, int]
    rounds: int = 1

    def line(self) -> str:
        expected = EXPECTED.get(self.label, "accepted")
        odd = {k: v for k, v in self.outcomes.items() if k != expected}
        return (
            f"{self.label:<11} {self.n / self.wall:6.0f}/s  {self.wall_us:5.0f} µs/send  "
            f"CPU {self.cpu_us:5.0f} µs/send  ({self.n} in {self.wall:.1f}s; {self.cores})"
            + (f" median of {self.rounds}" if self.rounds > 1 else "")
            + (f"\n{'':12}! unexpected outcomes: {odd}" if odd else "")
        )


def measure(label: str, n: int, threads: int, send: Send, sims_pid: int) -> Phase:
    """Call ``send`` ``n`` times from ``threads`` threads, after ``WARM`` untimed calls."""
    tag = uuid.uuid4().hex[:8]
    for i in range(WARM):
        send(f"{label}-{tag}-w{i}")
    outcomes: Counter[str] = Counter()
    lock, gate = threading.Lock(), threading.Barrier(threads + 1)

    def loop(first: int) -> None:
        mine: Counter[str] = Counter()
        gate.wait()
        for i in range(first, n, threads):
            try:
                mine[send(f"{label}-{tag}-{i}")] += 1
            except Exception as exc:  # counted and shown: a benchmark reports, never hides
                mine[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
        with lock:
            outcomes.update(mine)

    pool = [threading.Thread(target=loop, args=(t,), daemon=True) for t in range(threads)]
    for thread in pool:
        thread.start()
    meter = CpuMeter({"driver": os.getpid(), "simulators": sims_pid}).start()
    cpu0, t0 = time.process_time(), time.perf_counter()
    gate.wait()
    for thread in pool:
        thread.join()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    phase = Phase(label, n, wall, wall / n * 1e6, cpu / n * 1e6, meter.report(), dict(outcomes))
    print(phase.line(), flush=True)
    return phase


def median(runs: list[Phase]) -> Phase:
    """Rounds of one measurement as one: median wall and CPU per send (each on its own)."""
    middle = sorted(runs, key=lambda p: p.wall_us)[len(runs) // 2]
    cpu = sorted(p.cpu_us for p in runs)[len(runs) // 2]
    outcomes = sum((Counter(p.outcomes) for p in runs), Counter())
    return replace(middle, cpu_us=cpu, outcomes=dict(outcomes), rounds=len(runs))


def raw_sms(settings: ChannelSettings, content: Mapping[str, Any]) -> Send:
    """(a) ``SendSms`` on a client built as ``activities/channels/tencent_sms/client.py``
    builds it."""
    sms, timeout = settings.sms, settings.timeout_seconds
    http = HttpProfile(endpoint=sms.endpoint, protocol=sms.protocol, reqTimeout=timeout)
    profile = ClientProfile(httpProfile=http, retryer=NoopRetryer())
    client = SmsClient(Credential(sms.secret_id, sms.secret_key), sms.region, profile)

    def send(key: str) -> str:
        req = models.SendSmsRequest()
        req.PhoneNumberSet, req.SmsSdkAppId = [PHONE], sms.sdk_app_id
        req.SignName, req.TemplateId = content["sign_name"], content["template_id"]
        req.TemplateParamSet, req.SessionContext = content["params"], key
        return str(client.SendSms(req).SendStatusSet[0].Code)

    return send


def raw_wechat(settings: ChannelSettings, content: Mapping[str, Any]) -> Send:
    """(a) wechatpy posting ``message/template/send``; the stable token fetched once."""
    wechat, timeout = settings.wechat, settings.timeout_seconds
    body = {"grant_type": "client_credential", "appid": wechat.app_id, "secret": wechat.app_secret}
    token = requests.post(f"{wechat.api_base}stable_token", json=body, timeout=timeout).json()
    session, access = MemoryStorage(), token["access_token"]
    client = WeChatClient(
        wechat.app_id, wechat.app_secret, access, session, timeout=timeout, auto_retry=False
    )
    client.API_BASE_URL = wechat.api_base
    data = {key: {"value": value} for key, value in content["data"].items()}
    fixed = {"touser": OPENID, "template_id": content["template_id"], "url": content["url"]}

    def send(key: str) -> str:
        message = {**fixed, "data": data, "client_msg_id": key}
        return f"errcode {client.post('message/template/send', data=message)['errcode']}"

    return send


def adapter_send(
    adapters: Mapping[ChannelName, ChannelAdapter], channel: ChannelName, content: dict[str, Any]
) -> Send:
    """(b) one adapter call, the request built as the activity builds it."""
    recipient = Recipient(customer_id="c-bench", phone=PHONE, wechat_openid=OPENID)

    def send(key: str) -> str:
        request = ChannelRequest(
            channel=channel, idempotency_key=key, recipient=recipient, content=content
        )
        return adapters[channel].send(request).outcome.value

    return send


def activity_send(
    activities: JourneyActivities, version: int, who: Callable[[], str], channels: list[ChannelName]
) -> Send:
    """(c) one send step as the interpreter runs it for the customer ``who()`` names:
    ``send_channel`` per channel until one is accepted, each call carrying the trace
    entries recorded since the previous one."""
    fixed = {"journey_id": JOURNEY, "version": version, "step": STEP, "message": MESSAGE}

    def send(key: str) -> str:
        enrollment, now = f"bench-{key}", datetime.now(UTC)
        common = {**fixed, "enrollment_id": enrollment, "customer_id": who(), "now": now}
        trace = [TraceEntry(seq=1, at=now, step=STEP, kind="send", detail=MESSAGE)]
        outcomes: list[str] = []
        for channel in channels:
            idem = f"{enrollment}:{STEP}:{channel}:1.0"  # the interpreter's key format
            arg = SendInput(
                **common, context=CONTEXT, trace=trace, channel=channel, idempotency_key=idem
            )
            result = activities.send_channel(arg)
            outcomes.append(result.outcome)
            if result.outcome in ("accepted", "delivered"):
                break
            entry = {"channel": channel, "outcome": result.outcome, "detail": result.detail}
            trace = [TraceEntry(seq=len(outcomes) + 1, at=now, step=STEP, kind="attempt", **entry)]
        return "+".join(outcomes)

    return send


def _serve_simulators(conn: Connection, refused: list[str]) -> None:
    """The simulators' process: serve until the parent says stop (or goes away)."""
    with ProviderSimulators() as sims:
        sims.wechat.configure(per_recipient=dict.fromkeys(refused, 43004))
        conn.send(sims.channel_settings().model_dump_json())
        with contextlib.suppress(EOFError):
            conn.recv()


@contextlib.contextmanager
def simulators_process(refused: list[str]) -> Iterator[tuple[ChannelSettings, int]]:
    """The simulators in a process of their own, answering 43004 (require subscribe) to
    the ``refused`` openids: settings pointing at them, and the process id."""
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_simulators, args=(child, refused), daemon=True)
    process.start()
    try:
        settings = ChannelSettings.model_validate_json(parent.recv())
        assert process.pid is not None
        yield settings, process.pid
    finally:
        with contextlib.suppress(OSError):
            parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.terminate()


def run(n: int, threads: int, rounds: int, phases: list[str], database_url: str | None) -> None:
    print(f"bench.sends: n={n}, threads={threads}, rounds={rounds}, {machine()}", flush=True)
    bundle = load_workspace(WORKSPACE).bundle(JOURNEY)
    ok, version = customer("c-bench", OPENID), bundle.version
    journey = {"id": JOURNEY, "name": bundle.journey.name, "version": version}
    scope = scope_for(ok.template_scope(), CONTEXT, journey)
    dumped = bundle.messages[MESSAGE].model_dump(mode="json", exclude_none=True)
    sms, wx = (render_value(dumped[channel], scope) for channel in ("sms", WX))
    # The activity marks a customer refused with 43004 as not following and skips
    # WeChat for them afterwards: each fallback send gets a customer of its own.
    refused = [customer(f"c-bench-{i}", f"{OPENID}-{i}") for i in range(n + WARM)]
    who = iter([c.id for c in refused]).__next__  # one C call: atomic under the GIL
    with (
        simulators_process([c.identities["wechat_openid"] for c in refused]) as (settings, pid),
        tempfile.TemporaryDirectory(prefix="carepath-bench-") as folder,
        scratch_database(Path(folder) / "carepath.db", database_url, "bench") as url,
    ):
        adapters, store = build_adapters(settings), SqlStore(url)
        acts = JourneyActivities(store, adapters)
        plan: dict[str, Callable[[], Send]] = {
            "a.sms": lambda: raw_sms(settings, sms),
            "b.sms": lambda: adapter_send(adapters, "sms", sms),
            "a.wechat": lambda: raw_wechat(settings, wx),
            "b.wechat": lambda: adapter_send(adapters, WX, wx),
            "c.sms": lambda: activity_send(acts, version, lambda: ok.id, ["sms"]),
            "c.wechat": lambda: activity_send(acts, version, lambda: ok.id, [WX]),
            "c.fallback": lambda: activity_send(acts, version, who, [WX, "sms"]),
        }
        wanted = [label for label in plan if any(label.startswith(p) for p in phases)]
        # (a) and (b) take seconds and differ by little: alternate them over rounds.
        order = [x for x in wanted if x[0] in "ab"] * rounds + [x for x in wanted if x[0] == "c"]
        runs: dict[str, list[Phase]] = {}
        try:
            t0 = time.perf_counter()
            store.put_bundle(bundle)
            for c in [ok, *(refused if "c.fallback" in wanted else [])]:
                store.put_customer(c)
            print(f"  store ready in {time.perf_counter() - t0:.1f}s (untimed)", flush=True)
            for label in order:
                runs.setdefault(label, []).append(measure(label, n, threads, plan[label](), pid))
        finally:
            store.close()
    report({label: median(r) for label, r in runs.items()}, n, threads, store_name(database_url))


def report(done: dict[str, Phase], n: int, threads: int, store: str) -> None:
    print(f"\n== bench.sends  n={n}  threads={threads}  store={store}  {machine()}")
    for phase in done.values():
        print(phase.line())
    print("overhead per send (wall = 1 / rate; CPU = this process, all threads):")
    for label, phase in done.items():
        base = BASELINES[label.split(".")[1]]
        if label.startswith("a") or not all(b in done for b in base):
            continue
        wall, cpu = sum(done[b].wall_us for b in base), sum(done[b].cpu_us for b in base)
        print(
            f"  {label:<10} vs {' + '.join(base):<17} wall {phase.wall_us - wall:+5.0f} µs "
            f"(x{phase.wall_us / wall:.2f})  CPU {phase.cpu_us - cpu:+5.0f} µs "
            f"(x{phase.cpu_us / cpu:.2f})"
        )


def cli() -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sends",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--n", type=int, default=2000, help="sends per measurement")
    parser.add_argument("--threads", type=int, default=4, help="threads sending at once")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (a) and (b) (median)")
    parser.add_argument("--phases", default="a,b,c", help="measurements by prefix: c.fallback")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: a SQLite temp file)")
    args = parser.parse_args()
    run(args.n, args.threads, args.rounds, args.phases.split(","), args.database_url)


if __name__ == "__main__":
    cli()
