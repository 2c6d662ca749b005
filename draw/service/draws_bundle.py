"""The verification bundle of a draw (docs/bundle.md): every entry, blob and proof a verifier needs.

A bundle holds a signed checkpoint of the ledger, each entry of the draw (its bytes, base64) with its
RFC 9162 inclusion proof in the checkpoint's tree, and the bytes of every blob those entries name
that a verifier reads: before the reveal the commitment's blobs (leaf lists, full-disclosure records,
inspector pool, exclusions, history); after it also the result record and the replacement records.
Nothing else is needed: the verifier checks the checkpoint's signature with the log's key (obtained
independently), the proofs, and then the draw with ``engine.verify_draw``.
"""

from __future__ import annotations

import base64
from typing import Any

from draw.service import draws_entries as entries_
from draw.service import draws_lifecycle as lifecycle
from draw.service.core import Service
from draw.service.draws_store import DrawLog
from ledger import blobs, checkpoint, store

FORMAT = "fairdraw-draw-bundle/1"


def bundle(service: Service, log: DrawLog) -> dict[str, Any]:
    """Return the bundle of ``log`` under the newest checkpoint. Reads O(log n) hashes per entry and
    every blob listed. Raises LookupError if a listed blob is gone from the store."""
    note = service.ledger.checkpoint()
    size = _size(note)
    entries = [_entry(service, e.index, size) for e in log.entries if e.index < size]
    digests = sorted(set(blob_digests(log)))
    return {
        "format": FORMAT,
        "draw_id": log.draw_id,
        "state": log.row.state,
        "checkpoint": note.decode("utf-8"),
        "entries": entries,
        "blobs": [{"digest": d, "data": _b64(_blob(service, d))} for d in digests],
    }


def blob_digests(log: DrawLog) -> list[str]:
    """Return the digests of the blobs a verifier of ``log`` reads, in the order the entries name them."""
    record = lifecycle.commitment_record(log)
    out = []
    for stratum in record.strata:
        out.append(stratum.leaves)
        if stratum.records is not None:
            out.append(stratum.records)
    if record.matching is not None:
        out += [record.matching.inspectors, record.matching.exclusions, record.matching.history]
    digests = ["sha256:" + address for address in out]
    for e in log.entries:
        if e.type == entries_.REVEAL:
            digests += [e.body["result"], *e.body["replacements"]]
        elif e.type == entries_.REPLACE and e.body["record"] is not None:
            digests.append(e.body["record"])
    return digests


def _size(note: bytes) -> int:
    text = note.decode("utf-8")
    return checkpoint.parse_checkpoint(text[: text.index("\n\n") + 1]).size


def _entry(service: Service, index: int, size: int) -> dict[str, Any]:
    proof, _ = service.ledger.prove_inclusion(index, size)
    data = service.ledger.entry(index)
    return {"index": index, "data": _b64(data), "proof": [_b64(h) for h in proof]}


def _blob(service: Service, digest: str) -> bytes:
    with store.reading(service.engine) as conn:
        data = blobs.get(conn, digest)
    if data is None:
        raise LookupError(f"draw: blob {digest} is not in the store")
    return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
