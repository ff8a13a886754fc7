"""``python -m rag users ...`` and ``python -m rag share ...``: accounts and sharing.

The command line acts as the machine's administrator: whoever can run it can read the data
dir anyway. Passwords are read from standard input (``--password-stdin``) or asked for on a
terminal, never taken from the command line, where other users could see them.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime
from pathlib import Path

from rag.access import EVERYONE
from rag.accounts import AccountError, Accounts
from rag.cli_answer import collection_name
from rag.config import Settings, get_settings
from rag.database import open_database
from rag.errors import USER_ERRORS, report


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``users add|list|passwd|remove`` and ``share``."""
    users = sub.add_parser("users", help="manage accounts (for DOCENT_AUTH=accounts)")
    users.add_argument("--data-dir", type=Path, help="data folder (default: ./data)")
    actions = users.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--admin", action="store_true", help="may manage every collection")
    how = add.add_mutually_exclusive_group()
    how.add_argument("--password-stdin", action="store_true", help="read the password on stdin")
    how.add_argument(
        "--sso",
        action="store_true",
        help="no password: signs in by single sign-on, as the identity whose verified e-mail "
        "address is NAME",
    )
    actions.add_parser("list", help="list users")
    passwd = actions.add_parser("passwd", help="set a user's password (ends their sessions)")
    passwd.add_argument("name")
    passwd.add_argument("--password-stdin", action="store_true")
    remove = actions.add_parser("remove", help="delete a user (their collections stay)")
    remove.add_argument("name")
    users.set_defaults(run=run_users)

    share = sub.add_parser("share", help="share a collection with a user or everyone")
    share.add_argument("collection", type=collection_name)
    share.add_argument("grantee", help=f"a user name, or {EVERYONE!r} for every signed-in user")
    share.add_argument("--role", choices=["reader", "writer", "none"], default="reader")
    share.add_argument("--data-dir", type=Path)
    share.set_defaults(run=run_share)


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(data_dir=args.data_dir) if args.data_dir else get_settings()


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise AccountError("give the password on stdin with --password-stdin")
    first = getpass.getpass("Password: ")
    if first != getpass.getpass("Again: "):
        raise AccountError("the two passwords differ")
    return first


def run_users(args: argparse.Namespace) -> int:
    """Run a ``users`` action; returns the exit code."""
    try:
        settings = _settings(args)
        accounts = Accounts(open_database(settings), settings)
        if args.action == "add":
            password = None if args.sso else _password(args.password_stdin)
            accounts.add(args.name, password, admin=args.admin)
            print(f"added {'admin ' if args.admin else ''}{args.name}")
        elif args.action == "passwd":
            accounts.passwd(args.name, _password(args.password_stdin))
            print(f"new password for {args.name}; their sessions ended")
        elif args.action == "remove":
            accounts.remove(args.name)
            print(f"removed {args.name}")
        else:
            for a in accounts.list():
                since = datetime.fromtimestamp(a.created_at).strftime("%Y-%m-%d")
                how = "password" if a.password else "single sign-on"
                print(f"{a.name}\t{'admin' if a.admin else 'user'}\t{how}\tsince {since}")
        return 0
    except USER_ERRORS as exc:
        return report(exc)


def run_share(args: argparse.Namespace) -> int:
    """Share (or stop sharing) a collection, as the local administrator."""
    from rag.docstore import DocStore

    try:
        settings = _settings(args)
        db = open_database(settings)
        if args.grantee != EVERYONE and Accounts(db, settings).user(args.grantee) is None:
            raise AccountError(f"no user named {args.grantee!r}")
        rows = DocStore(db).rows(args.collection)
        if not rows.access()[0]:
            raise AccountError(f"no collection named {args.collection!r}")
        role = None if args.role == "none" else args.role
        rows.set_grant(args.grantee, role)
        whom = "everyone" if args.grantee == EVERYONE else args.grantee
        print(f"{args.collection}: {whom} is {'no longer a member' if role is None else role}")
        return 0
    except USER_ERRORS as exc:
        return report(exc)
