"""The ``carepath`` command: validate a workspace, write JSON Schemas, simulate a journey,
run the service, make API keys and console users, count segments, migrate the database."""

from __future__ import annotations

import argparse
import importlib
import sys

from cli import costs as costs_command
from cli import demo_data as demo_data_command
from cli import keys as keys_command
from cli import segment as segment_command
from cli import users as users_command

__all__ = ["build_parser", "main"]

_DESCRIPTION = """\
carepath runs patient journeys for clinic chains. Journeys, messages and segments are
YAML files in a workspace folder (journeys/, messages/, segments/)."""

_EPILOG = """\
examples:
  carepath validate                      check the workspace in this folder
  carepath validate ~/clinics/sz         check another workspace
  carepath schema                        write JSON Schemas for the YAML editor to schema/
  carepath simulate scenarios/paid.yaml  try a journey for one customer in skipped time
  carepath keys create --name crm --scope ingest   make an API key for the HTTP API
  carepath users create zhang --role admin        make a console user (asks the password)
  carepath segment count segments/vip.yaml        how many customers a segment names now
  carepath up examples/eye-clinic        run Temporal, a worker and the API on this machine
  carepath costs import baidu-03.csv     import ad spend for cost per customer and ROI
  carepath migrate                       bring the configured database to the newest schema
"""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(
        prog="carepath",
        description=_DESCRIPTION,
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    _add_validate(commands)
    _add_schema(commands)
    _add_simulate(commands)
    _add_up(commands)
    _add_simulators(commands)
    # keys, users and segment: their parsers live with the commands (nothing heavy imported).
    keys_command.add_parser(commands)
    users_command.add_parser(commands)
    segment_command.add_parser(commands)
    costs_command.add_parser(commands)
    demo_data_command.add_parser(commands)
    _add_migrate(commands)
    return parser


def _add_validate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    validate = commands.add_parser(
        "validate",
        help="check every journey, message and segment of a workspace",
        description=(
            "Read journeys/, messages/ and segments/ and report every problem as\n"
            "FILE:LINE: what is wrong (how to fix it) [rule]. Exit code 0 when the\n"
            "workspace is valid, 2 when it is not."
        ),
        epilog=(
            "examples:\n"
            "  carepath validate\n"
            "  carepath validate ./workspace\n"
            "  carepath validate ./workspace || echo 'fix the problems above'\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    validate.add_argument(
        "workspace", nargs="?", default=".", help="the workspace folder (default: .)"
    )


def _add_schema(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    schema = commands.add_parser(
        "schema",
        help="write JSON Schemas of the YAML files for editor completion and checks",
        description=(
            "Write journey.schema.json, message.schema.json, segment.schema.json and\n"
            "scenario.schema.json. Point the YAML editor extension at them for completion,\n"
            "hover help and errors while typing."
        ),
        epilog=(
            "examples:\n"
            "  carepath schema\n"
            "  carepath schema --out .vscode/schema\n"
            "then start a journey file with:\n"
            "  # yaml-language-server: $schema=../schema/journey.schema.json\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    schema.add_argument(
        "--out", default="schema", metavar="DIR", help="folder to write to (default: schema/)"
    )


def _add_simulate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulate = commands.add_parser(
        "simulate",
        help="run one journey for one customer against simulated providers",
        description=(
            "Run the journey a scenario names for one customer, in skipped time, against\n"
            "simulated WeChat, WeCom and SMS providers, and print the trace. Exit code 0\n"
            "when the journey ran, 2 when the scenario or journey is invalid."
        ),
        epilog=(
            "examples:\n"
            "  carepath simulate scenarios/payment_recovery.yaml\n"
            "  carepath simulate scenarios/payment_recovery.yaml --json | jq .status\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulate.add_argument("scenario", metavar="SCENARIO.yaml", help="the scenario file")
    simulate.add_argument("--json", action="store_true", help="print one JSON object")


def _add_up(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    up = commands.add_parser(
        "up",
        help="start Temporal, a worker and the API on this machine",
        description="Start the embedded Temporal dev server (SQLite under VAR), a worker and "
        "the HTTP API, deploy the workspace, and print where everything is. Ctrl-C stops "
        "all of it; running enrollments resume at the next start.",
        epilog="example:\n  carepath up examples/eye-clinic",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument("workspace", nargs="?", default=".", help="workspace to deploy (default: .)")
    up.add_argument("--var", default="var", help="folder for databases and logs (default: var)")
    up.add_argument("--port", type=int, default=8000, help="API port (default: 8000)")
    up.add_argument("--temporal-port", type=int, default=7233)
    up.add_argument("--ui-port", type=int, default=8233, help="Temporal Web UI port (0: none)")
    up.add_argument(
        "--temporal-restarts",
        type=int,
        default=3,
        help="restarts of a dead Temporal dev server within 10 minutes before stopping "
        "everything (default: 3)",
    )
    up.add_argument(
        "--no-demo",
        action="store_true",
        help="on the first start (no customers yet), do not load the demo data",
    )
    up.add_argument(
        "--no-simulators",
        action="store_true",
        help="send through the configured providers instead of the local simulators",
    )


def _add_simulators(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    simulators = commands.add_parser(
        "simulators",
        help="run the WeChat, WeCom and Tencent SMS simulators on 127.0.0.1",
        description="Run the provider simulators until Ctrl-C and print the "
        "CAREPATH_CHANNELS value that points a worker and an API at them.",
        epilog="example:\n  carepath simulators --api http://127.0.0.1:8000",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    simulators.add_argument(
        "--api", default=None, help="push delivery receipts to this API's /callbacks/..."
    )


def _add_migrate(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    # Here, not in cli/migrate.py: that module loads Alembic, and `--help` stays fast.
    migrate = commands.add_parser(
        "migrate",
        help="bring the database to the newest schema",
        description=(
            "Migrate the database (Alembic) to the newest schema. Run it before starting\n"
            "workers on a new or upgraded install; `carepath up` and the API run it at\n"
            "start. Running it again changes nothing."
        ),
        epilog=(
            "examples:\n"
            "  carepath migrate\n"
            "  carepath migrate --database-url postgresql+psycopg://..\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    migrate.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL (default: CAREPATH_DATABASE__URL, else sqlite:///var/carepath.db)",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.command is None:
        parser.print_help()
        return 2
    # Subcommands are imported when used, so `carepath --help` stays fast.
    module = importlib.import_module(f"cli.{args.command}")
    return int(module.main(args))
