"""Reports against hand-written SQL, at 100,000 customers and 2,000,000 events.

    python -m bench.reports [--customers 100000] [--seed 1] [--enrollments 100000]
                            [--days 30] [--repeat 5] [--only active,funnel]
                            [--clinic c01] [--database-url postgresql+psycopg://...]
                            [--pg-options '-c jit=off'] [--refresh] [--use URL]

The population is the demo chain of ``carepath demo-data`` (about 20 events per
customer over 180 days) with ``school_screening_parents`` brought to ``--enrollments``
enrollments, loaded once and kept (:mod:`bench.report_population`): a SQLite file under
``var/bench/``, or a schema of its own on the PostgreSQL server of ``--database-url``.
``--use`` reads any database as it is instead.

Each report of :mod:`bench.report_cases` is asked for the last ``--days`` days of the
demo (every clinic, or ``--clinic``) through the store, as the API asks it; its
yardsticks, hand-written SQL for the same question (``bench/report_yard*.py``), must
give the same figures (a difference is printed and the report marked). Then report and
yardsticks run ``--repeat`` times, alternating, and the best time of each gives the
ratio (report / the fastest yardstick), in wall time and in CPU time (this process,
plus the PostgreSQL server processes of its connections: :mod:`bench.report_meter`),
which other work on the machine skews less. Last, the metrics of the whole journey
against its yardstick. Targets: each report within 1 s and 1.5 times its yardstick;
journey metrics within 300 ms. Nothing asserts a time: the figures are printed.
"""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any

from sqlalchemy import Connection, Engine, text

from bench.measure import machine, store_name
from bench.report_cases import Case, cases
from bench.report_compare import differences
from bench.report_enrollments import JOURNEY
from bench.report_meter import Meter
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


Times = tuple[float, float]  # best wall and best CPU seconds


@contextmanager
def _session(engine: Engine, jit: bool) -> Iterator[Connection]:
    """A yardstick's connection, with PostgreSQL's JIT as the report it is measured
    against has it: off for the reports (``ReportsPart`` turns it off), the server's
    setting for journey metrics."""
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("RESET jit" if jit else "SET jit = off")
        yield conn


def _checked(case: Case, engine: Engine) -> list[str]:
    """Run the report and each yardstick once (warming caches); where they differ."""
    shown = case.shown(case.report())
    problems: list[str] = []
    for name, yardstick in case.yardsticks.items():
        with _session(engine, jit=False) as conn:
            expected = case.expected(yardstick(conn))
        problems += [f"{name}: {d}" for d in differences(expected, shown)]
    return problems


def _best(runs: list[tuple[float, float]]) -> Times:
    return min(w for w, _ in runs), min(c for _, c in runs)


def _timed(case: Case, engine: Engine, meter: Meter, repeat: int) -> tuple[Times, dict[str, Times]]:
    """Best times of the report and of each yardstick over ``repeat`` alternating runs."""
    mine: list[tuple[float, float]] = []
    theirs: dict[str, list[tuple[float, float]]] = {name: [] for name in case.yardsticks}
    for _ in range(repeat):
        wall, cpu, _found = meter.measure(case.report)
        mine.append((wall, cpu))
        for name, yardstick in case.yardsticks.items():
            with _session(engine, jit=False) as conn:
                wall, cpu, _found = meter.measure(partial(yardstick, conn))
            theirs[name].append((wall, cpu))
    return _best(mine), {name: _best(runs) for name, runs in theirs.items()}


_HEADER = (
    f"{'':<32}{'report':>9}{'yard':>9}{'ratio':>7}   {'CPU':>7}{'yard':>8}{'ratio':>7}"
    "  (ms; yardstick)"
)


def _line(
    name: str, mine: Times, yard: dict[str, Times], problems: list[str], target: float
) -> str:
    best = min(yard, key=lambda n: yard[n][0])
    (wall, cpu), (y_wall, y_cpu) = mine, yard[best]
    ratio = wall / y_wall
    missed = [
        m
        for m, bad in (
            (f"> {target:.0f} ms", wall * 1000 > target),
            ("> 1.5x", ratio > TARGET_RATIO),
        )
        if bad
    ]
    flag = ("  DIFFERS" if problems else "") + ("  misses " + ", ".join(missed) if missed else "")
    return (
        f"{name:<32}{wall * 1000:>9.1f}{y_wall * 1000:>9.1f}{ratio:>7.2f}   "
        f"{cpu * 1000:>7.0f}{y_cpu * 1000:>8.0f}{cpu / max(y_cpu, 1e-9):>7.2f}  {best}{flag}"
    )


def compare_reports(
    store: SqlStore, engine: Engine, meter: Meter, scope: ReportScope, args: Any
) -> None:
    print(
        f"\nreports over {scope.start} .. {scope.end} ({scope.timezone}, "
        f"clinics: {'all' if scope.clinics is None else ', '.join(scope.clinics)}), "
        f"best of {args.repeat}, ms"
    )
    print(_HEADER)
    for case in cases(store, scope):
        if args.only and not any(case.name.startswith(o) for o in args.only):
            continue
        try:
            problems = _checked(case, engine)
        except NotImplementedError:
            print(f"{case.name:<32}  not written yet (placeholder)")
            continue
        mine, yard = _timed(case, engine, meter, args.repeat)
        print(_line(case.name, mine, yard, problems, TARGET_MS), flush=True)
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


def compare_journey(store: SqlStore, engine: Engine, meter: Meter, repeat: int) -> None:
    """Journey metrics of the whole journey against its yardstick."""
    running = _running_steps(engine)
    now = dt.datetime.now(dt.UTC)
    cohort = Cohort(journey_id=JOURNEY)
    bundle = store.current_bundle(JOURNEY)

    def report() -> Any:
        counts = store.journey_counts(cohort, now, running)
        return counts, journey_metrics(bundle, counts, None, now)

    def yardstick() -> Any:
        with _session(engine, jit=True) as conn:
            return journey_counts(conn, JOURNEY, now, running)

    counts, metrics = report()
    problems = differences(_plain_counts(yardstick()), _plain_counts(counts.model_dump()))
    mine: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    for _ in range(repeat):
        mine.append(meter.measure(report)[:2])
        theirs.append(meter.measure(yardstick)[:2])
    print(
        f"\njourney metrics of {JOURNEY}: {metrics.entered:,} enrollments "
        f"({metrics.active_now:,} running, {len(running):,} given as running now), "
        f"best of {repeat}"
    )
    print(_HEADER)
    line = _line(
        "journey metrics", _best(mine), {"queries": _best(theirs)}, problems, TARGET_JOURNEY_MS
    )
    print(line)
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
        args.customers,
        args.seed,
        args.enrollments,
        args.database_url,
        args.refresh,
        args.pg_options,
    )
    store, engine = SqlStore(url), make_engine(url)
    meter = Meter(store._db.engine, engine)  # the store's own engine runs the reports
    try:
        print(f"population: {_sizes(engine)}")
        scope = ReportScope(
            start=ANCHOR - dt.timedelta(days=args.days),
            end=ANCHOR,
            timezone="Asia/Shanghai",
            clinics=None if args.clinic is None else (args.clinic,),
            roles=deployed_roles(store),
        )
        compare_reports(store, engine, meter, scope, args)
        if not args.only or any("journey".startswith(o) for o in args.only):
            try:
                compare_journey(store, engine, meter, args.repeat)
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
        "--pg-options", default="", help="PostgreSQL session settings, e.g. '-c jit=off'"
    )
    parser.add_argument(
        "--use", default=None, metavar="URL", help="a database as it is (no population loaded)"
    )
    main(parser.parse_args())
