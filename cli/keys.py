"""``carepath keys``: create, list and revoke API keys; a secret is printed once, then
only its hash is kept."""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from engine.errors import Conflict, NotFound

if TYPE_CHECKING:
    from engine.store.service_store import ApiKeyRecord, Scope
    from engine.store.sql import SqlStore

__all__ = ["add_parser", "create", "main", "parse_expiry"]

SCOPES: tuple[Scope, ...] = ("admin", "ingest", "staff")
_DURATION = re.compile(r"(?P<n>[1-9][0-9]{0,4})(?P<unit>[hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_DATABASE_HELP = "SQLAlchemy URL (default: CAREPATH_DATABASE__URL, else sqlite:///var/carepath.db)"


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``keys`` and its subcommands with the ``carepath`` parser."""
    keys = commands.add_parser(
        "keys",
        help="create, list and revoke API keys for the HTTP API",
        description=(
            "Manage the API keys callers send as 'Authorization: Bearer <key>'.\n"
            "Scopes: admin (everything), ingest (/v1/track and /v1/identify only),\n"
            "staff (read customers, work the handoff tasks of its --clinic clinics)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    keys.set_defaults(keys_parser=keys)
    actions = keys.add_subparsers(dest="keys_command", metavar="ACTION")
    _add_create(actions)
    listing = actions.add_parser(
        "list",
        help="list every key: scopes, clinics, created, expires, last used, revoked",
        description="List every key (never a secret), revoked and expired ones too.",
    )
    listing.add_argument("--database-url", metavar="URL", help=_DATABASE_HELP)
    revoke = actions.add_parser(
        "revoke",
        help="revoke a key by id or name; it is refused within 10 seconds",
        description=(
            "Revoke a key by its id (k-...) or its name. API processes trust a key they\n"
            "found for up to 10 seconds: it is refused everywhere within that time."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    revoke.add_argument("key", metavar="NAME_OR_ID", help="the key's id (k-...) or name")
    revoke.add_argument("--database-url", metavar="URL", help=_DATABASE_HELP)


def _add_create(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create_parser = actions.add_parser(
        "create",
        help="create a key and print its secret (shown only this once)",
        description=(
            "Migrate the database, create a key and print its id and secret. The secret\n"
            "is stored only as a hash: copy it now."
        ),
        epilog=(
            "examples:\n"
            "  carepath keys create --name crm --scope ingest --expires 90d\n"
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
        "--expires",
        metavar="DURATION",
        help="refuse the key after this long: 12h, 90d, 8w (default: never)",
    )
    create_parser.add_argument("--database-url", metavar="URL", help=_DATABASE_HELP)


def parse_expiry(text: str) -> timedelta:
    """``90d`` -> 90 days (``h``, ``d``, ``w``); ValueError naming the accepted forms."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"--expires {text!r}: write a number and h, d or w, e.g. 90d or 12h")
    return int(match["n"]) * _UNITS[match["unit"]]


def _open(url: str) -> SqlStore:
    # Imported here: `carepath --help` should not load SQLAlchemy and Alembic.
    from engine.store.sql import SqlStore, upgrade

    upgrade(url)
    return SqlStore(url)


def create(
    url: str, name: str, scope: str, clinics: list[str], *, expires_at: datetime | None = None
) -> tuple[str, str]:
    """Migrate ``url`` to head, create the key; return (key id, secret)."""
    store = _open(url)
    try:
        scopes = [s for s in SCOPES if s == scope]  # as a Scope literal
        record, secret = store.create_api_key(
            name, scopes, clinics, at=datetime.now(UTC), expires_at=expires_at
        )
    finally:
        store.close()
    return record.id, secret


def _url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    from engine.settings import get_settings

    return get_settings().database.url


def main(args: argparse.Namespace) -> int:
    """Run ``carepath keys ...``; return the exit code."""
    if args.keys_command == "create":
        return _create(args)
    if args.keys_command == "list":
        return _list(_url(args))
    if args.keys_command == "revoke":
        return _revoke(_url(args), args.key)
    args.keys_parser.print_help()
    return 2


def _create(args: argparse.Namespace) -> int:
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
    expires_at = None
    if args.expires:
        try:
            expires_at = datetime.now(UTC) + parse_expiry(args.expires)
        except ValueError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    clinics = list(dict.fromkeys(args.clinic))
    key_id, secret = create(_url(args), name, args.scope, clinics, expires_at=expires_at)
    until = f", expires {_when(expires_at)}" if expires_at else ""
    print(f"key id: {key_id} (name {name}, scope {args.scope}{until})")
    print(f"secret: {secret}")
    print("Copy the secret now: it cannot be shown again (only its hash is stored).")
    return 0


def _when(at: datetime | None) -> str:
    return "-" if at is None else at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _state(key: ApiKeyRecord, now: datetime) -> str:
    if key.revoked_at is not None:
        return f"revoked {_when(key.revoked_at)}"
    if key.expires_at is not None and key.expires_at <= now:
        return "expired"
    return "active"


def _list(url: str) -> int:
    store = _open(url)
    try:
        keys = store.list_api_keys()
    finally:
        store.close()
    now = datetime.now(UTC)
    header = ("ID", "NAME", "SCOPES", "CLINICS", "CREATED", "EXPIRES", "LAST USED", "STATE")
    rows = [header] + [
        (
            k.id,
            k.name,
            ",".join(k.scopes),
            ",".join(k.clinics) or "-",
            _when(k.created_at),
            _when(k.expires_at),
            _when(k.last_used_at),
            _state(k, now),
        )
        for k in keys
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )
    return 0


def _revoke(url: str, name_or_id: str) -> int:
    store = _open(url)
    try:
        key = store.revoke_api_key(name_or_id, at=datetime.now(UTC))
    except (NotFound, Conflict) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(f"revoked {key.id} (name {key.name}) at {_when(key.revoked_at)}")
    print("API processes refuse it within 10 seconds.")
    return 0
