"""Compose Fairdraw: the ASGI application factory and the ``fairdraw`` command line.

This is the only module that imports every package; nothing imports it. Each package exports its
routes, entry types and CLI commands; they are put together here, once.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route

import draw.service
import keys
import ledger.web
from draw.service import _cli as service_cli
from draw.service import demo, shared_metrics
from draw.service import worker as draw_worker
from draw.service.db import migrate as migrate_service
from draw.service.observability import logging_config
from keys import KeyFileError
from keys import _cli as keys_cli
from ledger import _cli as ledger_cli
from ledger import store
from ledger.audit import quick_audit
from ledger.entries import LEDGER_TYPES, Registry
from ledger.errors import LedgerError
from ledger.log import Ledger, now_ms

ENTRY_TYPES = [*LEDGER_TYPES, *draw.service.ENTRY_TYPES]
EXPECTED_ERRORS = (ValueError, LookupError, LedgerError, KeyFileError, OSError)


def registry() -> Registry:
    """Return the registry of every package's entry types."""
    return Registry(ENTRY_TYPES)


def _home(_request: Request) -> Response:
    return RedirectResponse("/log/checkpoint", status_code=307)


def create_app(log: Ledger, service: draw.service.Service | None = None) -> Starlette:
    """Return the Fairdraw ASGI application serving ``log`` (and ``service``, by default one over ``log``)."""
    app = Starlette(
        routes=[
            Route("/", _home, methods=["GET"]),
            *draw.service.ops_routes,
            Mount(draw.service.API_PREFIX, routes=draw.service.routes),
            Mount("/log", routes=ledger.web.routes),
        ],
        middleware=draw.service.middleware,
        exception_handlers=draw.service.exception_handlers,
        lifespan=draw.service.lifespan,
    )
    app.state.ledger = log
    app.state.service = service or draw.service.Service(log)
    return app


def app_from_env() -> Starlette:
    """Return the application over the ledger the environment names (uvicorn factory for --workers)."""
    log = ledger_cli.open_ledger(argparse.Namespace(db=None), registry(), os.environ)
    return _with_worker(create_app(log, draw.service.Service(log, owns_ledger=True)))


def _with_worker(app: Starlette) -> Starlette:
    """Turn on the draw worker as the environment configures it (``draw.service.worker``), and the
    sharing of metrics with the server's other workers when ``fairdraw serve`` named a run directory
    (``draw.service.shared_metrics``)."""
    app.state.draw_worker = draw_worker.settings_from_env(os.environ)
    run = os.environ.get(shared_metrics.RUN_ENV)
    if run:
        interval = shared_metrics.interval_from_env(os.environ)
        metrics = app.state.service.metrics
        app.state.shared_metrics = shared_metrics.SharedMetrics(Path(run), metrics, interval)
    return app


def _open(args: argparse.Namespace, env: Mapping[str, str]) -> Ledger:
    return ledger_cli.open_ledger(args, registry(), env)


def _run_ledger(handler: ledger_cli.Handler, args: argparse.Namespace) -> int:
    log = _open(args, os.environ)
    try:
        return handler(args, log)
    finally:
        log.close()


def _cmd_rotate(args: argparse.Namespace) -> int:
    env = os.environ
    path = keys_cli.key_file_path(env, ledger_cli.home_dir(env), args.key)
    log = _open(args, env)
    try:
        new_key = keys.generate(args.name or log.origin())
        staged = path.with_name(path.name + ".new")
        keys.write_key_file(staged, new_key, keys.passphrase_from_env(env))
        result = log.rotate_key(new_key)
    finally:
        log.close()
    os.replace(path, path.with_name(f"{path.name}.retired-{result.index}"))
    os.replace(staged, path)
    print(f"rotated at entry {result.index}; new verifier key:")
    print(new_key.verifier_key)
    return 0


def _serve(log: Ledger, home: Path, host: str, port: int, workers: int = 1) -> int:
    import uvicorn

    migrate_service(log.engine)
    quick_audit(log.engine)
    shared_metrics.interval_from_env(os.environ)  # a bad interval stops the server here, not each worker
    try:
        os.environ[shared_metrics.RUN_ENV] = str(shared_metrics.new_run(home))  # for every worker
    except OSError as exc:
        os.environ.pop(shared_metrics.RUN_ENV, None)
        print(f"fairdraw: metrics: {exc}; each worker's /metrics shows its own counts", file=sys.stderr)
    config = logging_config()
    if workers == 1:
        app = _with_worker(create_app(log))
        uvicorn.run(app, host=host, port=port, log_config=config, access_log=False)
    else:  # each worker process builds its own application (and ledger) from the environment
        uvicorn.run("fairdraw:app_from_env", factory=True, workers=workers, host=host, port=port,
                    log_config=config, access_log=False)
    return 0


def _cmd_serve(args: argparse.Namespace) -> int:
    if args.workers < 1:
        raise ValueError("serve: --workers must be at least 1")
    if args.db:
        os.environ["FAIRDRAW_DATABASE_URL"] = args.db  # the workers open the ledger from the environment
    log = _open(args, os.environ)
    try:
        return _serve(log, ledger_cli.home_dir(os.environ), args.host, args.port, args.workers)
    finally:
        log.close()


def _cmd_demo(args: argparse.Namespace) -> int:
    home = Path(args.home or os.environ.get("FAIRDRAW_HOME") or "fairdraw-demo").resolve()
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, FAIRDRAW_HOME=str(home))
    if "FAIRDRAW_KEY_PASSPHRASE" not in env and "FAIRDRAW_KEY_PASSPHRASE_FILE" not in env:
        passphrase_file = home / "demo-passphrase"
        if not passphrase_file.exists():
            fd = os.open(passphrase_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(24) + "\n")
        env["FAIRDRAW_KEY_PASSPHRASE_FILE"] = str(passphrase_file)
    key_path = keys_cli.key_file_path(env, home)
    if not key_path.exists():
        keys.write_key_file(key_path, keys.generate("fairdraw.demo/log"), keys.passphrase_from_env(env))
    args.db = None
    _build_demo(args, env, home)
    log = ledger_cli.open_ledger(args, registry(), env)
    try:
        print(f"demo ledger in {home}: {log.size()} entries", flush=True)
        return _serve(log, home, args.host, args.port) if args.serve else 0
    finally:
        log.close()


def _build_demo(args: argparse.Namespace, env: Mapping[str, str], home: Path) -> None:
    """Build the demo world (``draw.service.demo``) on the ledger in ``home`` unless it is there."""
    now = now_ms()
    clock = demo.DemoClock(now)
    key = keys.load_signing_key(env, home, None)
    log = Ledger(store.create_engine(ledger_cli.database_url(env, None)), key, registry(), clock=clock)
    service = draw.service.Service(log, clock=clock)  # its rosters fit Config.max_roster_body_bytes
    try:
        clock.now = demo.START_MS  # a fresh demo ledger starts in 2024 (draw.service.demo)
        log.init("fairdraw.demo/log")
        summary = demo.build_world(create_app(log, service), service, clock, now_ms=now,
                                   entities=args.entities, draws=args.draws, randbytes=os.urandom)
    finally:
        log.close()
    if summary.built:
        tokens = home / "demo-tokens.json"
        fd = os.open(tokens, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(summary.tokens, out, indent=2)
        states = ", ".join(f"{state} {len(ids)}" for state, ids in sorted(summary.draws.items()))
        print(f"demo world: {summary.entities} entities, {summary.inspectors} inspectors, draws: {states} "
              f"({summary.matched} matching inspector teams), {summary.disclosures} disclosures; "
              f"department tokens in {tokens}", flush=True)


def build_parser() -> argparse.ArgumentParser:
    """Return the ``fairdraw`` argument parser with every package's subcommands."""
    parser = argparse.ArgumentParser(prog="fairdraw", description="Fairdraw: verifiable random selection.")
    commands = parser.add_subparsers(dest="command", required=True)
    key_commands = keys_cli.add_commands(commands)
    rotate = key_commands.add_parser("rotate", help="rotate the log key (appends a key.rotate entry)")
    rotate.add_argument("--db", help="database URL")
    rotate.add_argument("--key", type=Path, help="key file (default: $FAIRDRAW_HOME/keys/log.key)")
    rotate.add_argument("--name", help="key name of the new key (default: the log origin)")
    rotate.set_defaults(handler=_cmd_rotate)
    ledger_cli.add_commands(commands, _run_ledger)
    serve = commands.add_parser("serve", help="run the service")
    serve.add_argument("--db", help="database URL")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    serve.set_defaults(handler=_cmd_serve)
    service_cli.add_commands(commands, _run_ledger)
    demo = commands.add_parser("demo", help="build the demo world in ./fairdraw-demo (or --home)")
    demo.add_argument("--home", help="data directory for the demo")
    demo.add_argument("--serve", action="store_true", help="serve the demo after building it")
    demo.add_argument("--host", default="127.0.0.1")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--entities", type=int, default=50_000, help="market entities (default 50,000)")
    demo.add_argument("--draws", type=int, default=40, help="draws (default 40)")
    demo.set_defaults(handler=_cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fairdraw`` command line; return the exit code. Errors are one plain line on stderr."""
    args = build_parser().parse_args(argv)
    try:
        result: int = args.handler(args)
    except EXPECTED_ERRORS as exc:
        print(f"fairdraw: {exc}", file=sys.stderr)
        return 1
    return result



if __name__ == "__main__":
    sys.exit(main())
