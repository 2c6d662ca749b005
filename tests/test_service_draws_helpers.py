"""Helpers for the draw lifecycle tests: a world whose ledger runs on the test clock, draw requests
built from the published draw vector, the drand vectors, and a bundle verifier.

The ledger's clock is the world's FakeClock, so a test picks the commitment's ledger time and with it
the drand round (randomness spec §2.3): committing at 1728925950200 ms with quicknet and a margin of
60 s gives round 12040883, a round whose beacon drand published (tests/vectors/drand/drand.json).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keys
from draw import engine
from draw.engine import ceremony, drand, lottery
from draw.engine import commit as engine_commit
from ledger import checkpoint, jcs, tree
from ledger.entries import decode_entry
from tests.service_helpers import World, open_world

VECTORS = Path(__file__).resolve().parent / "vectors"
DRAW_VECTOR = json.loads((VECTORS / "draw" / "basic" / "happy-path.json").read_text(encoding="utf-8"))
DRAND = json.loads((VECTORS / "drand" / "drand.json").read_text(encoding="utf-8"))

WORLD_START_MS = 1_728_925_000_000
COMMIT_MS = 1_728_925_950_200  # docs/draw-spec-randomness.md §2.3: quicknet round 12040883
QUICKNET_ROUND = 12_040_883


def drand_round(chain: str, number: int) -> dict[str, Any]:
    """Return the published beacon of round ``number`` of chain ``chain`` (quicknet, mainnet)."""
    found = next(c for c in DRAND["chains"] if c["chain"]["id"] == chain)
    beacon = next(r for r in found["rounds"] if r["round"] == number)
    return {k: beacon[k] for k in ("round", "signature", "previous_signature", "randomness") if k in beacon}


@contextlib.contextmanager
def open_draw_world(url: str, start_ms: int = WORLD_START_MS) -> Iterator[World]:
    """Serve a fresh ledger whose clock is the world's FakeClock, with the standard departments
    (HZ submit, NB submit and signing, ZJ oversee)."""
    with open_world(url, start_ms=start_ms) as world:
        yield world


def draw_body(ref: str = "2026-7", **changes: Any) -> dict[str, Any]:
    """Return a draw request over the published draw vector's population, strata and inspector side
    (four strata, 24 objects, a joint two-department team rule), with ``changes`` applied."""
    request = DRAW_VECTOR["inputs"]["request"]
    body: dict[str, Any] = {
        "ref": ref,
        "objects": DRAW_VECTOR["inputs"]["objects"],
        "strata": request["strata"],
        "matching": request["matching"],
        "embargo": "2024-11-01",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def simple_body(ref: str, count: int = 12, **changes: Any) -> dict[str, Any]:
    """Return a small draw request without matching inputs: ``count`` kind:local objects in strata A
    (count 2) and B (ratio 1/2, floor)."""
    objects = [
        {"id": f"shop:{i:04d}", "name": f"第{i}号店", "area": "城区所", "stratum": "AB"[i % 2]}
        for i in range(count)
    ]
    strata = [
        {"stratum": "A", "take": "count", "count": 2},
        {"stratum": "B", "take": "ratio", "ratio": "1/2", "rounding": "floor"},
    ]
    return draw_body(ref, objects=objects, strata=strata, matching=None, **changes)


def participant(
    name: str, role: str, contribution: str, nonce_byte: int
) -> tuple[dict[str, str], dict[str, str]]:
    """Return a ceremony participant's declaration and reveal (the nonce is 32 bytes of ``nonce_byte``)."""
    nonce = bytes([nonce_byte]) * 32
    commitment = ceremony.commit_contribution(name, contribution, nonce).hex()
    declared = {"name": name, "role": role, "commitment": commitment}
    return declared, {"participant": name, "contribution": contribution, "nonce": nonce.hex()}


def entries_of(world: World, first: int = 0) -> list[tuple[int, str, dict[str, Any]]]:
    """Return (index, type, body) of every entry from ``first`` on."""
    out = []
    for index in range(first, world.log.size()):
        entry = decode_entry(world.log.entry(index))
        out.append((index, entry.type, entry.body))
    return out


# -- an independent reading of a bundle (docs/bundle.md §4) ---------------------------------------


def verify_bundle(bundle: dict[str, Any], log_vkey: str) -> dict[str, Any]:
    """Check ``bundle`` from what it holds alone, as docs/bundle.md §4 says: the checkpoint's signature
    by ``log_vkey``, every entry's inclusion proof (``ledger.tree.check_inclusion``), the entries'
    links, the commitment hash, the source values, and once revealed the draw with
    ``engine.verify_draw``. Return the entries as (time, body) by type. Raises on any failure."""
    note = keys.open_note(bundle["checkpoint"].encode("utf-8"), [keys.new_verifier(log_vkey)])
    cp = checkpoint.parse_checkpoint(note.text)
    logged = []
    for item in bundle["entries"]:
        data = base64.b64decode(item["data"], validate=True)
        proof = [base64.b64decode(h, validate=True) for h in item["proof"]]
        tree.check_inclusion(proof, cp.size, item["index"], tree.leaf_hash(data), cp.root)
        entry = decode_entry(data)
        assert entry.index == item["index"]
        logged.append(entry)
    _check_links(bundle["draw_id"], logged)
    by_type: dict[str, list[Any]] = {}
    for entry in logged:
        by_type.setdefault(entry.type, []).append((entry.time_ms, entry.body))
    blobs = {b["digest"]: base64.b64decode(b["data"], validate=True) for b in bundle["blobs"]}
    assert all(digest == "sha256:" + hashlib.sha256(data).hexdigest() for digest, data in blobs.items())
    (commit_ms, commit), = by_type["draw.commit"]
    commitment = jcs.canonicalize(commit["commitment"])
    assert engine_commit.commitment_hash(commitment).hex() == commit["commitment_hash"]
    if "draw.reveal" in by_type:
        values = _source_values(commit, commit_ms, by_type.get("draw.randomness", []))
        _verify_draw(commitment, values, by_type, blobs)
    return by_type


def _check_links(draw_id: str, logged: list[Any]) -> None:
    first = logged[0]
    assert first.type == "draw.commit" and first.body["draw_id"] == draw_id
    for before, entry in itertools.pairwise(logged):
        assert entry.index > before.index and entry.body["draw_id"] == draw_id
        assert entry.body["commit"] == first.index
    randomness = [e.index for e in logged if e.type == "draw.randomness"]
    seals = [e.index for e in logged if e.type == "draw.seal"]
    assert len(seals) <= 1 and all(i < seal for i in randomness for seal in seals)


def _verify_draw(
    commitment: bytes, values: list[bytes], by_type: dict[str, list[Any]], blobs: dict[str, bytes]
) -> None:
    (_, reveal), = by_type["draw.reveal"]
    (_, seal), = by_type["draw.seal"]
    replaces = [body for _, body in by_type.get("draw.replace", [])]
    records = [blobs[d] for d in reveal["replacements"]]
    records += [blobs[b["record"]] for b in replaces if b["record"] is not None]
    assert len(records) == len(replaces)
    for record, body in zip(records, replaces, strict=True):
        assert engine.parse_replacement(record).hash.hex() == body["replacement_hash"]
    engine.verify_draw(
        commitment,
        {d.removeprefix("sha256:"): data for d, data in blobs.items()},
        values,
        bytes.fromhex(reveal["operator_secret"]),
        blobs[reveal["result"]],
        bytes.fromhex(seal["result_hash"]),
        records,
    )


def _source_values(commit: dict[str, Any], commit_ms: int, randomness: list[Any]) -> list[bytes]:
    out = []
    for slot in commit["commitment"]["sources"]:
        mine = [(t, b) for t, b in randomness if b["source"] == slot["name"]]
        if slot["kind"] == "drand":
            (_, body), = mine
            beacon = body["beacon"]
            declaration = drand.parse_declaration(slot["declaration"])
            assert beacon["round"] == drand.declared_round(declaration, commit_ms)
            previous = bytes.fromhex(beacon["previous_signature"]) if "previous_signature" in beacon else None
            signature = bytes.fromhex(beacon["signature"])
            out.append(drand.verify_beacon(declaration.chain, beacon["round"], signature, previous))
        elif slot["kind"] == "ceremony":
            declared = ceremony.parse_declaration(slot["declaration"])
            reveals = [ceremony.parse_reveal(b["reveal"], -(-t // 1000)) for t, b in mine]
            outcome = ceremony.ceremony_outcome(declared, reveals, max(r.revealed_at for r in reveals))
            assert isinstance(outcome, ceremony.CeremonyComplete)
            out.append(outcome.value)
        else:
            (time_ms, body), = mine
            assert -(-time_ms // 1000) <= slot["declaration"]["deadline"]
            out.append(lottery.lottery_value(body["numbers"]))
    return out
