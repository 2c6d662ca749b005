"""The ``draw.*`` entry checks: a valid body of each type passes; each named mutation is refused with
its message before anything could be written."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from draw import engine
from draw.engine import drand
from draw.service import draws_entries
from ledger.entries import Registry
from tests.test_service_draws_helpers import QUICKNET_ROUND, drand_round

REGISTRY = Registry(draws_entries.ENTRY_TYPES)
DIGEST = "sha256:" + "ab" * 32


def _commit_body() -> dict[str, Any]:
    declaration = {"chain_hash": drand.QUICKNET.chain_hash.hex(), "margin_seconds": 60}
    request = engine.DrawRequest(
        "HZ-7",
        "HZ",
        (engine.make_rule("A", "count", count=1),),
        (engine.SourceSlot("drand", "drand", declaration),),
        "2024-11-01",
    )
    objects = [engine.make_object(f"shop:{i}", f"店{i}", "城区所", "A") for i in range(3)]
    commitment = engine.commit_draw(request, objects, bytes(32))
    return draws_entries.commit_body("HZ-7", "HZ", None, commitment, "embargo", "2024-11-20")


BODIES: dict[str, dict[str, Any]] = {
    "draw.commit": _commit_body(),
    "draw.randomness": draws_entries.randomness_body(
        "HZ-7", 4, "drand", drand_round("quicknet", QUICKNET_ROUND), None
    ),
    "draw.seal": {"draw_id": "HZ-7", "commit": 4, "result_hash": "cd" * 32},
    "draw.reveal": {
        "draw_id": "HZ-7", "commit": 4, "seal": 6, "operator_secret": "00" * 32, "result": DIGEST,
        "replacements": [DIGEST], "department": None,
    },
    "draw.replace": {
        "draw_id": "HZ-7", "commit": 4, "seal": 6, "sequence": 1, "reason": "revoked",
        "replacement_hash": "ef" * 32, "record": None, "department": "HZ",
    },
    "draw.void": {
        "draw_id": "HZ-7", "commit": 4, "reason": "ceremony-missing", "detail": "王芳 did not reveal",
        "missing": ["李明", "王芳"], "department": None,
    },
}  # fmt: skip


def _mutated(type_name: str, path: str, value: Any) -> dict[str, Any]:
    body = copy.deepcopy(BODIES[type_name])
    *parents, last = path.split(".")
    target: Any = body
    for step in parents:
        target = target[int(step)] if step.isdigit() else target[step]
    if value is _DELETE:
        del target[last]
    else:
        target[int(last) if last.isdigit() else last] = value
    return body


_DELETE = object()

CASES = [
    ("draw.commit", "commitment_hash@0-bit", "commitment_hash", "01" + "00" * 31,
     "draw: commitment_hash: not the hash of the commitment record"),
    ("draw.commit", "draw_id-other", "draw_id", "HZ-8",
     "draw: commitment: draw_id and department must be the entry's"),
    ("draw.commit", "commitment.embargo-changed", "commitment.embargo", "2024-11-02",
     "draw: commitment_hash: not the hash of the commitment record"),
    ("draw.commit", "publish-unknown", "publish", "later",
     "draw: publish: 'later' not one of embargo, immediately"),
    ("draw.commit", "task-negative", "task", -1, "draw: task: want an integer in 0..2^53-1, got -1"),
    ("draw.commit", "request-missing-member", "request", {"note": "x"},
     "draw: request must be {note, content_digest}"),
    ("draw.randomness", "beacon.randomness-missing", "beacon.randomness", _DELETE,
     "draw: beacon: want drand's beacon object with its randomness"),
    ("draw.randomness", "source-unknown", "source", "dice",
     "draw: source: 'dice' not one of drand, ceremony, lottery"),
    ("draw.randomness", "draw_id-lowercase-code", "draw_id", "hz-7", "draw: draw_id: want"),
    ("draw.seal", "request-unexpected", "request", {"note": "n", "content_digest": "d"},
     "draw: body member 'request' is unexpected"),
    ("draw.seal", "result_hash-uppercase", "result_hash", "CD" * 32,
     "draw: result_hash: want 64 lowercase hex digits"),
    ("draw.reveal", "replacements-not-a-list", "replacements", DIGEST,
     "draw: replacements: want a list of blob digests"),
    ("draw.reveal", "result-bare-hex", "result", "ab" * 32, "ledger: malformed blob digest"),
    ("draw.replace", "sequence-zero", "sequence", 0, "draw: sequence: want an integer in 1..2^53-1, got 0"),
    ("draw.replace", "reason-unknown", "reason", "closed", "draw: reason: 'closed' not one of deregistered"),
    ("draw.replace", "department-null", "department", None, "draw: department: want a department code"),
    ("draw.void", "reason-unknown", "reason", "bored", "draw: reason: 'bored' not one of drand-missing"),
    ("draw.void", "missing-unsorted", "missing", ["王芳", "李明"],
     "draw: missing: want a sorted list of distinct texts"),
]  # fmt: skip


@pytest.mark.parametrize("type_name", sorted(BODIES))
def test_a_valid_body_of_each_type_passes(type_name: str) -> None:
    REGISTRY.check(type_name, BODIES[type_name])


@pytest.mark.parametrize(
    ("type_name", "path", "value", "message"),
    [(t, p, v, m) for t, _, p, v, m in CASES],
    ids=[f"{t}/{name}" for t, name, *_ in CASES],
)
def test_each_mutated_body_is_refused_with_its_message(
    type_name: str, path: str, value: Any, message: str
) -> None:
    with pytest.raises(ValueError) as refused:
        REGISTRY.check(type_name, _mutated(type_name, path, value))
    assert str(refused.value).startswith(message), str(refused.value)
