"""The ``fairdraw ledger`` commands: init, append, checkpoint, proof, entry, audit, export-tiles.

Every command takes ``--db URL`` (default ``$FAIRDRAW_DATABASE_URL``, else the embedded SQLite file in
``$FAIRDRAW_HOME``). Commands that write need the log key (``keys.load_signing_key``). Errors print one
plain line on stderr and exit 1; nothing is written when input is bad.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

from keys import load_signing_key
from ledger import jcs, store
from ledger.audit import audit
from ledger.entries import Registry
from ledger.export import export_tiles
from ledger.log import Ledger

DEFAULT_ORIGIN = "fairdraw.local/log"


def home_dir(env: Mapping[str, str]) -> Path:
    """Return the data directory: ``$FAIRDRAW_HOME``, else ``~/.fairdraw``."""
    return Path(env.get("FAIRDRAW_HOME") or Path.home() / ".fairdraw")


def database_url(env: Mapping[str, str], flag: str | None) -> str:
    """Return the database URL: the ``--db`` flag, ``$FAIRDRAW_DATABASE_URL``, or embedded SQLite."""
    if flag:
        return flag
    if env.get("FAIRDRAW_DATABASE_URL"):
        return env["FAIRDRAW_DATABASE_URL"]
    home = home_dir(env)
    home.mkdir(parents=True, exist_ok=True)
    return store.default_url(home)


def open_ledger(args: argparse.Namespace, registry: Registry, env: Mapping[str, str]) -> Ledger:
    """Open the ledger named by ``args.db`` with the log key from the environment."""
    engine = store.create_engine(database_url(env, args.db))
    key = load_signing_key(env, home_dir(env), getattr(args, "key", None))
    return Ledger(engine, key, registry)


def _read_lines(source: IO[str], registry: Registry) -> list[tuple[str, dict[str, Any]]]:
    items = []
    for number, line in enumerate(source, start=1):
        if not line.strip():
            continue
        try:
            value = jcs.loads(line)
            if not isinstance(value, dict) or set(value) != {"type", "body"}:
                raise ValueError('expected one object {"type": T, "body": {...}}')
            registry.check(value["type"], value["body"])
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
        items.append((value["type"], value["body"]))
    return items


def _cmd_init(args: argparse.Namespace, ledger: Ledger) -> int:
    result = ledger.init(args.origin)
    print(result.checkpoint.decode("utf-8"), end="")
    return 0


def _cmd_append(args: argparse.Namespace, ledger: Ledger) -> int:
    if args.file == "-":
        items = _read_lines(sys.stdin, ledger.registry)
    else:
        with open(args.file, encoding="utf-8") as source:
            items = _read_lines(source, ledger.registry)
    for result in ledger.append_many(items):
        print(result.index, base64.b64encode(result.leaf_hash).decode("ascii"), flush=True)
    return 0


def _cmd_checkpoint(_args: argparse.Namespace, ledger: Ledger) -> int:
    sys.stdout.write(ledger.checkpoint().decode("utf-8"))
    return 0


def _cmd_inclusion(args: argparse.Namespace, ledger: Ledger) -> int:
    sys.stdout.write(ledger.tlog_proof(args.index, args.size))
    return 0


def _cmd_consistency(args: argparse.Namespace, ledger: Ledger) -> int:
    for h in ledger.prove_consistency(args.old, args.new):
        print(base64.b64encode(h).decode("ascii"))
    return 0


def _cmd_entry(args: argparse.Namespace, ledger: Ledger) -> int:
    sys.stdout.buffer.write(ledger.entry(args.index))
    sys.stdout.buffer.write(b"\n")
    return 0


def _cmd_audit(_args: argparse.Namespace, ledger: Ledger) -> int:
    summary = audit(ledger.engine)
    root = base64.b64encode(summary.root).decode("ascii")
    print(f"ok: {summary.size} entries, {summary.checkpoints} checkpoints, root {root}")
    return 0


def _cmd_export(args: argparse.Namespace, ledger: Ledger) -> int:
    written = export_tiles(ledger, Path(args.directory))
    print(f"wrote {written} files to {args.directory}")
    return 0


Handler = Callable[[argparse.Namespace, Ledger], int]


def add_commands(subparsers: Any, run: Callable[[Handler, argparse.Namespace], int]) -> None:
    """Register ``ledger`` and its subcommands. ``run(handler, args)`` opens the ledger and calls it."""
    parser = subparsers.add_parser("ledger", help="the transparency ledger")
    commands = parser.add_subparsers(dest="ledger_command", required=True)

    def command(group: Any, name: str, handler: Handler, help_text: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = group.add_parser(name, help=help_text)
        sub.add_argument("--db", help="database URL (default: $FAIRDRAW_DATABASE_URL or embedded SQLite)")
        sub.set_defaults(handler=lambda args: run(handler, args))
        return sub

    init = command(commands, "init", _cmd_init, "create the ledger and announce the log key")
    init.add_argument("--origin", default=os.environ.get("FAIRDRAW_LOG_ORIGIN", DEFAULT_ORIGIN))
    append = command(commands, "append", _cmd_append, "append JSON lines; print each index and leaf hash")
    append.add_argument("file", nargs="?", default="-", help="input file (default: stdin)")
    command(commands, "checkpoint", _cmd_checkpoint, "print the newest signed checkpoint")
    proof = commands.add_parser("proof", help="inclusion and consistency proofs")
    kinds = proof.add_subparsers(dest="proof_kind", required=True)
    inclusion = command(kinds, "inclusion", _cmd_inclusion, "print a c2sp.org/tlog-proof@v1 receipt")
    inclusion.add_argument("index", type=int)
    inclusion.add_argument("--size", type=int, help="tree size of a signed checkpoint (default: newest)")
    consistency = command(kinds, "consistency", _cmd_consistency, "print a consistency proof (base64 lines)")
    consistency.add_argument("old", type=int)
    consistency.add_argument("new", type=int)
    entry = command(commands, "entry", _cmd_entry, "print an entry's canonical bytes")
    entry.add_argument("index", type=int)
    command(commands, "audit", _cmd_audit, "recompute and check the whole ledger")
    export = command(commands, "export-tiles", _cmd_export, "write the C2SP tlog-tiles layout to a directory")
    export.add_argument("directory")
