"""The content-addressed blob store: idempotent puts, checked reads, visible erasure."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from ledger import blobs
from tests.ledger_helpers import open_ledger


def test_put_get_erase(db_url: str) -> None:
    log = open_ledger(db_url)
    payload = "个体工商户 张三 disclosure payload".encode()
    with log.engine.begin() as conn:
        digest = blobs.put(conn, payload)
        assert blobs.put(conn, payload) == digest == blobs.digest_of(payload)
    with log.engine.connect() as conn:
        assert blobs.get(conn, digest) == payload
        assert blobs.info(conn, digest) == blobs.BlobInfo(digest, len(payload), None)
    with log.engine.begin() as conn:
        blobs.erase(conn, digest, "disclosure.withdraw at entry 42")
    with log.engine.connect() as conn:
        assert blobs.get(conn, digest) is None
        erased = blobs.BlobInfo(digest, len(payload), "disclosure.withdraw at entry 42")
        assert blobs.info(conn, digest) == erased
    with pytest.raises(ValueError, match="was erased and cannot be stored again"), log.engine.begin() as conn:
        blobs.put(conn, payload)
    log.close()


def test_damaged_blob_is_detected(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url)
    with log.engine.begin() as conn:
        digest = blobs.put(conn, b"original")
        conn.execute(sa.update(blobs.store.blobs).values(data=b"tampered"))
    with pytest.raises(LookupError, match="is damaged"), log.engine.connect() as conn:
        blobs.get(conn, digest)
    log.close()


@pytest.mark.parametrize("name", ["sha256:" + "A" * 64, "sha256:abc", "md5:" + "0" * 64, ""])
def test_malformed_digests_are_refused(sqlite_url: str, name: str) -> None:
    log = open_ledger(sqlite_url)
    with pytest.raises(ValueError, match="malformed blob digest"), log.engine.connect() as conn:
        blobs.get(conn, name)
    log.close()


def test_erasing_needs_a_known_blob_and_a_reason(sqlite_url: str) -> None:
    log = open_ledger(sqlite_url)
    with log.engine.begin() as conn:
        digest = blobs.put(conn, b"x")
        with pytest.raises(ValueError, match="needs a reason"):
            blobs.erase(conn, digest, " ")
        with pytest.raises(LookupError, match="no blob"):
            blobs.erase(conn, blobs.digest_of(b"y"), "reason")
    log.close()
