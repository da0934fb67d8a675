"""``carepath keys create``: make an API key; its secret is printed once, then only hashed."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.store.service_store import Scope

__all__ = ["add_parser", "create", "main"]

SCOPES: tuple[Scope, ...] = ("admin", "ingest", "staff")


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``keys`` and its subcommands with the ``carepath`` parser."""
    keys = commands.add_parser(
        "keys",
        help="create API keys for the HTTP API",
        description=(
            "Manage the API keys callers send as 'Authorization: Bearer <key>'.\n"
            "Scopes: admin (everything), ingest (/v1/track and /v1/identify only),\n"
            "staff (read customers, work the handoff tasks of its --clinic clinics)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    keys.set_defaults(keys_parser=keys)
    actions = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    create_parser = actions.add_parser(
        "create",
        help="create a key and print its secret (shown only this once)",
        description=(
            "Migrate the database, create a key and print its id and secret. The secret\n"
            "is stored only as a hash: copy it now."
        ),
        epilog=(
            "examples:\n"
            "  carepath keys create --name crm --scope ingest\n"
            "  carepath keys create --name sz-desk --scope staff --clinic sz-01 --clinic sz-02\n"
            "  carepath keys create --name ops --scope admin --database-url postgresql+psycopg://..\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create_parser.add_argument("--name", required=True, help="who uses the key, e.g. crm")
    create_parser.add_argument("--scope", required=True, choices=SCOPES, help="what it may do")
    create_parser.add_argument(
        "--clinic",
        action="append",
        default=[],
        metavar="ID",
        help="a clinic a staff key works for (repeat for several; required for staff)",
    )
    create_parser.add_argument(
        "--database-url",
        metavar="URL",
        help="SQLAlchemy URL (default: CAREPATH_DATABASE__URL, else sqlite:///var/carepath.db)",
    )


def create(url: str, name: str, scope: str, clinics: list[str]) -> tuple[str, str]:
    """Migrate ``url`` to head, create the key; return (key id, secret)."""
    # Imported here: `carepath --help` should not load SQLAlchemy and Alembic.
    from engine.store.sql import SqlStore, upgrade

    upgrade(url)
    store = SqlStore(url)
    try:
        scopes = [s for s in SCOPES if s == scope]  # as a Scope literal
        record, secret = store.create_api_key(name, scopes, clinics, at=datetime.now(UTC))
    finally:
        store.close()
    return record.id, secret


def main(args: argparse.Namespace) -> int:
    """Run ``carepath keys ...``; return the exit code."""
    if args.keys_command != "create":
        args.keys_parser.print_help()
        return 2
    name = args.name.strip()
    if not name:
        print("error: --name must not be empty", file=sys.stderr)
        return 2
    if args.scope == "staff" and not args.clinic:
        print("error: a staff key needs at least one --clinic ID", file=sys.stderr)
        return 2
    if args.scope != "staff" and args.clinic:
        print("error: --clinic applies to staff keys only", file=sys.stderr)
        return 2
    if args.database_url:
        url = args.database_url
    else:
        from engine.settings import get_settings

        url = get_settings().database.url
    key_id, secret = create(url, name, args.scope, list(dict.fromkeys(args.clinic)))
    print(f"key id: {key_id} (name {name}, scope {args.scope})")
    print(f"secret: {secret}")
    print("Copy the secret now: it cannot be shown again (only its hash is stored).")
    return 0
