"""The ``Idempotency-Key`` request header (draft-ietf-httpapi-idempotency-key-header-07).

Every POST carries ``Idempotency-Key: "<key>"``, an RFC 9651 sf-string of 1 to 255 printable ASCII
characters. Keys are scoped per department. The request's fingerprint is SHA-256 over the method, the
path and the body bytes (:func:`fingerprint`). For each (department, key):

* first time: the key is reserved (status NULL) and the request runs. A 2xx response is stored and
  the key completed; any other outcome releases the key, so a corrected request may reuse it.
* same key, same fingerprint, completed: the stored response is replayed, with
  ``Idempotent-Replayed: true``.
* same key, same fingerprint, still running: 409 ``idempotency-key-outstanding``.
* same key, another fingerprint: 422 ``idempotency-key-reused``.
* no key: 400 ``idempotency-key-missing``; a malformed key: 400 ``malformed-request``.

A completed key is kept for ``Config.idempotency_retention_ms`` (default 24 hours) from its first
request's arrival (``created_ms``): within it the response is replayed; after it the key is free
again, whether or not it has been pruned yet (:func:`reserve` treats an expired row as absent).
:func:`prune` deletes the expired rows; the draw worker runs it every round and the service at
start-up. A key still reserved is never pruned: one whose request was cut off by a crash stays
reserved (409), and the client must find out through the API whether the request took effect, and
use a new key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from starlette.requests import Request
from starlette.responses import Response

from draw.service import db
from draw.service.http import ProblemError
from draw.service.sfstring import parse_sf_string

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = 255


def idempotency_key(request: Request) -> str:
    """Return the request's Idempotency-Key value.

    Raises ProblemError ``idempotency-key-missing`` (400) without one, ``malformed-request`` (400)
    naming ``Idempotency-Key`` if it is given twice, is not an sf-string, or is empty or too long.
    """
    values = request.headers.getlist(HEADER)
    if not values:
        raise ProblemError.field("idempotency-key-missing", HEADER, "every POST needs an Idempotency-Key")
    if len(values) > 1:
        raise ProblemError.field("malformed-request", HEADER, "given more than once")
    try:
        key = parse_sf_string(values[0])
    except ValueError as exc:
        raise ProblemError.field(
            "malformed-request", HEADER, f'must be a quoted string, e.g. "4f3c-...": {exc}'
        ) from None
    if not 1 <= len(key) <= MAX_KEY_LENGTH:
        raise ProblemError.field("malformed-request", HEADER, f"must be 1 to {MAX_KEY_LENGTH} characters")
    return key


def fingerprint(method: str, target: str, body: bytes) -> bytes:
    """Return SHA-256(method || " " || target || "\\n" || body), target being the path as sent with
    its query: what "the same request" means."""
    digest = hashlib.sha256(f"{method} {target}\n".encode())
    digest.update(body)  # no copy of the body, which may be a large roster
    return digest.digest()


@dataclass(frozen=True)
class StoredResponse:
    """A completed request's response, as replayed."""

    status: int
    content_type: str
    location: str | None
    body: bytes

    def response(self) -> Response:
        """Return the replay of this response, marked ``Idempotent-Replayed: true``."""
        headers = {REPLAYED_HEADER: "true", "Cache-Control": "no-store"}
        if self.location is not None:
            headers["Location"] = self.location
        return Response(self.body, status_code=self.status, headers=headers, media_type=self.content_type)


def reserve(
    engine: Engine, department: str, key: str, print_: bytes, now_ms: int, retention_ms: int
) -> StoredResponse | None:
    """Reserve ``key`` for a new request, or return the stored response to replay.

    A completed key older than ``retention_ms`` (``now_ms - created_ms >= retention_ms``) counts as
    unused: it is deleted and reserved anew. One short transaction. Raises ProblemError
    ``idempotency-key-reused`` (422) if the key was used with another fingerprint,
    ``idempotency-key-outstanding`` (409) if its first request is running.
    """
    table = db.idempotency_keys
    where = sa.and_(table.c.department == department, table.c.key == key)
    try:
        with engine.begin() as conn:
            row = conn.execute(sa.select(table).where(where)).first()
            if row is not None and row.status is not None and now_ms - row.created_ms >= retention_ms:
                conn.execute(sa.delete(table).where(where, table.c.status.is_not(None)))
                row = None
            if row is None:
                conn.execute(
                    sa.insert(table).values(
                        department=department, key=key, fingerprint=print_, created_ms=now_ms
                    )
                )
                return None
    except IntegrityError:  # a concurrent request reserved it first
        raise _outstanding() from None
    if bytes(row.fingerprint) != print_:
        raise ProblemError.field(
            "idempotency-key-reused", HEADER, "already used for a request with another method, path or body"
        )
    if row.status is None:
        raise _outstanding()
    return StoredResponse(row.status, row.content_type, row.location, bytes(row.body))


def _outstanding() -> ProblemError:
    return ProblemError.field(
        "idempotency-key-outstanding",
        HEADER,
        "the first request with this key is still in progress",
        headers={"Retry-After": "1"},
    )


def complete(engine: Engine, department: str, key: str, response: Response) -> None:
    """Store the 2xx ``response`` (status, media type, Location, body) under the reserved ``key``."""
    table = db.idempotency_keys
    with engine.begin() as conn:
        conn.execute(
            sa.update(table)
            .where(table.c.department == department, table.c.key == key, table.c.status.is_(None))
            .values(
                status=response.status_code,
                content_type=response.headers.get("content-type", "application/json"),
                location=response.headers.get("location"),
                body=bytes(response.body),
            )
        )


def release(engine: Engine, department: str, key: str) -> None:
    """Forget the reservation of ``key`` (its request failed and wrote nothing)."""
    table = db.idempotency_keys
    with engine.begin() as conn:
        conn.execute(
            sa.delete(table).where(
                table.c.department == department, table.c.key == key, table.c.status.is_(None)
            )
        )


def prune(engine: Engine, now_ms: int, retention_ms: int) -> int:
    """Delete every completed key older than ``retention_ms`` at ``now_ms``; return how many. Reserved
    keys (requests in progress, or cut off by a crash) are never deleted. One indexed statement."""
    table = db.idempotency_keys
    with engine.begin() as conn:
        deleted: int = conn.execute(
            sa.delete(table).where(table.c.status.is_not(None), table.c.created_ms <= now_ms - retention_ms)
        ).rowcount
    return deleted
