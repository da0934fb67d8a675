"""``carepath users``: create, list and disable console users, and set their passwords.

A password is read from ``--password-file`` (its first line), else asked twice at a
terminal, else read from the first line of standard input (for scripts); it is never
an argument, so it stays out of shell history and the process list. Changes are kept
on the user's row as made by ``cli:<login name>``.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import AccountRefused, Conflict, NotFound
from engine.models.users import (
    ROLES,
    check_account,
    check_password_rules,
    normalise_username,
)

if TYPE_CHECKING:
    from engine.models.users import Role, User
    from engine.store.sql import SqlStore

__all__ = ["actor", "add_parser", "main", "read_password"]

_DATABASE_HELP = "SQLAlchemy URL (default: CAREPATH_DATABASE__URL, else sqlite:///var/carepath.db)"
_PASSWORD_HELP = (
    "read the password from the first line of FILE (default: ask twice at a terminal, "
    "else read the first line of standard input)"
)


def add_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Register ``users`` and its subcommands with the ``carepath`` parser."""
    users = commands.add_parser(
        "users",
        help="create, list and disable console users, set their passwords",
        description=(
            "Manage who may sign in to the console.\n"
            "Roles: admin (every clinic; manages users, deploys, exports segment members),\n"
            "operator (every clinic, none of those three), staff (only its --clinic clinics)."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    users.set_defaults(users_parser=users)
    actions = users.add_subparsers(dest="users_command", metavar="ACTION")
    _add_create(actions)
    listing = actions.add_parser(
        "list",
        help="list every user: name, role, clinics, disabled",
        description="List every console user, disabled ones too (never a password).",
    )
    listing.add_argument("--database-url", metavar="URL", help=_DATABASE_HELP)
    disable = actions.add_parser(
        "disable",
        help="disable a user: their sessions end, their password is refused",
        description="Disable a user: signed-in browsers are signed out at their next page\n"
        "and the password is refused from now on. Users are never deleted.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    disable.add_argument("username", metavar="USERNAME")
    disable.add_argument("--database-url", metavar="URL", help=_DATABASE_HELP)
    password = actions.add_parser(
        "password",
        help="set a user's password; their sessions end",
        description="Set a new password (at least 10 characters) and sign the user out\n"
        "everywhere.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    password.add_argument("username", metavar="USERNAME")
    password.add_argument("--password-file", metavar="FILE", type=Path, help=_PASSWORD_HELP)
    password.add_argument("--database-url", metavar="URL", help=_DATABASE_HELP)


def _add_create(actions: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    create = actions.add_parser(
        "create",
        help="create a console user",
        description="Migrate the database and create a console user. The password must have\n"
        "at least 10 characters; only its Argon2id hash is stored.",
        epilog=(
            "examples:\n"
            "  carepath users create zhang --role admin --name 张经理\n"
            "  carepath users create sz-desk --role staff --clinic sz-01 --clinic sz-02\n"
            "  carepath users create ops --role operator --password-file ops.txt\n"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    create.add_argument("username", metavar="USERNAME", help="what the user signs in with")
    create.add_argument("--role", required=True, choices=ROLES, help="what the user may do")
    create.add_argument(
        "--clinic",
        action="append",
        default=[],
        metavar="ID",
        help="a clinic a staff user works for (repeat for several; required for staff)",
    )
    create.add_argument("--name", metavar="DISPLAY", help="the name the console shows")
    create.add_argument("--password-file", metavar="FILE", type=Path, help=_PASSWORD_HELP)
    create.add_argument("--database-url", metavar="URL", help=_DATABASE_HELP)


class _Mismatch(AccountRefused):
    """Raised when the two passwords typed at the terminal differ (never leaves here)."""


def read_password(path: Path | None) -> str:
    """The new password: ``path``'s first line, else asked twice at a terminal, else
    standard input's first line. OSError when the file cannot be read."""
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        return lines[0] if lines else ""
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise _Mismatch("the two passwords differ")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def actor() -> str:
    """Who a change from the command line is recorded as: ``cli:<login name>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no login name (a container without a passwd entry)
        return "cli"


def _open(url: str) -> SqlStore:
    # Imported here: `carepath --help` should not load SQLAlchemy and Alembic.
    from engine.store.sql import SqlStore, upgrade

    upgrade(url)
    return SqlStore(url)


def _url(args: argparse.Namespace) -> str:
    if args.database_url:
        return str(args.database_url)
    from engine.settings import get_settings

    return get_settings().database.url


def main(args: argparse.Namespace) -> int:
    """Run ``carepath users ...``; return the exit code."""
    command = args.users_command
    if command is None:
        args.users_parser.print_help()
        return 2
    try:
        if command == "create":
            return _create(args)
        if command == "list":
            return _list(_url(args))
        if command == "disable":
            return _disable(_url(args), args.username)
        return _password(args)
    except (AccountRefused, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except (Conflict, NotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _role(name: str) -> Role:
    return next(r for r in ROLES if r == name)  # argparse offered ROLES only


def _create(args: argparse.Namespace) -> int:
    username = normalise_username(args.username)
    clinics = list(dict.fromkeys(c.strip() for c in args.clinic))
    check_account(username, args.role, clinics)  # before a password is asked for
    password = read_password(args.password_file)
    check_password_rules(password)
    store = _open(_url(args))
    try:
        user = store.create_user(
            username, password, _role(args.role), clinics, args.name, by=actor()
        )
    finally:
        store.close()
    print(f"created {_describe(user)}")
    return 0


def _describe(user: User) -> str:
    clinics = f": {', '.join(user.clinics)}" if user.clinics else ""
    return f"console user {user.username} ({user.display_name}, {user.role}{clinics})"


def _list(url: str) -> int:
    store = _open(url)
    try:
        users = store.list_users()
    finally:
        store.close()
    header = ("USERNAME", "NAME", "ROLE", "CLINICS", "DISABLED")
    rows = [header] + [
        (
            u.username,
            u.display_name,
            u.role,
            ",".join(u.clinics) or "-",
            "yes" if u.disabled else "no",
        )
        for u in users
    ]
    widths = [max(_width(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        cells = (
            cell + " " * (width - _width(cell)) for cell, width in zip(row, widths, strict=True)
        )
        print("  ".join(cells).rstrip())
    return 0


def _width(text: str) -> int:
    # Chinese names take two columns in a terminal: count them so the columns line up.
    return sum(2 if "\u2e80" <= ch <= "\uffef" else 1 for ch in text)


def _disable(url: str, username: str) -> int:
    store = _open(url)
    try:
        user = store.disable_user(username, by=actor())
    finally:
        store.close()
    print(f"disabled {_describe(user)}; their console sessions have ended")
    return 0


def _password(args: argparse.Namespace) -> int:
    store = _open(_url(args))
    try:
        user = store.get_user(args.username)  # NotFound before a password is asked for
        password = read_password(args.password_file)
        check_password_rules(password)
        store.set_password(user.username, password, by=actor())
    finally:
        store.close()
    print(f"password set for {user.username}; their console sessions have ended")
    return 0
