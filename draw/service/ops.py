"""Operational endpoints outside ``/api/v1``: ``/healthz``, ``/readyz`` and ``/metrics``.

* ``GET /healthz``: 200 ``{"status": "ok"}`` while the process serves requests (liveness).
* ``GET /readyz``: 200 ``{"status": "ready", "checks": {...}}`` when the database answers and the
  ledger's quick audit passed at start-up; otherwise 503 ``{"status": "not ready", "checks": {...}}``
  with the reason per check (readiness).
* ``GET /metrics``: the Prometheus text exposition (see ``draw.service.observability``), summed over
  the server's worker processes under ``fairdraw serve`` (``draw.service.shared_metrics``).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from draw.service.core import service_of
from draw.service.observability import CONTENT_TYPE

_NO_STORE = {"Cache-Control": "no-store"}


async def healthz(_request: Request) -> Response:
    """GET /healthz: liveness (on the event loop: it touches nothing)."""
    return JSONResponse({"status": "ok"}, headers=_NO_STORE)


def readyz(request: Request) -> Response:
    """GET /readyz: readiness; one database round trip."""
    checks = service_of(request).readiness()
    ready = all(value == "ok" for value in checks.values())
    body = {"status": "ready" if ready else "not ready", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503, headers=_NO_STORE)


def metrics(request: Request) -> Response:
    """GET /metrics: every metric of the server (this process, plus the other worker processes when
    ``app.state.shared_metrics`` shares them: ``draw.service.shared_metrics``), and the ledger's size
    (one query)."""
    service = service_of(request)
    shared = getattr(request.app.state, "shared_metrics", None)  # a SharedMetrics, or None
    counts = service.metrics if shared is None else shared.merged()
    text = counts.render(service.ledger.size())
    return PlainTextResponse(text, media_type=CONTENT_TYPE, headers=_NO_STORE)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics, methods=["GET"]),
]
