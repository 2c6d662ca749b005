"""The certified-draw service: the department-facing JSON API under ``/api/v1`` (docs/api.md).

The composing module mounts what this package exports, once::

    Starlette(
        routes=[*ops_routes, Mount(API_PREFIX, routes=routes), ...],
        middleware=middleware,
        exception_handlers=exception_handlers,
        lifespan=lifespan,
    )
    app.state.service = Service(ledger, clock=..., config=...)

Modules: ``http`` (problem documents, strict JSON, cursors), ``auth`` (departments, tokens, roles),
``signature`` (signed requests), ``idempotency`` (Idempotency-Key), ``routing`` (ApiRoute and the POST
pipeline), ``openapi`` (the OpenAPI document and docs page), ``observability`` (metrics, JSON logs),
``ops`` (health endpoints), ``core`` (Service), ``db`` (tables, migrations), ``departments``,
``department_keys`` (key rotation and history).
Later modules add their routes to :data:`routes`, their entry types to :data:`ENTRY_TYPES` and their
tables to ``db.metadata`` (with a migration revision).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio.to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware

from draw.service import (
    department_keys,
    departments,
    disclosures,
    draws,
    items,
    openapi,
    ops,
    plans,
    rosters,
    tasks,
    worker,
)
from draw.service.auth import authenticated_code
from draw.service.core import Config, Service
from draw.service.http import API_PREFIX, EXCEPTION_HANDLERS
from draw.service.observability import ObservabilityMiddleware
from draw.service.shared_metrics import SharedMetrics

routes = [
    *draws.routes,  # first: Starlette tries routes in order, and a draw's status is the most read path
    *departments.routes,
    *department_keys.routes,
    *rosters.routes,
    *items.routes,
    *plans.routes,
    *tasks.routes,
    *disclosures.routes,
    *openapi.routes,
]
ops_routes = list(ops.routes)
middleware = [Middleware(ObservabilityMiddleware, department_of=authenticated_code)]
exception_handlers: dict[Any, Any] = dict(EXCEPTION_HANDLERS)
ENTRY_TYPES = [
    *departments.ENTRY_TYPES,
    *department_keys.ENTRY_TYPES,
    *rosters.ENTRY_TYPES,
    *items.ENTRY_TYPES,
    *plans.ENTRY_TYPES,
    *tasks.ENTRY_TYPES,
    *draws.ENTRY_TYPES,
    *disclosures.ENTRY_TYPES,
]


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Run ``app.state.service.start()`` (migrations, quick audit) in a worker thread, provide the draws
    to disclosures, start the draw worker if ``app.state.draw_worker`` asks for it and the metrics
    writer if ``app.state.shared_metrics`` is set (``shared_metrics``); stop them and close on exit."""
    service: Service = app.state.service
    await anyio.to_thread.run_sync(service.start)
    app.state.disclosure_targets = draws.DISCLOSURE_TARGETS
    shared: SharedMetrics | None = getattr(app.state, "shared_metrics", None)
    if shared is not None:
        await anyio.to_thread.run_sync(shared.start)
    running = await anyio.to_thread.run_sync(worker.start, app)
    try:
        yield
    finally:
        if running is not None:
            await anyio.to_thread.run_sync(running.stop)
        if shared is not None:
            await anyio.to_thread.run_sync(shared.stop)
        await anyio.to_thread.run_sync(service.close)


__all__ = [
    "API_PREFIX",
    "ENTRY_TYPES",
    "Config",
    "Service",
    "exception_handlers",
    "lifespan",
    "middleware",
    "ops_routes",
    "routes",
]
