"""The ledger's HTTP read endpoints: checkpoint, C2SP tlog-tiles, receipts and consistency proofs.

Mounted by the composing module (under ``/log``). The ledger object is ``request.app.state.ledger``.
Tiles and entry bundles are immutable once published, so they are cacheable forever; the checkpoint
changes with every append and is never cached.
"""

from __future__ import annotations

import base64

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from ledger import blobs, store
from ledger.log import Ledger

_IMMUTABLE = {"Cache-Control": "public, max-age=31536000, immutable"}
_NO_STORE = {"Cache-Control": "no-store"}


def _ledger(request: Request) -> Ledger:
    ledger: Ledger = request.app.state.ledger
    return ledger


def _not_found(message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=404, headers=_NO_STORE)


async def checkpoint(request: Request) -> Response:
    """GET /checkpoint: the newest signed checkpoint, verbatim. On the event loop: one short query,
    cheaper there than the hand-off to a worker thread."""
    try:
        note = _ledger(request).checkpoint()
    except LookupError as exc:
        return _not_found(str(exc))
    return Response(note, media_type="text/plain; charset=utf-8", headers=_NO_STORE)


async def tile(request: Request) -> Response:
    """GET /tile/...: a hash tile or entry bundle at its C2SP tlog-tiles path. A tile kept in memory
    is served on the event loop; another is read in a worker thread (an entry bundle may be large)."""
    path = "tile/" + request.path_params["path"]
    ledger = _ledger(request)
    data = ledger.kept_tile(path)
    if data is None:
        try:
            data = await run_in_threadpool(ledger.read_tile, path)
        except (LookupError, ValueError) as exc:
            return _not_found(str(exc))
    return Response(data, media_type="application/octet-stream", headers=_IMMUTABLE)


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    if not raw.isdigit() or (len(raw) > 1 and raw[0] == "0") or len(raw) > 16:
        raise ValueError(f"ledger: {name} must be a decimal integer")
    return int(raw)


def inclusion(request: Request) -> Response:
    """GET /proof/inclusion/{index}?size=N: a c2sp.org/tlog-proof@v1 receipt for an entry."""
    try:
        text = _ledger(request).tlog_proof(request.path_params["index"], _int_param(request, "size"))
    except ValueError as exc:
        return PlainTextResponse(str(exc) + "\n", status_code=400)
    except LookupError as exc:
        return _not_found(str(exc))
    return PlainTextResponse(text, headers=_NO_STORE)


def consistency(request: Request) -> Response:
    """GET /proof/consistency/{old}/{new}: the RFC 9162 consistency proof, one base64 hash a line."""
    try:
        proof = _ledger(request).prove_consistency(request.path_params["old"], request.path_params["new"])
    except ValueError as exc:
        return PlainTextResponse(str(exc) + "\n", status_code=400)
    body = "".join(base64.b64encode(h).decode("ascii") + "\n" for h in proof)
    return PlainTextResponse(body, headers=_IMMUTABLE)


def blob(request: Request) -> Response:
    """GET /blob/sha256:<hex>: a blob's bytes; 410 Gone with the reason if it was erased."""
    ledger = _ledger(request)
    try:
        with store.reading(ledger.engine) as conn:
            found = blobs.info(conn, request.path_params["digest"])
            data = blobs.get(conn, request.path_params["digest"]) if found else None
    except ValueError as exc:
        return _not_found(str(exc))
    if found is None:
        return _not_found("ledger: no such blob")
    if data is None:
        return PlainTextResponse(f"erased: {found.erased}\n", status_code=410, headers=_IMMUTABLE)
    return Response(data, media_type="application/octet-stream", headers=_IMMUTABLE)


routes = [
    Route("/checkpoint", checkpoint, methods=["GET"]),
    Route("/tile/{path:path}", tile, methods=["GET"]),
    Route("/proof/inclusion/{index:int}", inclusion, methods=["GET"]),
    Route("/proof/consistency/{old:int}/{new:int}", consistency, methods=["GET"]),
    Route("/blob/{digest}", blob, methods=["GET"]),
]
