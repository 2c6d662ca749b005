"""Helpers for tests of the draw service: a served world of departments, signed POSTs, the auth matrix.

Tests that need a real server start one with :func:`serving` (``python -m fairdraw serve`` on a
:func:`free_port`). A later endpoint gets the whole authentication matrix in one call::

    with open_world(db_url) as world:
        assert_auth_matrix(world, "GET", "/api/v1/plans/HZ", own="HZ", other="NB")
        assert_auth_matrix(world, "POST", "/api/v1/plans/HZ", own="HZ", other="NB", body={...},
                           want_own=201)

The standard world has three departments: ``HZ`` (role submit, no key), ``NB`` (role submit, with an
Ed25519 key: its POSTs are signed by :func:`post`), ``ZJ`` (role oversee only).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx2 as httpx
from starlette.testclient import TestClient

import fairdraw
import keys
from draw.service import Config, Service
from draw.service.departments import register_department
from draw.service.sfstring import parse_sf_string
from draw.service.signature import HEADER as SIGNATURE_HEADER
from draw.service.signature import SignedFields, sign_request
from ledger import jcs, store
from ledger.log import Ledger, now_ms
from tests.conftest import fixed_randbytes
from tests.ledger_helpers import ORIGIN, log_key

ROOT = Path(__file__).resolve().parent.parent
START_MS = 1_764_283_755_123
DEPARTMENTS = (
    ("HZ", "杭州市市场监督管理局", ("submit",), False),
    ("NB", "宁波市市场监督管理局", ("submit",), True),
    ("ZJ", "浙江省市场监督管理局", ("oversee",), False),
)
WRONG_TOKEN = "fdt_" + "A" * 43


class FakeClock:
    """A settable clock in epoch milliseconds."""

    def __init__(self, now: int = START_MS) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


@dataclass
class World:
    """A served ledger and service with registered departments."""

    log: Ledger
    service: Service
    client: TestClient
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)
    signing_keys: dict[str, keys.SigningKey] = field(default_factory=dict)
    _keys: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def auth(self, code: str) -> dict[str, str]:
        """Return the Authorization header of department ``code``."""
        return {"Authorization": f"Bearer {self.tokens[code]}"}

    def new_key(self) -> str:
        """Return a fresh Idempotency-Key header value."""
        return f'"test-key-{next(self._keys)}"'


def department_key(code: str) -> keys.SigningKey:
    """Return the reproducible Ed25519 key of department ``code``."""
    seed = int.from_bytes(hashlib.sha256(code.encode()).digest()[:4], "big")
    return keys.generate(f"{code.lower()}.dept.test", randbytes=fixed_randbytes(seed))


@contextlib.contextmanager
def open_world(
    url: str,
    departments: tuple[tuple[str, str, tuple[str, ...], bool], ...] = DEPARTMENTS,
    config: Config | None = None,
    start_ms: int | None = None,
) -> Iterator[World]:
    """Serve a fresh ledger on ``url`` and register ``departments`` (code, name, roles, has key).

    With ``start_ms`` the ledger, too, runs on the world's FakeClock, starting there.
    """
    clock = FakeClock() if start_ms is None else FakeClock(start_ms)
    ledger_clock = now_ms if start_ms is None else clock
    log = Ledger(store.create_engine(url), log_key(), fairdraw.registry(), clock=ledger_clock)
    log.init(ORIGIN)
    service = Service(log, clock=clock, config=config, randbytes=fixed_randbytes(99))
    try:
        with TestClient(fairdraw.create_app(log, service)) as client:
            world = World(log, service, client, clock)
            for code, name, roles, has_key in departments:
                key = department_key(code) if has_key else None
                _, token = register_department(service, code, name, key.verifier_key if key else None, roles)
                world.tokens[code] = token
                if key is not None:
                    world.signing_keys[code] = key
            yield world
    finally:
        log.close()


def signature_header(
    world: World,
    code: str,
    path: str,
    key: str,
    body: bytes,
    time_ms: int | None = None,
    method: str = "POST",
) -> str:
    """Return department ``code``'s Fairdraw-Signature for a request (key: the header value)."""
    fields = SignedFields(
        ORIGIN,
        code,
        method,
        path,
        parse_sf_string(key),
        world.clock() if time_ms is None else time_ms,
        hashlib.sha256(body).digest(),
    )
    return sign_request(world.signing_keys[code].signer(), fields)


def post(
    world: World,
    path: str,
    body: Any,
    code: str | None,
    *,
    key: str | None = None,
    sign: bool = True,
    headers: Mapping[str, str] | None = None,
) -> httpx.Response:
    """POST canonical JSON ``body`` as department ``code`` (None: no token), signing it if the
    department has a key and ``sign`` is set. ``key`` defaults to a fresh Idempotency-Key."""
    data = body if isinstance(body, bytes) else jcs.canonicalize(body)
    key = key or world.new_key()
    sent = {"Content-Type": "application/json", "Idempotency-Key": key}
    if code is not None:
        sent.update(world.auth(code))
        if sign and code in world.signing_keys:
            sent[SIGNATURE_HEADER] = signature_header(world, code, path, key, data)
    sent.update(headers or {})
    return world.client.post(path, content=data, headers=sent)


def assert_problem(
    response: httpx.Response, status: int, slug: str, field: str | None = None
) -> dict[str, Any]:
    """Assert ``response`` is an RFC 9457 problem of type ``slug`` naming ``field``; return it."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"] == "application/problem+json"
    doc: dict[str, Any] = response.json()
    want_type = "about:blank" if slug == "about:blank" else f"/api/v1/docs#problem-{slug}"
    assert doc["type"] == want_type and doc["status"] == status
    assert set(doc) == {"type", "title", "status", "detail", "instance", "errors"}
    if field is not None:
        assert field in [e["field"] for e in doc["errors"]], doc
    return doc


def assert_auth_matrix(
    world: World,
    method: str,
    path: str,
    *,
    own: str,
    other: str | None,
    body: Any = None,
    want_own: int = 200,
    want_other: int = 403,
) -> dict[str, int]:
    """Check ``method path`` with no credentials (401), a wrong token (401), department ``other``'s
    token (``want_other``) and ``own``'s token (``want_own``). For a POST, check that nothing but the
    ``own`` request reached the ledger. Return the statuses by case."""

    def call(code: str | None, extra: Mapping[str, str] | None = None) -> httpx.Response:
        if method == "POST":
            return post(world, path, body, code, headers=extra)
        return world.client.request(
            method, path, headers={**(world.auth(code) if code else {}), **(extra or {})}
        )

    size = world.log.size()
    none = call(None)
    assert_problem(none, 401, "unauthorized", "Authorization")
    assert none.headers["www-authenticate"] == 'Bearer realm="fairdraw"'
    wrong = call(None, {"Authorization": f"Bearer {WRONG_TOKEN}"})
    assert_problem(wrong, 401, "unauthorized", "Authorization")
    assert wrong.headers["www-authenticate"] == 'Bearer realm="fairdraw", error="invalid_token"'
    statuses = {"none": none.status_code, "wrong": wrong.status_code}
    if other is not None:
        statuses["other"] = call(other).status_code
        assert statuses["other"] == want_other, (statuses, path)
    assert world.log.size() == size, "a refused request reached the ledger"
    statuses["own"] = call(own).status_code
    assert statuses["own"] == want_own, (statuses, path)
    return statuses


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(log_path: Path, *args: str) -> Iterator[subprocess.Popen[bytes]]:
    """Run ``python -m fairdraw serve *args`` from the project root (environment as it is), its
    output appended to ``log_path``; on leaving, stop it with SIGTERM (SIGKILL after 30 s) unless it
    has ended."""
    with log_path.open("ab") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "fairdraw", "serve", *args],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            proc.wait()
