"""The ledger entries of a draw's lifecycle: their bodies, how they are built, and their checks.

Every entry names its draw (``draw_id``) and, after the first, the index of the draw's commitment
entry (``commit``), so a reader finds a draw's entries from the commitment on. Bodies are canonical
JSON (docs/ledger.md §1); ``request`` is the signed-request record of the department POST that
caused the entry (docs/api.md §5), present exactly when that request was signed. ``department`` is
the department whose request caused the entry, or null when the service itself wrote it (the drand
beacon fetched by the worker, a void for a missed deadline, the reveal at the embargo date).

* ``draw.commit`` ``{"draw_id", "department", "task", "commitment", "commitment_hash", "publish",
  "inspection_end"[, "request"]}``: ``commitment`` is the commitment record of docs/draw-spec.md §9
  as a JSON object (its canonical bytes are the record's bytes), ``commitment_hash`` its §9.3 hash in
  hex, ``task`` the index of the ``task.publish`` entry the draw serves (or null), ``publish``
  ``"embargo"`` or ``"immediately"``, ``inspection_end`` the day the inspections end (disclosures
  are due 20 working days later).
* ``draw.randomness`` ``{"draw_id", "commit", "source", "department", <value>[, "request"]}``, the
  value member by source: ``"beacon"`` (``drand``: drand's beacon object, randomness spec §2.5),
  ``"reveal"`` (``ceremony``: ``{"participant", "contribution", "nonce"}``, §3.3) or ``"numbers"``
  (``lottery``: one list of integers per declared public draw, §4.4).
* ``draw.seal`` ``{"draw_id", "commit", "result_hash"}``: the §13.2 result hash, in hex.
* ``draw.reveal`` ``{"draw_id", "commit", "seal", "operator_secret", "result", "replacements",
  "department"[, "request"]}``: the operator secret in hex, the blob digest of the result record,
  the blob digests of the replacement records sealed before the reveal, in order.
* ``draw.replace`` ``{"draw_id", "commit", "seal", "sequence", "reason", "replacement_hash",
  "record", "department"[, "request"]}``: the ``sequence``-th replacement of the draw (from 1, in
  ledger order), its §14.1 reason code and §14.3 hash; ``record`` is the blob digest of the
  replacement record, or null while the draw is sealed (the reveal then lists it).
* ``draw.void`` ``{"draw_id", "commit", "reason", "detail", "missing", "department"[, "request"]}``:
  ``reason`` one of :data:`VOID_REASONS`, ``detail`` a text, ``missing`` the sorted names of the
  sources or ceremony participants that were missing (else empty).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from draw import engine
from draw.engine import ceremony, drand, lottery
from draw.engine import commit as engine_commit
from draw.service import publishing
from ledger import blobs, jcs
from ledger.entries import EntryType

COMMIT = "draw.commit"
RANDOMNESS = "draw.randomness"
SEAL = "draw.seal"
REVEAL = "draw.reveal"
REPLACE = "draw.replace"
VOID = "draw.void"
TYPES = (COMMIT, RANDOMNESS, SEAL, REVEAL, REPLACE, VOID)

SOURCES = ("drand", "ceremony", "lottery")
"""The source slots a draw may declare, in this order; each slot's name is its kind."""
VALUE_MEMBERS = {"drand": "beacon", "ceremony": "reveal", "lottery": "numbers"}
PUBLISH = ("embargo", "immediately")
VOID_REASONS = ("drand-missing", "ceremony-missing", "lottery-missing", "teams-infeasible", "withdrawn")
MAX_DETAIL = 2000

DRAW_ID = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,31}-[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
"""A draw id: the department code, ``-``, and the department's reference for the draw."""
_HEX32 = re.compile(r"[0-9a-f]{64}")


# -- building bodies --------------------------------------------------------------------------------


def commit_body(
    draw_id: str,
    department: str,
    task: int | None,
    commitment: engine.Commitment,
    publish: str,
    inspection_end: str,
) -> dict[str, Any]:
    """Return the ``draw.commit`` body of a built commitment (without ``request``)."""
    return {
        "draw_id": draw_id,
        "department": department,
        "task": task,
        "commitment": commitment.record,
        "commitment_hash": commitment.hash.hex(),
        "publish": publish,
        "inspection_end": inspection_end,
    }


def randomness_body(
    draw_id: str, commit: int, source: str, value: Any, department: str | None
) -> dict[str, Any]:
    """Return a ``draw.randomness`` body; ``value`` is the source's record (see the module docstring)."""
    return {
        "draw_id": draw_id,
        "commit": commit,
        "source": source,
        "department": department,
        VALUE_MEMBERS[source]: value,
    }


def commitment_bytes(body: Mapping[str, Any]) -> bytes:
    """Return the commitment record's canonical bytes held by a ``draw.commit`` body."""
    return jcs.canonicalize(body["commitment"])


# -- checks ---------------------------------------------------------------------------------------


def _draw_id(value: Any) -> None:
    if not isinstance(value, str) or not DRAW_ID.fullmatch(value):
        raise ValueError(f"draw: draw_id: want {DRAW_ID.pattern}")


def _hex32(value: Any, field: str) -> None:
    if not isinstance(value, str) or not _HEX32.fullmatch(value):
        raise ValueError(f"draw: {field}: want 64 lowercase hex digits")


def _digest(value: Any, field: str) -> None:
    if not isinstance(value, str):
        raise ValueError(f"draw: {field}: want a blob digest sha256:<hex>")
    blobs.parse_digest(value)


def _department(value: Any) -> None:
    if value is not None:
        publishing.entry_code(value, "department")


def _common(body: Mapping[str, Any], required: tuple[str, ...]) -> None:
    publishing.members(body, ("draw_id", "commit", *required))
    _draw_id(body["draw_id"])
    publishing.entry_int(body["commit"], "commit")


def _check_commit(body: Mapping[str, Any]) -> None:
    required = ("draw_id", "department", "task", "commitment", "commitment_hash", "publish", "inspection_end")
    publishing.members(body, required)
    _draw_id(body["draw_id"])
    publishing.entry_code(body["department"], "department")
    publishing.entry_int(body["task"], "task", nullable=True)
    publishing.entry_choice(body["publish"], "publish", PUBLISH)
    publishing.entry_date(body["inspection_end"], "inspection_end")
    _hex32(body["commitment_hash"], "commitment_hash")
    encoded = commitment_bytes(body)
    record = engine.parse_commitment(encoded)
    if engine_commit.commitment_hash(encoded).hex() != body["commitment_hash"]:
        raise ValueError("draw: commitment_hash: not the hash of the commitment record")
    if (record.draw_id, record.department) != (body["draw_id"], body["department"]):
        raise ValueError("draw: commitment: draw_id and department must be the entry's")
    names = [slot.name for slot in record.sources]
    if names != [s for s in SOURCES if s in names] or any(s.name != s.kind for s in record.sources):
        raise ValueError("draw: commitment.sources: want slots drand[, ceremony][, lottery], named by kind")


def _check_randomness(body: Mapping[str, Any]) -> None:
    source = body.get("source")
    publishing.entry_choice(source, "source", SOURCES)
    member = VALUE_MEMBERS[str(source)]
    _common(body, ("source", "department", member))
    _department(body["department"])
    value = body[member]
    if source == "drand":
        _check_beacon(value)
    elif source == "ceremony":
        _check_reveal(value)
    else:
        _check_numbers(value)


def _check_beacon(value: Any) -> None:
    if not isinstance(value, dict) or "randomness" not in value:
        raise ValueError("draw: beacon: want drand's beacon object with its randomness")
    round_, signature, previous = drand.parse_beacon_record(value)
    if value != drand.beacon_record(round_, signature, previous):
        raise ValueError("draw: beacon: not in the form drand.beacon_record writes")


def _check_reveal(value: Any) -> None:
    if not isinstance(value, dict):
        raise ValueError("draw: reveal: want {participant, contribution, nonce}")
    reveal = ceremony.parse_reveal(value, 0)
    if ceremony.reveal_record(reveal) != value:
        raise ValueError("draw: reveal: not in canonical form")


def _check_numbers(value: Any) -> None:
    if not isinstance(value, list) or not all(isinstance(n, list) for n in value):
        raise ValueError("draw: numbers: want one list of integers per declared public draw")
    lottery.format_rfc3797_key(value)
    if any(type(n) is not int for numbers in value for n in numbers):
        raise ValueError("draw: numbers: want integers")


def _check_seal(body: Mapping[str, Any]) -> None:
    publishing.members(body, ("draw_id", "commit", "result_hash"), optional=())
    _draw_id(body["draw_id"])
    publishing.entry_int(body["commit"], "commit")
    _hex32(body["result_hash"], "result_hash")


def _check_reveal_entry(body: Mapping[str, Any]) -> None:
    _common(body, ("seal", "operator_secret", "result", "replacements", "department"))
    publishing.entry_int(body["seal"], "seal")
    _hex32(body["operator_secret"], "operator_secret")
    _digest(body["result"], "result")
    if not isinstance(body["replacements"], list):
        raise ValueError("draw: replacements: want a list of blob digests")
    for i, digest in enumerate(body["replacements"]):
        _digest(digest, f"replacements[{i}]")
    _department(body["department"])


def _check_replace(body: Mapping[str, Any]) -> None:
    _common(body, ("seal", "sequence", "reason", "replacement_hash", "record", "department"))
    publishing.entry_int(body["seal"], "seal")
    publishing.entry_int(body["sequence"], "sequence", low=1)
    publishing.entry_choice(body["reason"], "reason", engine.REASONS)
    _hex32(body["replacement_hash"], "replacement_hash")
    if body["record"] is not None:
        _digest(body["record"], "record")
    publishing.entry_code(body["department"], "department")


def _check_void(body: Mapping[str, Any]) -> None:
    _common(body, ("reason", "detail", "missing", "department"))
    publishing.entry_choice(body["reason"], "reason", VOID_REASONS)
    publishing.entry_text(body["detail"], "detail", MAX_DETAIL)
    publishing.entry_texts(body["missing"], "missing", 64)
    _department(body["department"])


ENTRY_TYPES = [
    EntryType(COMMIT, _check_commit, "a draw's commitment: population roots, rules, sources, H(secret)"),
    EntryType(RANDOMNESS, _check_randomness, "one randomness source's value: drand beacon, reveal, numbers"),
    EntryType(SEAL, _check_seal, "the hash of a draw's result, logged as soon as it is computed"),
    EntryType(REVEAL, _check_reveal_entry, "a draw's operator secret and result record (a blob)"),
    EntryType(REPLACE, _check_replace, "the replacement of a selected object, with its reason code"),
    EntryType(VOID, _check_void, "a void draw: a missed source, infeasible teams, or a withdrawal"),
]
