"""The Service object: what every endpoint of the draw service reaches through ``request.app.state.service``.

It holds the ledger (``ledger.log.Ledger``), the database engine the ledger and the service's tables
share, the clock (epoch milliseconds; passed in so tests are reproducible), the randomness source for
tokens, the configuration and the process's metrics. :meth:`Service.start` runs once at application
start-up (in a worker thread): it migrates the service's tables and runs the ledger's quick audit,
whose outcome :meth:`Service.readiness` reports from then on.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from starlette.requests import Request

from draw.service import db, idempotency
from draw.service.observability import Metrics
from ledger import store
from ledger.audit import quick_audit
from ledger.cache import Cache
from ledger.errors import LedgerError
from ledger.log import Ledger, now_ms


@dataclass(frozen=True)
class Config:
    """Limits and windows of the API. Every field has a safe default."""

    max_body_bytes: int = 1 << 20
    max_roster_body_bytes: int = 64 << 20
    signature_window_ms: int = 5 * 60 * 1000
    idempotency_retention_ms: int = 24 * 60 * 60 * 1000
    page_limit_default: int = 50
    page_limit_max: int = 500


@dataclass
class StartupCheck:
    """The outcome of :meth:`Service.start`: None while it has not run, else the audit's verdict."""

    ledger_ok: bool | None = None
    detail: str = "start-up checks have not run"


class Service:
    """The draw service's state, shared by all requests of one process.

    ``clock()`` returns milliseconds since the epoch; ``randbytes(n)`` returns n random bytes (API
    tokens). The Service does not own ``ledger`` unless ``owns_ledger`` is set, in which case
    :meth:`close` closes it.
    """

    def __init__(
        self,
        ledger: Ledger,
        *,
        clock: Callable[[], int] = now_ms,
        config: Config | None = None,
        randbytes: Callable[[int], bytes] = os.urandom,
        owns_ledger: bool = False,
    ) -> None:
        self.ledger = ledger
        self.engine: Engine = ledger.engine
        self.clock = clock
        self.config = config or Config()
        self.randbytes = randbytes
        self.metrics = Metrics()
        self.startup = StartupCheck()
        self.owns_ledger = owns_ledger
        self.cache: dict[str, object] = {}
        self._caches: dict[str, Cache[Any, Any]] = {}

    def start(self) -> None:
        """Migrate the service's tables, start the ledger's change signal (``Ledger.watch_changes``),
        prune the expired Idempotency-Keys, then run the ledger's quick audit (O(log n) reads) and
        record it.

        A failed audit does not raise: the service then answers ``/readyz`` with 503 and the reason.
        Raises only if the database cannot be migrated.
        """
        db.migrate(self.engine)
        self.ledger.watch_changes()
        idempotency.prune(self.engine, self.clock(), self.config.idempotency_retention_ms)
        try:
            size = quick_audit(self.engine)
        except (LedgerError, LookupError, ValueError) as exc:
            self.startup = StartupCheck(False, f"ledger quick audit failed: {exc}")
            return
        self.startup = StartupCheck(True, f"ledger quick audit passed at size {size}")

    def readiness(self) -> dict[str, str]:
        """Return {check: "ok" or the reason it fails} for ``database`` and ``ledger``. One query."""
        try:
            with store.reading(self.engine) as conn:
                conn.execute(sa.text("SELECT 1"))
            database = "ok"
        except sa.exc.SQLAlchemyError as exc:
            database = f"unreachable: {type(exc).__name__}"
        ledger = "ok" if self.startup.ledger_ok else self.startup.detail
        return {"database": database, "ledger": ledger}

    def origin(self) -> str:
        """Return the ledger's origin line (read once, then cached). Raises LedgerError before init."""
        cached = self.cache.get("origin")
        if isinstance(cached, str):
            return cached
        origin = self.ledger.origin()
        self.cache["origin"] = origin
        return origin

    def cache_of(self, name: str, budget: int, cost: Callable[[Any], int] | None = None) -> Cache[Any, Any]:
        """Return this service's cache ``name`` of immutable values (``ledger.cache``), made on first
        use with ``budget`` and ``cost`` (default: 1 a value). The service is one ledger's, so ledger
        indexes may be keys."""
        found = self._caches.get(name)
        if found is None:
            made: Cache[Any, Any] = Cache(budget) if cost is None else Cache(budget, cost)
            found = self._caches.setdefault(name, made)
        return found

    def close(self) -> None:
        """Close the ledger if this Service owns it."""
        if self.owns_ledger:
            self.ledger.close()


def service_of(request: Request) -> Service:
    """Return the Service of the application serving ``request``."""
    service: Service = request.app.state.service
    return service
