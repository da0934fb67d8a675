"""``carepath demo-data``: a deterministic eye-clinic chain in an empty database.

12 clinics with their Official Accounts, 30 doctors, 20 WeCom staff, customers who came
through school screening codes, follows, WeCom contacts, paid search and live streams,
about 20 events each over the 180 days before the anchor day, ad costs per day, and
the example workspace's journeys with enrollments (an experiment with a holdout among
them). Everything goes through the store's own paths, events through the batch ingest
with triggers that answer False: nothing is dispatched and no Temporal workflow
starts. The same ``--seed``, ``--customers`` and ``--today`` give the same rows; the
anchor day is the only input besides the seed (default: today, Asia/Shanghai).
"""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from engine.errors import ValidationFailed

__all__ = ["add_parser", "main", "run", "unsynced"]

_DATABASE_HELP = "SQLAlchemy URL (default: CAREPATH_DATABASE__URL, else sqlite:///var/carepath.db)"
_MOST = 999_999


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``demo-data`` with the ``carepath`` parser."""
    demo = commands.add_parser(
        "demo-data",
        help="fill an empty database with a deterministic demo clinic chain",
        description=(
            "Write a demo eye-clinic chain into an empty database: customers, their events,\n"
            "first touches, merges, ad costs, and enrollments of the workspace's journeys.\n"
            "The same --seed, --customers and --today give exactly the same rows. Prints a\n"
            "summary; exit code 2 when the database already has customers."
        ),
        epilog=(
            "examples:\n"
            "  carepath demo-data\n"
            "  carepath demo-data --customers 100000 --seed 7\n"
            "  carepath demo-data --today 2026-06-01 --database-url sqlite:///tmp/demo.db\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # The module is cli.demo_data: main() imports the command's module by this name.
    demo.set_defaults(command="demo_data")
    demo.add_argument(
        "--customers",
        type=int,
        default=2000,
        metavar="N",
        help="people in the chain (default: 2000; about 20 events each)",
    )
    demo.add_argument("--seed", type=int, default=1, metavar="S", help="seed (default: 1)")
    demo.add_argument(
        "--today",
        type=date.fromisoformat,
        default=None,
        metavar="YYYY-MM-DD",
        help="the anchor day: the demo covers the 180 days before it "
        "(default: today in Asia/Shanghai)",
    )
    demo.add_argument(
        "--workspace",
        default=None,
        metavar="DIR",
        help="workspace whose journeys to deploy (default: examples/eye-clinic)",
    )
    demo.add_argument("--database-url", metavar="URL", help=_DATABASE_HELP)


def main(args: argparse.Namespace) -> int:
    """Run ``carepath demo-data``; return the exit code."""
    return run(args)


def run(args: argparse.Namespace) -> int:
    """Check the arguments and the database, load the demo, print the summary."""
    if not 1 <= args.customers <= _MOST:
        print(f"error: --customers must be 1 to {_MOST:,}", file=sys.stderr)
        return 2
    # Imported here: `carepath --help` should not load SQLAlchemy and Alembic.
    from cli.demo import EXAMPLE_WORKSPACE, DemoOptions, load_demo
    from cli.demo.counts import customer_count
    from cli.demo.progress import Progress
    from engine.store.sql import SqlStore, upgrade

    options = DemoOptions(
        customers=args.customers,
        seed=args.seed,
        workspace=Path(args.workspace) if args.workspace else EXAMPLE_WORKSPACE,
        **({"today": args.today} if args.today else {}),
    )
    url = _url(args)
    upgrade(url)
    store = SqlStore(unsynced(url))
    try:
        found = customer_count(store)
        if found:
            print(
                f"error: the database already has {found:,} customers; demo data goes into "
                "an empty one (give another --database-url)",
                file=sys.stderr,
            )
            return 2
        try:
            summary = load_demo(store, options, Progress(options.customers))
        except ValidationFailed as exc:
            for problem in exc.problems:
                print(str(problem), file=sys.stderr)
            return 2
    finally:
        store.close()
    print("\n".join(summary.lines()))
    return 0


def unsynced(url: str) -> str:
    """``url``, on PostgreSQL with ``synchronous_commit`` off for this connection: the
    demo writes in many small transactions, as production does, and need not wait for
    the disk at each (a crash loses the last moments of a demo, which another run
    re-creates; nothing else is affected)."""
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    given = parsed.query.get("options", "")
    options = " ".join(given) if isinstance(given, tuple) else given
    setting = f"{options} -csynchronous_commit=off".strip()
    return parsed.update_query_dict({"options": setting}).render_as_string(hide_password=False)


def _url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    from engine.settings import get_settings

    return get_settings().database.url
