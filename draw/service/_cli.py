"""The ``fairdraw dept`` commands: ``dept add CODE NAME [--vkey VKEY] [--role ROLE]...``,
``dept token CODE`` and ``dept key CODE (--vkey VKEY | --remove) [--wait SECONDS]``.

``dept add`` registers a department: it appends the ``dept.register`` ledger entry and prints the
department's API token once, on standard output. ``dept token`` replaces a department's token (the
old one stops working) and prints the new one once. ``dept key`` rotates or removes the
department's Ed25519 key (a ``dept.key`` entry, ``draw.service.department_keys``). A token is
stored only as its SHA-256 and is never logged. Errors print one plain line on stderr and exit 1;
nothing is written on bad input.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from draw.service.auth import DEFAULT_ROLES, ROLES
from draw.service.core import Service
from draw.service.db import migrate
from draw.service.department_keys import DEFAULT_WAIT_MS, change_key
from draw.service.departments import register_department, reissue_token
from ledger.log import Ledger

Handler = Callable[[argparse.Namespace, Ledger], int]


def _cmd_add(args: argparse.Namespace, log: Ledger) -> int:
    service = Service(log)
    migrate(service.engine)
    department, token = register_department(
        service, args.code, args.name, args.vkey, args.role or DEFAULT_ROLES
    )
    print(f"registered department {department.code} at ledger entry {department.ledger_index}")
    print(f"roles: {' '.join(sorted(department.roles))}")
    print("API token (shown once, store it now):")
    print(token, flush=True)
    return 0


def _cmd_token(args: argparse.Namespace, log: Ledger) -> int:
    service = Service(log)
    migrate(service.engine)
    token = reissue_token(service, args.code)
    print(f"new API token of department {args.code} (shown once; the old token no longer works):")
    print(token, flush=True)
    return 0


def _cmd_key(args: argparse.Namespace, log: Ledger) -> int:
    if not args.wait >= 0:
        raise ValueError("dept key: --wait must be a non-negative number of seconds")
    service = Service(log)
    migrate(service.engine)
    vkey = None if args.remove else args.vkey
    index = change_key(service, args.code, vkey, wait_ms=round(args.wait * 1000))
    if vkey is None:
        print(f"department {args.code} has no key from ledger entry {index} on (its requests are unsigned)")
    else:
        print(f"department {args.code} signs with {vkey} from ledger entry {index} on")
    return 0


def add_commands(subparsers: Any, run: Callable[[Handler, argparse.Namespace], int]) -> None:
    """Register ``dept add``, ``dept token`` and ``dept key``. ``run(handler, args)`` opens the ledger
    named by ``args.db`` and calls the handler with it."""
    parser = subparsers.add_parser("dept", help="departments of the draw service")
    commands = parser.add_subparsers(dest="dept_command", required=True)
    add = commands.add_parser("add", help="register a department; print its API token once")
    add.add_argument("code", help="department code, [A-Z0-9][A-Z0-9_-]{0,31}")
    add.add_argument("name", help="department name (NFC text)")
    add.add_argument(
        "--vkey", help="the department's Ed25519 C2SP verifier key (requests must then be signed)"
    )
    add.add_argument(
        "--role",
        action="append",
        choices=ROLES,
        help=f"role to grant (repeatable; default: {' '.join(DEFAULT_ROLES)})",
    )
    add.add_argument("--db", help="database URL (default: $FAIRDRAW_DATABASE_URL or embedded SQLite)")
    add.set_defaults(handler=lambda args: run(_cmd_add, args))
    token = commands.add_parser("token", help="replace a department's API token; print the new one once")
    token.add_argument("code", help="department code")
    token.add_argument("--db", help="database URL (default: $FAIRDRAW_DATABASE_URL or embedded SQLite)")
    token.set_defaults(handler=lambda args: run(_cmd_token, args))
    key = commands.add_parser("key", help="change or remove a department's key (appends a dept.key entry)")
    key.add_argument("code", help="department code")
    which = key.add_mutually_exclusive_group(required=True)
    which.add_argument("--vkey", help="the department's new Ed25519 C2SP verifier key")
    which.add_argument("--remove", action="store_true", help="remove the key: requests are then unsigned")
    key.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_MS / 1000,
        help="seconds to wait for the department's requests in progress (default %(default)s)",
    )
    key.add_argument("--db", help="database URL (default: $FAIRDRAW_DATABASE_URL or embedded SQLite)")
    key.set_defaults(handler=lambda args: run(_cmd_key, args))
