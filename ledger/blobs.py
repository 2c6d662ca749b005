"""The content-addressed blob store: large payloads referenced from ledger entries by SHA-256.

An entry holds ``sha256:<hex>`` of a payload too large for an entry (a draw's population leaf list,
an inspector pool, a disclosure payload); the bytes live here. A blob is immutable: storing the same
bytes again is a no-op. A blob may be **erased** — its bytes deleted, its digest, size and the
erasure reason kept — when the payload it held is annulled (personal data in a withdrawn
disclosure, say). The ledger entry that names the digest never changes, so the erasure is visible
and nothing else in the log is affected.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ledger import store

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
MAX_BLOB_SIZE = 256 * 1024 * 1024


def digest_of(data: bytes) -> str:
    """Return the blob name of ``data``: ``sha256:`` and the lowercase hex SHA-256."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def parse_digest(name: str) -> str:
    """Return ``name`` if it is a well-formed blob digest. Raises ValueError otherwise."""
    if not isinstance(name, str) or not _DIGEST.fullmatch(name):
        raise ValueError(f"ledger: malformed blob digest {name!r}")
    return name


@dataclass(frozen=True)
class BlobInfo:
    """What the store knows of a blob: its digest and size, and why it was erased (None if present)."""

    digest: str
    size: int
    erased: str | None


def put(conn: Connection, data: bytes) -> str:
    """Store ``data`` (in the caller's transaction) and return its digest. Idempotent.

    Raises ValueError for a blob over MAX_BLOB_SIZE, and for bytes whose digest was erased: an annulled
    payload is never stored again.
    """
    if len(data) > MAX_BLOB_SIZE:
        raise ValueError(f"ledger: blob of {len(data)} bytes exceeds {MAX_BLOB_SIZE}")
    digest = digest_of(data)
    found = info(conn, digest)
    if found is not None:
        if found.erased is not None:
            raise ValueError(f"ledger: blob {digest} was erased and cannot be stored again")
        return digest
    conn.execute(sa.insert(store.blobs).values(digest=digest, size=len(data), data=data, erased=None))
    return digest


def get(conn: Connection, digest: str) -> bytes | None:
    """Return the bytes of blob ``digest``, or None if it is unknown or erased.

    The bytes are checked against the digest; a mismatch raises LookupError (a damaged store).
    """
    query = sa.select(store.blobs.c.data).where(store.blobs.c.digest == parse_digest(digest))
    row = conn.execute(query).first()
    if row is None or row.data is None:
        return None
    data = bytes(row.data)
    if digest_of(data) != digest:
        raise LookupError(f"ledger: blob {digest} is damaged")
    return data


def info(conn: Connection, digest: str) -> BlobInfo | None:
    """Return what is known of blob ``digest``, or None if it was never stored."""
    columns = (store.blobs.c.size, store.blobs.c.erased)
    row = conn.execute(sa.select(*columns).where(store.blobs.c.digest == parse_digest(digest))).first()
    return None if row is None else BlobInfo(digest, row.size, row.erased)


def erase(conn: Connection, digest: str, reason: str) -> None:
    """Delete the bytes of blob ``digest``, keeping its digest, size and ``reason``. Idempotent.

    Raises LookupError if the blob was never stored, ValueError for an empty reason.
    """
    if not reason.strip():
        raise ValueError("ledger: an erasure needs a reason")
    if info(conn, digest) is None:
        raise LookupError(f"ledger: no blob {digest}")
    conn.execute(
        sa.update(store.blobs)
        .where(store.blobs.c.digest == digest, store.blobs.c.erased.is_(None))
        .values(data=None, erased=reason)
    )
