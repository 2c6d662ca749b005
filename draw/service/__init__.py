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
``ops`` (health endpoints), ``core`` (Service), ``db`` (tables, migrations), ``departments``.
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

from draw.service import departments, openapi, ops
from draw.service.auth import authenticated_code
from draw.service.core import Config, Service
from draw.service.http import API_PREFIX, EXCEPTION_HANDLERS
from draw.service.observability import ObservabilityMiddleware

routes = [*departments.routes, *openapi.routes]
ops_routes = list(ops.routes)
middleware = [Middleware(ObservabilityMiddleware, department_of=authenticated_code)]
exception_handlers: dict[Any, Any] = dict(EXCEPTION_HANDLERS)
ENTRY_TYPES = list(departments.ENTRY_TYPES)


@contextlib.asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Run ``app.state.service.start()`` (migrations, quick audit) in a worker thread; close on exit."""
    service: Service = app.state.service
    await anyio.to_thread.run_sync(service.start)
    try:
        yield
    finally:
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
