"""The ledger's HTTP read endpoints, served by the composed app."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

import fairdraw
from ledger import blobs, tree
from ledger.log import Ledger
from ledger.receipt import parse_proof
from tests.ledger_helpers import log_key, open_ledger, verified_checkpoint


@pytest.fixture
def served(sqlite_url: str) -> Iterator[tuple[Ledger, TestClient]]:
    log = open_ledger(sqlite_url)
    log.append_many([("test.item", {"n": i}) for i in range(299)])
    with TestClient(fairdraw.create_app(log)) as client:
        yield log, client
    log.close()


def test_checkpoint_and_tiles_are_the_stored_bytes(served: tuple[Ledger, TestClient]) -> None:
    log, client = served
    response = client.get("/log/checkpoint")
    assert response.status_code == 200 and response.content == log.checkpoint()
    assert response.headers["cache-control"] == "no-store"
    tile = client.get("/log/tile/0/000")
    assert tile.content == log.read_tile("tile/0/000")
    assert tile.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert client.get("/log/tile/entries/001.p/44").content == log.read_tile("tile/entries/001.p/44")
    assert client.get("/log/tile/0/001").status_code == 404
    assert client.get("/log/tile/0/1").status_code == 404


def test_receipts_and_consistency_proofs_verify(served: tuple[Ledger, TestClient]) -> None:
    log, client = served
    cp = verified_checkpoint(log.checkpoint(), log_key().verifier_key)
    proof = parse_proof(client.get("/log/proof/inclusion/42").text)
    tree.check_inclusion(list(proof.proof_hashes), cp.size, 42, tree.leaf_hash(log.entry(42)), cp.root)
    first = verified_checkpoint(log.checkpoint(1), log_key().verifier_key)
    lines = client.get(f"/log/proof/consistency/1/{cp.size}").text.split()
    tree.check_consistency([base64.b64decode(h) for h in lines], 1, cp.size, first.root, cp.root)
    assert client.get("/log/proof/inclusion/9999").status_code == 400
    assert client.get("/log/proof/inclusion/1?size=01").status_code == 400
    assert client.get("/log/proof/inclusion/1?size=7").status_code == 404
    assert client.get("/log/proof/consistency/0/5").status_code == 400


def test_blobs_are_served_and_erasure_is_visible(served: tuple[Ledger, TestClient]) -> None:
    log, client = served
    with log.engine.begin() as conn:
        kept, gone = blobs.put(conn, b"population leaves"), blobs.put(conn, b"personal data")
        blobs.erase(conn, gone, "disclosure.withdraw")
    assert client.get(f"/log/blob/{kept}").content == b"population leaves"
    erased = client.get(f"/log/blob/{gone}")
    assert (erased.status_code, erased.text) == (410, "erased: disclosure.withdraw\n")
    assert client.get("/log/blob/sha256:" + "0" * 64).status_code == 404
    assert client.get("/log/blob/nonsense").status_code == 404
