"""Reports against hand-written SQL, at 100,000 customers and 2,000,000 events.

    python -m bench.reports [--customers 100000] [--seed 1] [--enrollments 100000]
                            [--days 30] [--repeat 5] [--only active,funnel]
                            [--clinic c01] [--database-url postgresql+psycopg://...]
                            [--refresh]

The population is the demo chain of ``carepath demo-data`` (about 20 events per
customer over 180 days) with ``school_screening_parents`` brought to ``--enrollments``
enrollments, loaded once and kept (:mod:`bench.report_population`): a SQLite file under
``var/bench/``, or a schema of its own on the PostgreSQL server of ``--database-url``.

Each report of :mod:`bench.report_cases` is asked for the last ``--days`` days of the
demo (every clinic, or ``--clinic``) through the store, as the API asks it; its
yardsticks, hand-written SQL for the same question (``bench/report_yard*.py``), must
give the same figures (a difference is printed and the report marked). Then report and
yardsticks run ``--repeat`` times, alternating, and the best time of each gives the
ratio (report / the fastest yardstick). Last, the metrics of the whole journey against
its yardstick. Targets: each report within 1 s and 1.5 times its yardstick; journey
metrics within 300 ms. Nothing asserts a time: the figures are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text

from bench.measure import machine, store_name
from bench.report_cases import Case, cases
from bench.report_compare import differences
from bench.report_enrollments import JOURNEY
from bench.report_population import ANCHOR, anchor_instant, kept_population
from bench.report_yard_sends import journey_counts
from engine.errors import NotFound
from engine.models.reports.scope import ReportScope
from engine.reports.journey_metrics import journey_metrics
from engine.store.metrics import Cohort
from engine.store.sql import SqlStore
from engine.store.sql.db import make_engine
from engine.workspace.events import deployed_roles

TARGET_MS, TARGET_RATIO, TARGET_JOURNEY_MS = 1000.0, 1.5, 300.0


def _seconds(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.perf_counter()
    found = call()
    return time.perf_counter() - started, found


def _checked(case: Case, engine: Engine) -> tuple[Any, list[str]]:
    """Run the report and each yardstick once (warming caches); where they differ."""
    report = case.report()
    shown = case.shown(report)
    problems: list[str] = []
    for name, yardstick in case.yardsticks.items():
        with engine.connect() as conn:
            expected = case.expected(yardstick(conn))
        problems += [f"{name}: {d}" for d in differences(expected, shown)]
    return report, problems


def _timed(case: Case, engine: Engine, repeat: int) -> tuple[float, dict[str, float]]:
    """Best seconds of the report and of each yardstick over ``repeat`` alternating runs."""
    mine: list[float] = []
    theirs: dict[str, list[float]] = {name: [] for name in case.yardsticks}
    for _ in range(repeat):
        mine.append(_seconds(case.report)[0])
        for name, yardstick in case.yardsticks.items():
            with engine.connect() as conn:
                theirs[name].append(_seconds(lambda y=yardstick, c=conn: y(c))[0])
    return min(mine), {name: min(times) for name, times in theirs.items()}


def _line(name: str, report_s: float, yard: dict[str, float], problems: list[str]) -> str:
    best = min(yard, key=yard.__getitem__)
    ms, yard_ms = report_s * 1000, yard[best] * 1000
    ratio = ms / yard_ms
    missed = [m for m, bad in (("> 1 s", ms > TARGET_MS), ("> 1.5x", ratio > TARGET_RATIO)) if bad]
    flag = ("  DIFFERS" if problems else "") + ("  misses " + ", ".join(missed) if missed else "")
    return f"{name:<32}{ms:>10.1f}{yard_ms:>10.1f} {best:<9}{ratio:>7.2f}{flag}"


def compare_reports(store: SqlStore, engine: Engine, scope: ReportScope, args: Any) -> None:
    print(
        f"\nreports over {scope.start} .. {scope.end} ({scope.timezone}, "
        f"clinics: {'all' if scope.clinics is None else ', '.join(scope.clinics)}), "
        f"best of {args.repeat}, ms"
    )
    print(f"{'report':<32}{'report':>10}{'yard':>10} {'(which)':<9}{'ratio':>7}")
    for case in cases(store, scope):
        if args.only and not any(case.name.startswith(o) for o in args.only):
            continue
        try:
            _, problems = _checked(case, engine)
        except NotImplementedError:
            print(f"{case.name:<32}  not written yet (placeholder)")
            continue
        report_s, yard = _timed(case, engine, args.repeat)
        print(_line(case.name, report_s, yard, problems), flush=True)
        for problem in problems:
            print(f"    {problem}")


def _running_steps(engine: Engine) -> dict[str, str]:
    """Running enrollments of the journey and their latest step (what Temporal's
    visibility gives the metrics route)."""
    query = text(
        "SELECT e.id, (SELECT t.step FROM trace t WHERE t.enrollment_id = e.id "
        "AND t.step IS NOT NULL ORDER BY t.seq DESC LIMIT 1) FROM enrollments e "
        "WHERE e.journey_id = :j AND e.status = 'running'"
    )
    with engine.connect() as conn:
        return {str(i): str(step) for i, step in conn.execute(query, {"j": JOURNEY}) if step}


def _plain_counts(counts: dict[str, Any]) -> dict[str, Any]:
    steps = counts["steps"]
    for figures in steps.values():
        for sends in figures["sends"].values():
            sends["skipped"] = {k: v for k, v in sends["skipped"].items() if v}
    return {
        "statuses": sorted(
            (s["status"], s["reason"] or "", s["count"]) for s in counts["statuses"]
        ),
        "steps": steps,
        "arms": {k: sorted(v, key=lambda a: a["variant"]) for k, v in counts["arms"].items()},
    }


def compare_journey(store: SqlStore, engine: Engine, repeat: int) -> None:
    """Journey metrics of the whole journey against its yardstick."""
    running = _running_steps(engine)
    now = dt.datetime.now(dt.UTC)
    cohort = Cohort(journey_id=JOURNEY)
    bundle = store.current_bundle(JOURNEY)

    def report() -> Any:
        counts = store.journey_counts(cohort, now, running)
        return counts, journey_metrics(bundle, counts, None, now)

    def yardstick() -> Any:
        with engine.connect() as conn:
            return journey_counts(conn, JOURNEY, now, running)

    counts, metrics = report()
    problems = differences(_plain_counts(yardstick()), _plain_counts(counts.model_dump()))
    mine = min(_seconds(report)[0] for _ in range(repeat))
    theirs = min(_seconds(yardstick)[0] for _ in range(repeat))
    print(
        f"\njourney metrics of {JOURNEY}: {metrics.entered:,} enrollments "
        f"({metrics.active_now:,} running, {len(running):,} given as running now), "
        f"best of {repeat}, ms"
    )
    flag = "  DIFFERS" if problems else ""
    flag += "  misses > 300 ms" if mine * 1000 > TARGET_JOURNEY_MS else ""
    print(
        f"{'journey metrics':<32}{mine * 1000:>10.1f}{theirs * 1000:>10.1f} {'queries':<9}"
        f"{mine / theirs:>7.2f}{flag}"
    )
    for problem in problems:
        print(f"    {problem}")


def _sizes(engine: Engine) -> str:
    with engine.connect() as conn:
        n = {
            t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()
            for t in ("customers", "events", "touches", "enrollments", "trace", "deliveries")
        }
    return ", ".join(f"{v:,} {k}" for k, v in n.items())


def main(args: argparse.Namespace) -> None:
    print(f"bench.reports on {store_name(args.database_url)}; {machine()}", flush=True)
    url = args.use or kept_population(
        args.customers, args.seed, args.enrollments, args.database_url, args.refresh
    )
    store, engine = SqlStore(url), make_engine(url)
    try:
        print(f"population: {_sizes(engine)}")
        scope = ReportScope(
            start=ANCHOR - dt.timedelta(days=args.days),
            end=ANCHOR,
            timezone="Asia/Shanghai",
            clinics=None if args.clinic is None else (args.clinic,),
            roles=deployed_roles(store),
        )
        compare_reports(store, engine, scope, args)
        if not args.only or any("journey".startswith(o) for o in args.only):
            try:
                compare_journey(store, engine, args.repeat)
            except NotFound as exc:
                print(f"\njourney metrics: {exc}")
        print(f"\n{machine()} at the end; anchor {anchor_instant():%Y-%m-%d}")
    finally:
        store.close()
        engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--enrollments", type=int, default=100_000, help="of the journey")
    parser.add_argument("--days", type=int, default=30, help="the range: the demo's last days")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", type=lambda s: s.split(","), default=None)
    parser.add_argument("--clinic", default=None, help="one clinic's reports (a staff key's)")
    parser.add_argument("--database-url", default=None, help="PostgreSQL (a kept schema)")
    parser.add_argument("--refresh", action="store_true", help="load the population again")
    parser.add_argument(
        "--use", default=None, metavar="URL", help="a database as it is (no population loaded)"
    )
    main(parser.parse_args())
